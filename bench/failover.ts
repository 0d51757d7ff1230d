// Failover (docs/RECOVERY.md): how long after the executor running a task is SIGKILLed the caller has the result
// from another peer, over N kills, with the default settings; and what task leases (heartbeats on the task stream)
// cost the task hot path. Real processes on 127.0.0.1: a submitter (this process, no executor), a survivor executor,
// and a fresh victim executor per kill (bench/support/task-server.ts). Each kill: a `delay` task placed on the
// victim (a scoring strategy prefers it), SIGKILL 100 ms after it was placed, then the time to its re-placement on
// the survivor and to its result. Baseline in the same run: the same task with no failure. Leases: echo tasks from
// two submitters, one with leases (the default) and one with scheduler.leaseMs 0, paired task by task and map beside
// map. Target (the issue): death → result < 3 s.

import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeToken, issueToken, type NoodleNode, type ScoringStrategy } from '@noodlenet/shared'
import { heardFrom, startBenchNode } from './support/bench-node.js'
import { type BenchProcess, startBenchProcess } from './support/bench-process.js'
import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { describeMachine, machineLine } from './support/machine.js'
import { formatTable } from './support/table.js'

const SERVER = new URL('./support/task-server.ts', import.meta.url).pathname
const TARGET_MS = 3_000
/** The task each kill interrupts: long enough to be running when the victim dies. */
const DELAY_MS = 500
const KILL_AFTER_MS = 100

interface Plan {
  kills: number
  /** Executors SIGSTOPped instead: nothing closes, the lease's silence is all the submitter learns. */
  stops: number
  /** Echo tasks per block (one at a time), blocks per side, and tasks in each map. */
  block: number
  blocks: number
  mapTasks: number
}
const FULL: Plan = { kills: 20, stops: 5, block: 200, blocks: 10, mapTasks: 1_000 }
const QUICK: Plan = { kills: 10, stops: 3, block: 100, blocks: 4, mapTasks: 300 }

export const failoverBenchmark: Benchmark = {
  name: 'failover',
  summary: 'ms from SIGKILL of the executor to the result from another peer (vs no failure); leases on vs off on echo tasks',
  run,
}

interface Kill {
  replacedMs: number
  resultMs: number
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL
  const rootKey = await generateKeyPair('Ed25519')
  const root = peerIdFromPrivateKey(rootKey).toString()
  const survivor = await startBenchProcess(SERVER, [root])
  const submitters: NoodleNode[] = []
  try {
    const withLeases = await startBenchNode({ executes: false })
    const withoutLeases = await startBenchNode({ executes: false, leaseMs: 0 })
    submitters.push(withLeases, withoutLeases)
    for (const submitter of submitters) {
      const token = await issueToken({
        key: rootKey,
        audience: submitter.peerId.toString(),
        command: '/task/run',
        policy: { level: 'PUBLIC', kernels: ['echo', 'delay'] },
        expires: Math.floor(Date.now() / 1000) + 24 * 3600,
      })
      submitter.addCapability(encodeToken(token))
      await submitter.libp2p.dial(multiaddr(survivor.tcpAddr))
      await heardFrom(submitter, survivor)
    }
    // Leases first, while both submitters know the same single peer (the kills leave dead victims in one's view).
    const leases = await measureLeases(plan, withLeases, withoutLeases, survivor.peerId)
    const baseline: number[] = []
    const kills: Kill[] = []
    for (let k = 0; k < plan.kills; k++) {
      const started = performance.now()
      await withLeases.run('delay', { ms: DELAY_MS }, { peer: survivor.peerId })
      baseline.push(performance.now() - started)
      kills.push(await killOne(withLeases, root, survivor, 'SIGKILL'))
    }
    const stops: Kill[] = []
    for (let k = 0; k < plan.stops; k++) stops.push(await killOne(withLeases, root, survivor, 'SIGSTOP'))
    return report(plan, baseline, kills, stops, leases)
  } finally {
    for (const submitter of submitters) await submitter.stop()
    await survivor.stop()
  }
}

/** One kill: a fresh victim, a task placed on it, `signal`, and the times to re-placement and result. */
async function killOne(submitter: NoodleNode, root: string, survivor: BenchProcess, signal: 'SIGKILL' | 'SIGSTOP'): Promise<Kill> {
  const victim = await startBenchProcess(SERVER, [root])
  try {
    await submitter.libp2p.dial(multiaddr(victim.tcpAddr))
    await heardFrom(submitter, victim)
    const preferVictim: ScoringStrategy = (_task, candidate, estimate) => (candidate.peerId === victim.peerId ? 0 : 1 + estimate.totalMs)
    let killedAt = 0
    let replacedAt = 0
    let killing: Promise<void> | undefined
    const result = submitter.tasks.submit(
      'delay',
      { ms: DELAY_MS, value: 'ok' },
      {
        strategy: preferVictim,
        onProgress: (progress) => {
          if (progress.stage !== 'placed') return
          if (progress.peer === victim.peerId && killing === undefined) {
            killing = new Promise<void>((resolve) => setTimeout(resolve, KILL_AFTER_MS)).then(() => {
              killedAt = performance.now()
              return victim.kill(signal)
            })
          } else if (progress.peer === survivor.peerId && replacedAt === 0) replacedAt = performance.now()
        },
      },
    )
    const outcome = await result
    const doneAt = performance.now()
    await killing
    if (killedAt === 0) throw new Error('the task never went to the victim')
    if (outcome.peer !== survivor.peerId || outcome.output !== 'ok') throw new Error(`unexpected outcome ${JSON.stringify(outcome)}`)
    return { replacedMs: replacedAt - killedAt, resultMs: doneAt - killedAt }
  } finally {
    await victim.kill('SIGKILL')
  }
}

interface LeaseCost {
  sync: { on: number; off: number; ratio: number }
  map: { on: number; off: number; ratio: number }
}

/** Echo tasks per second with leases on and off, paired as bench/monitoring.ts pairs them (blocks in turn swing
 *  widely on a loaded machine): one at a time, the two sides taking turns task by task (the rate is one over the
 *  median round trip); then a map from each side, both at once, so that load from elsewhere falls on both alike. */
async function measureLeases(plan: Plan, on: NoodleNode, off: NoodleNode, executor: string): Promise<LeaseCost> {
  const sides = [on, off]
  const payload = new Uint8Array(100)
  const trips: number[][] = [[], []]
  const map: number[][] = [[], []]
  // Warm-up: streams open, workers started.
  for (const node of sides) for (let i = 0; i < plan.block; i++) await node.run('echo', payload, { peer: executor })
  for (let b = 0; b < plan.blocks; b++) {
    for (let i = 0; i < plan.block; i++) {
      // Each side goes first every other task.
      for (const s of i % 2 === 0 ? [0, 1] : [1, 0]) {
        const started = performance.now()
        await sides[s].run('echo', payload, { peer: executor })
        trips[s].push(performance.now() - started)
      }
    }
    await Promise.all(
      sides.map(async (node, s) => {
        const started = performance.now()
        for await (const result of node.map(
          'echo',
          Array.from({ length: plan.mapTasks }, () => payload),
          { peer: executor },
        )) {
          if (!result.ok) throw result.error
        }
        map[s].push(plan.mapTasks / ((performance.now() - started) / 1000))
      }),
    )
  }
  const [syncOn, syncOff] = trips.map((ms) => 1000 / median(ms))
  const [mapOn, mapOff] = map.map(median)
  return { sync: { on: syncOn, off: syncOff, ratio: syncOn / syncOff }, map: { on: mapOn, off: mapOff, ratio: mapOn / mapOff } }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

function report(plan: Plan, baseline: number[], kills: Kill[], stops: Kill[], leases: LeaseCost): BenchReport {
  const machine = describeMachine()
  const result = kills.map((kill) => kill.resultMs)
  const replaced = kills.map((kill) => kill.replacedMs)
  const row = (what: string, values: number[]): string[] => [
    what,
    String(values.length),
    percentile(values, 50).toFixed(0),
    percentile(values, 99).toFixed(0),
    Math.max(...values).toFixed(0),
  ]
  const p50 = percentile(result, 50)
  const p99 = percentile(result, 99)
  const table = [
    `failover: SIGKILL of the executor running a ${DELAY_MS} ms delay task (${KILL_AFTER_MS} ms after placement) → result from another peer`,
    machineLine(machine),
    `default settings (lease 3 s, detector heartbeat 1 s); ${plan.kills} SIGKILLs and ${plan.stops} SIGSTOPs, a fresh victim process each (--quick: ${QUICK.kills} and ${QUICK.stops})`,
    '',
    formatTable([
      ['ms', 'n', 'p50', 'p99', 'max'],
      row('kill → placed on the survivor', replaced),
      row('kill → result', result),
      row(
        'SIGSTOP → placed on the survivor (lease)',
        stops.map((stop) => stop.replacedMs),
      ),
      row(
        'SIGSTOP → result',
        stops.map((stop) => stop.resultMs),
      ),
      row('same task, no failure (baseline)', baseline),
    ]),
    '',
    formatTable([
      ['echo tasks/s (median)', 'leases on', 'leases off', 'on/off'],
      ['one at a time, paired task by task', leases.sync.on.toFixed(0), leases.sync.off.toFixed(0), leases.sync.ratio.toFixed(3)],
      [`maps of ${plan.mapTasks}, both at once`, leases.map.on.toFixed(0), leases.map.off.toFixed(0), leases.map.ratio.toFixed(3)],
    ]),
    '',
    formatTable([
      ['figure', 'value', 'target', ''],
      ['kill → result p50 / p99', `${p50.toFixed(0)} / ${p99.toFixed(0)} ms`, `< ${TARGET_MS} ms`, p99 < TARGET_MS ? 'MET' : 'MISSED'],
    ]),
  ].join('\n')
  return {
    table,
    json: { machine, plan, delayMs: DELAY_MS, killAfterMs: KILL_AFTER_MS, kills, stops, baseline, leases, targetMs: TARGET_MS, p50, p99 },
  }
}
