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

  /** Runs a command inside and resolves with its stdout (a CLI run, `tc`, …). */
  async run(...command: string[]): Promise<string> {
    const { stdout } = await run('ip', ['netns', 'exec', this.name, ...command], { maxBuffer: 64 * 1024 * 1024 })
    return stdout
  }

  remove(): void {
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' })
    } catch {
      // never made, or already gone
    }
  }
}

/** A cable between two namespaces: a veth pair with one /30 address at each end (10.77.N.1 and 10.77.N.2, N from
 *  1 to 250: addresses that exist only inside namespaces the test made). Cut and heal it by taking an end down. */
export class VethLink {
  readonly addrA: string
  readonly addrB: string
  private readonly ifA: string
  private readonly ifB: string

  constructor(
    readonly a: NetworkNamespace,
    readonly b: NetworkNamespace,
    subnet: number,
  ) {
    this.addrA = `10.77.${subnet}.1`
    this.addrB = `10.77.${subnet}.2`
    // Interface names: at most 15 characters, unique on the host while the test runs.
    const tag = `${process.pid % 100_000}x${subnet}`
    this.ifA = `nna${tag}`
    this.ifB = `nnb${tag}`
    execFileSync('ip', ['link', 'add', this.ifA, 'netns', a.name, 'type', 'veth', 'peer', 'name', this.ifB, 'netns', b.name], {
      stdio: 'pipe',
    })
    a.exec('ip', 'addr', 'add', `${this.addrA}/30`, 'dev', this.ifA)
    b.exec('ip', 'addr', 'add', `${this.addrB}/30`, 'dev', this.ifB)
    this.heal()
  }

  /** Both ends down: packets vanish, no reset is sent, as when a cable is pulled. */
  cut(): void {
    this.a.exec('ip', 'link', 'set', this.ifA, 'down')
    this.b.exec('ip', 'link', 'set', this.ifB, 'down')
  }

  heal(): void {
    this.a.exec('ip', 'link', 'set', this.ifA, 'up')
    this.b.exec('ip', 'link', 'set', this.ifB, 'up')
  }

  /** Adds delay and loss to both ends with tc netem; returns why not when the kernel has no netem. */
  degrade(delayMs: number, lossPercent: number): string | undefined {
    try {
      for (const [ns, dev] of [
        [this.a, this.ifA],
        [this.b, this.ifB],
      ] as const) {
        ns.exec('tc', 'qdisc', 'replace', 'dev', dev, 'root', 'netem', 'delay', `${delayMs}ms`, 'loss', `${lossPercent}%`)
      }
      return undefined
    } catch (err) {
      return `tc netem failed: ${(err as Error).message.split('\n')[0]}`
    }
  }
}
