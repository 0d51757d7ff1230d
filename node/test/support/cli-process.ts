// A CLI of this repository as a real child process for tests: it prints one JSON ready line on stdout
// (`{"event":"ready",…}`), logs on stderr, stops gracefully on SIGTERM. Shared by the peer (noodlenet start) and the
// signalling server (noodlenet-signaling) test helpers.

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'

export class CliProcess<Ready extends { event: 'ready' }> {
  readonly child: ChildProcess
  readonly stderr: string[] = []
  private stdout = ''
  readonly ready: Promise<Ready>
  readonly exited: Promise<number | null>

  /** Runs `node <argv…>` (after `prefix`, e.g. `ip netns exec NS`, which execs and keeps the pid). */
  constructor(what: string, argv: string[], options: { env?: Record<string, string>; prefix?: string[] } = {}) {
    const command = [...(options.prefix ?? []), process.execPath, ...argv]
    this.child = spawn(command[0], command.slice(1), { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk))
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null)
    this.ready = new Promise<Ready>((resolve, reject) => {
      this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        this.stdout += chunk
        const line = this.stdout.split('\n').find((candidate) => candidate.startsWith('{"event":"ready"'))
        if (line !== undefined) resolve(JSON.parse(line) as Ready)
      })
      void this.exited.then((code) => reject(new Error(`${what} exited with ${code} before ready:\n${this.stderr.join('')}`)))
    })
  }

  /** Its stdout so far (the ready line and nothing else, by contract). */
  get output(): string {
    return this.stdout
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode
    this.child.kill('SIGTERM')
    return this.exited
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.kill('SIGKILL')
    await this.exited
  }
}
