// A private network namespace for a test: only its own loopback, so nothing a test starts inside it can reach, or
// be reached from, any real interface. Processes run inside with `prefix` (`ip netns exec NAME`, which execs and
// keeps the pid); the test process itself stays outside and reaches in with `fetchJson`.

import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface NamespaceOptions {
  /** Multicast on loopback (mDNS). */
  multicast?: boolean
}

export class NetworkNamespace {
  readonly name: string

  private constructor(name: string) {
    this.name = name
  }

  /** Makes one, or returns why it cannot be made here (not Linux, not root, no `ip`): the caller skips and says so. */
  static create(label: string, options: NamespaceOptions = {}): NetworkNamespace | string {
    if (process.platform !== 'linux') return 'network namespaces are Linux-only'
    if (process.getuid?.() !== 0) return 'creating a network namespace needs root'
    const name = `noodlenet-${label}-${process.pid}`
    const namespace = new NetworkNamespace(name)
    try {
      execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' })
      namespace.exec('ip', 'link', 'set', 'lo', 'up')
      if (options.multicast === true) {
        namespace.exec('ip', 'link', 'set', 'lo', 'multicast', 'on')
        namespace.exec('ip', 'route', 'add', '224.0.0.0/4', 'dev', 'lo')
      }

      return namespace
    } catch (err) {
      namespace.remove()
      return `ip netns failed: ${(err as Error).message.split('\n')[0]}`
    }
  }

  /** The command prefix that runs a program inside. */
  get prefix(): string[] {
    return ['ip', 'netns', 'exec', this.name]
  }

  /** Runs a command inside, synchronously (set-up steps). */
  exec(...command: string[]): void {
    execFileSync('ip', ['netns', 'exec', this.name, ...command], { stdio: 'pipe' })
  }

  /** GET `url` from inside (a short-lived node process there) and parse the JSON body. */
  async fetchJson<T>(url: string): Promise<T> {
    const script = 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) process.exit(1); process.stdout.write(await r.text()) })'
    const { stdout } = await run('ip', ['netns', 'exec', this.name, process.execPath, '-e', script, url])
    return JSON.parse(stdout) as T
  }

  remove(): void {
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' })
    } catch {
      // never made, or already gone
    }
  }
}
