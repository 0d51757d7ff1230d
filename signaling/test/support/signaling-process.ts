// Runs `noodlenet-signaling` as a real child process: waits for its ready line, stops it with SIGTERM or kills it
// with SIGKILL. Ports come from the OS (--port 0) unless a test restarts a server on the port it had.

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

export const SIGNALING_CLI = fileURLToPath(new URL('../../bin/noodlenet-signaling', import.meta.url))

export class SignalingProcess {
  readonly child: ChildProcess
  readonly stderr: string[] = []
  private stdout = ''
  readonly ready: Promise<{ event: 'ready'; url: string }>
  readonly exited: Promise<number | null>

  constructor(args: string[] = ['--port', '0']) {
    this.child = spawn(process.execPath, [SIGNALING_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk))
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null)
    this.ready = new Promise((resolve, reject) => {
      this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        this.stdout += chunk
        const line = this.stdout.split('\n').find((candidate) => candidate.startsWith('{"event":"ready"'))
        if (line !== undefined) resolve(JSON.parse(line))
      })
      void this.exited.then((code) => reject(new Error(`signalling server exited with ${code} before ready:\n${this.stderr.join('')}`)))
    })
  }

  /** Everything it printed on stdout so far (the ready line and nothing else, by contract). */
  get output(): string {
    return this.stdout
  }

  async url(): Promise<string> {
    return (await this.ready).url
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

/** Runs the CLI to completion and returns its exit code and output. */
export async function runSignalingCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SIGNALING_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const [code] = await once(child, 'exit')
  return { code: code as number | null, stdout, stderr }
}
