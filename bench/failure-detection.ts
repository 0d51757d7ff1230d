// Failure detection (docs/HEALTH.md): how long after a peer is SIGKILLed the others declare it dead, over N kills,
// and how many false suspicions of live peers a period with every core busy brings. Real `noodlenet start`
// processes on 127.0.0.1 with the default health config. Baseline, measured in the same kills: the moment libp2p
// reports the connection closed ("peer disconnected"), which on loopback is the kernel resetting the dead process's
// sockets at once; a crashed machine or a cut cable gives no such signal, and then the detector's time is all there
// is. Target (the issue): dead within 5 s, no false suspicion under load.

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { availableParallelism } from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { describeMachine, machineLine } from './support/machine.js'
import { formatTable } from './support/table.js'

const CLI = fileURLToPath(new URL('../node/bin/noodlenet', import.meta.url))
const TARGET_MS = 5_000

interface Plan {
  kills: number
  loadSeconds: number
}
const FULL: Plan = { kills: 10, loadSeconds: 300 }
const QUICK: Plan = { kills: 3, loadSeconds: 10 }

export const failureDetectionBenchmark: Benchmark = {
  name: 'failure-detection',
  summary: 'ms from SIGKILL to peer:dead (vs connection close), false suspicions with every core busy',
  run,
}

/** One `noodlenet start` process: its ready line, its log records as they come, and its admin API. */
class Peer {
  readonly child: ChildProcess
  readonly ready: Promise<{ peerId: string; addrs: string[]; api: string }>
  readonly records: Array<Record<string, unknown>> = []
  private readonly waiters = new Set<() => void>()

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [CLI, 'start', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--no-mdns', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = once(this.child, 'exit')
    this.ready = Promise.race([
      once(createInterface({ input: this.child.stdout! }), 'line').then(([line]) => JSON.parse(line as string)),
      exited.then(([code]) => {
        throw new Error(`noodlenet start exited with ${code} before it was ready`)
      }),
    ])
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      if (!line.startsWith('{')) return
      this.records.push({ ...(JSON.parse(line) as Record<string, unknown>), receivedAt: Date.now() })
      for (const wake of this.waiters) wake()
    })
  }

  /** The first log record (from `from` on) that `match` accepts. */
  async record(match: (record: Record<string, unknown>) => boolean, from: number, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.records.slice(from).find(match)
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error('no matching log record in time')
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.waiters.delete(wake)
          resolve()
        }
        this.waiters.add(wake)
        setTimeout(wake, 1_000)
      })
    }
  }

  async health(): Promise<Array<{ peerId: string; state: string; phi: number; silenceMs: number }>> {
    const { api } = await this.ready
    return (await fetch(`${api}/api/health/peers`)).json()
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = once(this.child, 'exit')
    this.child.kill('SIGKILL')
    await exited
  }
}

async function tracksAlive(observers: Peer[], peerId: string): Promise<void> {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const views = await Promise.all(observers.map((peer) => peer.health()))
    if (views.every((rows) => rows.some((row) => row.peerId === peerId && row.state === 'alive'))) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const views = await Promise.all(observers.map((peer) => peer.health()))
  throw new Error(`observers never tracked ${peerId} as alive; their views: ${JSON.stringify(views)}`)
}

const time = (record: Record<string, unknown>): number => Date.parse(String(record.time))

async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL
  const peers: Peer[] = []
  const spinners: ChildProcess[] = []
  try {
    const a = new Peer([])
    peers.push(a)
    const bootstrap = ['--bootstrap', (await a.ready).addrs.find((addr) => !addr.includes('/ws'))!]
    const b = new Peer(bootstrap)
    peers.push(b)
    await b.ready
    const observers = [a, b]

    const dead: number[] = []
    const disconnect: number[] = []
    for (let i = 0; i < plan.kills; i++) {
      const victim = new Peer(bootstrap)
      peers.push(victim)
      const { peerId } = await victim.ready
      await tracksAlive(observers, peerId)
      // A few heartbeats past the first, so the detector judges by measured intervals, not its first estimate.
      await new Promise((resolve) => setTimeout(resolve, 3_000))
      const from = observers.map((peer) => peer.records.length)
      const killedAt = Date.now()
      await victim.kill()
      for (const [j, peer] of observers.entries()) {
        const verdict = await peer.record((r) => r.msg === 'peer dead' && r.remotePeer === peerId, from[j])
        const closed = await peer.record((r) => r.msg === 'peer disconnected' && r.remotePeer === peerId, from[j])
        dead.push(time(verdict) - killedAt)
        disconnect.push(time(closed) - killedAt)
      }
    }

    // The loaded period (five minutes, as issue 6 asks): a third live peer, and a spinning process per core for
    // loadSeconds. It bootstraps from both observers, so that this measures the detector, not gossip relaying (after
    // the kills, gossip relayed through A once never reached B: gossipsub's IP-colocation penalty on loopback, since
    // fixed in net/libp2p.ts).
    const c = new Peer([...bootstrap, '--bootstrap', (await b.ready).addrs.find((addr) => !addr.includes('/ws'))!])
    peers.push(c)
    const live = [a, b, c]
    const ids = await Promise.all(live.map(async (peer) => (await peer.ready).peerId))
    for (const [i, peer] of live.entries()) {
      await tracksAlive(
        live.filter((other) => other !== peer),
        ids[i],
      )
    }
    const from = live.map((peer) => peer.records.length)
    const cores = availableParallelism()
    for (let i = 0; i < cores; i++) spinners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }))
    let longestSilenceMs = 0
    const until = Date.now() + plan.loadSeconds * 1000
    while (Date.now() < until) {
      for (const peer of live) {
        for (const row of await peer.health()) if (ids.includes(row.peerId)) longestSilenceMs = Math.max(longestSilenceMs, row.silenceMs)
      }
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    const falseSuspicions = live.flatMap((peer, i) =>
      peer.records.slice(from[i]).filter((r) => (r.msg === 'peer suspect' || r.msg === 'peer dead') && ids.includes(String(r.remotePeer))),
    )

    const machine = describeMachine()
    const summary = (values: number[]) => {
      const sorted = [...values].sort((x, y) => x - y)
      return { p50: sorted[Math.floor((sorted.length - 1) / 2)], max: sorted[sorted.length - 1], min: sorted[0] }
    }
    const deadStats = summary(dead)
    const closeStats = summary(disconnect)
    const table = [
      machineLine(machine),
      `${plan.kills} SIGKILLs, each observed by 2 peers; then ${plan.loadSeconds} s with ${cores} spinning processes on ${cores} cores`,
      formatTable([
        ['measure', 'min', 'p50', 'max', 'target'],
        ['SIGKILL -> peer:dead (ms)', deadStats.min, deadStats.p50, deadStats.max, `<= ${TARGET_MS}`],
        ['SIGKILL -> connection closed, baseline (ms)', closeStats.min, closeStats.p50, closeStats.max, '-'],
        ['false suspect/dead verdicts under load', falseSuspicions.length, '', '', '0'],
        ['longest silence of a live peer seen (ms)', longestSilenceMs, '', '', '-'],
      ]),
    ].join('\n')
    return {
      table,
      json: {
        machine,
        plan,
        target: { deadMs: TARGET_MS, falseSuspicions: 0 },
        deadMs: dead,
        disconnectMs: disconnect,
        dead: deadStats,
        disconnect: closeStats,
        falseSuspicions: falseSuspicions.length,
        falseSuspicionRecords: falseSuspicions,
        longestSilenceMs,
      },
    }
  } finally {
    for (const spinner of spinners) spinner.kill('SIGKILL')
    await Promise.all(peers.map((peer) => peer.kill()))
  }
}
