// The cost of monitoring: `echo` task throughput with metrics on (noodlenet's and libp2p's, config
// monitoring.metrics) against the same with metrics off, in the same run. Two pairs of nodes in this process, one
// with metrics and one without, each a submitter holding a capability token and an executor (CpuExecutor; a small
// echo runs on its own thread) over TCP on 127.0.0.1. Each round measures tasks awaited one at a time (the pairs
// taking turns task by task), a node.map() per pair with many in flight (both maps at once, so that load from
// elsewhere on this shared 2-core machine falls on both alike), CPU time per task (a map per pair alone), and
// scrapes the metered pair once (render()), as Prometheus would. Target: metrics cost at most 5 % of either rate.

import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeToken, issueToken, type NoodleNode } from '@noodlenet/shared'
import { startBenchNode } from './support/bench-node.js'
import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { describeMachine, machineLine } from './support/machine.js'
import { formatTable } from './support/table.js'

/** The issue's target: monitoring costs at most 5 % of echo task throughput. */
const TARGET_COST = 0.05
const PAYLOAD_BYTES = 100

interface Plan {
  warmup: number
  rounds: number
  /** Tasks awaited one at a time per round. */
  sync: number
  /** Tasks in one node.map() per round. */
  map: number
}

const FULL: Plan = { warmup: 1_000, rounds: 20, sync: 250, map: 1_000 }
const QUICK: Plan = { warmup: 100, rounds: 2, sync: 100, map: 500 }

type Mode = 'on' | 'off'

interface Pair {
  submitter: NoodleNode
  executor: NoodleNode
}

interface Rates {
  median: number
  min: number
  max: number
  samples: number[]
}

export const monitoringBenchmark: Benchmark = {
  name: 'monitoring',
  summary: 'echo tasks/s with metrics on vs off (config monitoring.metrics), same run, TCP on 127.0.0.1',
  run,
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL
  const rootKey = await generateKeyPair('Ed25519')
  const pairs: Partial<Record<Mode, Pair>> = {}
  try {
    pairs.on = await startPair(rootKey, true)
    pairs.off = await startPair(rootKey, false)
    const payload = crypto.getRandomValues(new Uint8Array(PAYLOAD_BYTES))
    // Every worker started and every stream open before anything is timed.
    for (const mode of ['on', 'off'] as const) await mapRate(pairs[mode] as Pair, payload, plan.warmup)
    const sync: Record<Mode, number[]> = { on: [], off: [] }
    const map: Record<Mode, number[]> = { on: [], off: [] }
    const cpu: Record<Mode, number[]> = { on: [], off: [] }
    let scrapeMs = 0
    for (let round = 0; round < plan.rounds; round++) {
      // One at a time, the two pairs take turns task by task: load from elsewhere falls on both alike. The rate is
      // one over the median round trip, which a stall of the machine (another process, a GC) does not move.
      const roundTrips: Record<Mode, number[]> = { on: [], off: [] }
      for (let i = 0; i < plan.sync; i++) {
        for (const mode of i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
          const started = performance.now()
          await runOne(pairs[mode] as Pair, payload)
          roundTrips[mode].push(performance.now() - started)
        }
      }
      for (const mode of ['on', 'off'] as const) sync[mode].push(1000 / rates(roundTrips[mode]).median)
      // Many in flight: both pairs' maps at once, so that they share whatever the machine gives (each rate is its
      // own map's tasks over its own time).
      const [onRate, offRate] = await Promise.all([
        mapRate(pairs.on as Pair, payload, plan.map),
        mapRate(pairs.off as Pair, payload, plan.map),
      ])
      map.on.push(onRate)
      map.off.push(offRate)
      // Then a map per pair alone, in turns: CPU time of the whole process (worker threads included) per task.
      for (const mode of round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        const pair = pairs[mode] as Pair
        const before = process.cpuUsage()
        await mapRate(pair, payload, plan.map)
        const used = process.cpuUsage(before)
        cpu[mode].push((used.user + used.system) / plan.map)
        if (mode === 'on') {
          const started = performance.now()
          for (const node of [pair.submitter, pair.executor]) node.metrics.render()
          scrapeMs = Math.max(scrapeMs, performance.now() - started)
        }
      }
    }
    const executed = (pairs.on as Pair).executor.metrics.render()
    const counted = Number(/^noodlenet_tasks_total\{kernel="echo",outcome="ok"\} (\d+)$/m.exec(executed)?.[1] ?? 0)
    const cpuPerTask = { on: rates(cpu.on), off: rates(cpu.off), cost: rates(cpu.on.map((us, i) => us / cpu.off[i] - 1)).median }
    return report(plan, options, { sync: both(sync), map: both(map), cpuPerTask, scrapeMs, counted })
  } finally {
    for (const pair of Object.values(pairs)) {
      await pair.submitter.stop()
      await pair.executor.stop()
    }
  }
}

/** An executor trusting `rootKey` and a submitter holding a token from it, connected, the submitter knowing the
 *  executor's profile. */
async function startPair(rootKey: PrivateKey, metrics: boolean): Promise<Pair> {
  const executor = await startBenchNode({ trustedRoots: [peerIdFromPrivateKey(rootKey).toString()], metrics })
  const submitter = await startBenchNode({ executes: false, metrics })
  const token = await issueToken({
    key: rootKey,
    audience: submitter.peerId.toString(),
    command: '/task/run',
    policy: { level: 'PUBLIC', kernels: ['echo'] },
    expires: Math.floor(Date.now() / 1000) + 24 * 3600,
  })
  submitter.addCapability(encodeToken(token))
  const addr = executor.addrs().find((a) => a.includes('/tcp/') && !a.includes('/ws'))
  if (addr === undefined) throw new Error(`the executor has no TCP address: ${executor.addrs().join(', ')}`)
  await submitter.libp2p.dial(multiaddr(addr))
  // The bench nodes gossip their profile every ten minutes: publish until the submitter has it (gossipsub drops
  // what is published before the peers exchange subscriptions).
  const deadline = Date.now() + 20_000
  while (submitter.presence.get(executor.peerId) === undefined) {
    if (Date.now() > deadline) throw new Error("the executor's profile did not arrive within 20 s")
    await executor.presence.publish()
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { submitter, executor }
}

async function runOne(pair: Pair, payload: Uint8Array): Promise<void> {
  await pair.submitter.run('echo', payload, { peer: pair.executor.peerId.toString() })
}

async function mapRate(pair: Pair, payload: Uint8Array, tasks: number): Promise<number> {
  const peer = pair.executor.peerId.toString()
  const started = performance.now()
  for await (const result of pair.submitter.map(
    'echo',
    Array.from({ length: tasks }, () => payload),
    { peer },
  )) {
    if (!result.ok) throw result.error
  }
  return tasks / ((performance.now() - started) / 1000)
}

function rates(samples: number[]): Rates {
  const sorted = [...samples].sort((a, b) => a - b)
  const mid = sorted.length / 2
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples }
}

/** Both modes' rates and the cost of metrics: how much slower the metered pair is, as a fraction of the other,
 *  the median over rounds of each round's paired figures (measured side by side, so load from elsewhere on the
 *  machine, which drifts over seconds, falls on both). */
function both(samples: Record<Mode, number[]>) {
  const on = rates(samples.on)
  const off = rates(samples.off)
  const cost = 1 - rates(samples.on.map((rate, i) => rate / samples.off[i])).median
  return { on, off, cost, meetsTarget: cost <= TARGET_COST }
}

interface Results {
  sync: ReturnType<typeof both>
  map: ReturnType<typeof both>
  /** CPU time of the process per task in the maps (µs), and how much more the metered pair uses. */
  cpuPerTask: { on: Rates; off: Rates; cost: number }
  /** The slowest scrape of the metered pair (both nodes' render()). */
  scrapeMs: number
  /** noodlenet_tasks_total for echo on the metered executor at the end: every task it ran was counted. */
  counted: number
}

function report(plan: Plan, options: BenchOptions, results: Results): BenchReport {
  const machine = describeMachine()
  const range = (r: Rates): string => `${Math.round(r.min)}–${Math.round(r.max)}`
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`
  const verdict = (met: boolean): string => (met ? 'met' : 'MISSED')
  const table = formatTable([
    ['figure', 'metrics', 'median tasks/s', 'slowest–fastest', 'cost (median of rounds)', 'target', ''],
    ['sync', 'off (baseline)', results.sync.off.median, range(results.sync.off), '', '', ''],
    [
      'sync',
      'on',
      results.sync.on.median,
      range(results.sync.on),
      pct(results.sync.cost),
      `≤ ${pct(TARGET_COST)}`,
      verdict(results.sync.meetsTarget),
    ],
    ['map', 'off (baseline)', results.map.off.median, range(results.map.off), '', '', ''],
    [
      'map',
      'on',
      results.map.on.median,
      range(results.map.on),
      pct(results.map.cost),
      `≤ ${pct(TARGET_COST)}`,
      verdict(results.map.meetsTarget),
    ],
  ])
  const text = [
    `${monitoringBenchmark.name}: ${monitoringBenchmark.summary}`,
    machineLine(machine),
    `two pairs (submitter → executor) in this process; ${plan.rounds} rounds, each ${plan.sync} tasks per pair awaited ` +
      `one at a time (pairs taking turns task by task; rate = 1 / median round trip), a map of ${plan.map} per pair with both ` +
      `maps at once, and a map per pair alone for CPU time, after ${plan.warmup} warm-up${options.quick ? ' (--quick)' : ''}; cost = median over rounds of 1 − on/off`,
    '',
    table,
    '',
    `CPU time per task in the maps (whole process, worker threads included): ${results.cpuPerTask.off.median.toFixed(0)} µs ` +
      `off, ${results.cpuPerTask.on.median.toFixed(0)} µs on, ${pct(results.cpuPerTask.cost)} more (median of rounds)`,
    `slowest scrape of the metered pair (two nodes' render()): ${results.scrapeMs.toFixed(2)} ms; ` +
      `echo tasks its executor counted: ${results.counted}`,
  ].join('\n')
  return {
    table: text,
    json: {
      name: monitoringBenchmark.name,
      summary: monitoringBenchmark.summary,
      date: new Date().toISOString(),
      machine,
      quick: options.quick,
      plan,
      targetCost: TARGET_COST,
      ...results,
    },
  }
}
