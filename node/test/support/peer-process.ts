// Runs `noodlenet start` as a real child process for multi-process tests: waits for its ready line, exposes its
// admin API, and stops it with SIGTERM or kills it with SIGKILL. Ports are picked by the OS (port 0).

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { CliProcess } from './cli-process.js'

export const CLI = fileURLToPath(new URL('../../bin/noodlenet', import.meta.url))
export const LOOPBACK = '/ip4/127.0.0.1/tcp/0'

export interface Ready {
  event: 'ready'
  peerId: string
  addrs: string[]
  api: string
}

export class PeerProcess extends CliProcess<Ready> {
  /** `prefix` runs the peer under another command, e.g. `ip netns exec NS` (which execs, keeping the pid). */
  constructor(args: string[], env: Record<string, string> = {}, prefix: string[] = []) {
    super('peer', [CLI, 'start', ...args], { env, prefix })
  }

  /** Resolves with the first stderr log record that `match` accepts. */
  logRecord(match: (record: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.stderr?.off('data', check)
        reject(new Error(`no matching log line within ${timeoutMs} ms:\n${this.stderr.join('')}`))
      }, timeoutMs)
      const check = (): void => {
        for (const line of this.stderr.join('').split('\n')) {
          if (!line.startsWith('{')) continue
          const record = JSON.parse(line) as Record<string, unknown>
          if (!match(record)) continue
          clearTimeout(timer)
          this.child.stderr?.off('data', check)
          resolve(record)
          return
        }
      }
      this.child.stderr?.on('data', check)
      check()
    })
  }

  async api<T = unknown>(path: string, init?: RequestInit): Promise<T> {
    const { api } = await this.ready
    const res = await fetch(`${api}${path}`, init)
    return (await res.json()) as T
  }
}

/** Starts a peer on loopback with mDNS off and a free API port, plus any extra args. */
export function startPeer(extra: string[] = [], env: Record<string, string> = {}): PeerProcess {
  return new PeerProcess(['--listen', LOOPBACK, '--api-port', '0', '--no-mdns', ...extra], env)
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const [code] = await once(child, 'exit')
  return { code: code as number | null, stdout, stderr }
}

/** Polls `check` until it holds; for state observed over HTTP that has no event to await. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export interface ApiPeer {
  peerId: string
  transport: string
  encryption: string | null
  direction: string
  rttMs: number | null
}
