// Many real peers (issue 8): 100 NoodleNodes on TCP loopback, ten to a process (bench/support/mesh-harness.ts),
// and a submitter. Measured: the time for the submitter to hear every peer, how long a new peer's presence takes to
// reach every peer (p50, p99), a 1,000-task map over the mesh, and the same map (of 50 ms `delay` tasks) while one
// process in ten — ten peers — is SIGKILLed a quarter of the way in: every result must still arrive, once. The
// anchor: gossipsub's published propagation (a few hundred ms at p99 in meshes of thousands over real WANs, the
// libp2p gossipsub v1.1 evaluation) — here loopback, so what it shows is our own overhead and the load of 100 peers
// on this machine.

import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { describeMachine, machineLine } from './support/machine.js'
import { Mesh, runScaleScenario } from './support/mesh-harness.js'
import { formatTable } from './support/table.js'

/** MESH_SCALE_PEERS overrides the size of a full run (a tenth of them to a process, at least 5). */
const peersOverride = Number(process.env.MESH_SCALE_PEERS ?? Number.NaN)
const FULL =
  Number.isInteger(peersOverride) && peersOverride >= 5
    ? { peers: peersOverride, perProcess: Math.max(5, Math.round(peersOverride / 10)), tasks: 1_000, delayMs: 50 }
    : { peers: 100, perProcess: 10, tasks: 1_000, delayMs: 50 }
const QUICK = { peers: 20, perProcess: 5, tasks: 200, delayMs: 50 }

/** The gossip and ping intervals for a mesh of `peers`: the defaults (presence and link state every 5 s, pings every
 *  second, metrics every 10 s) up to 50 peers; above, what an operator of a big mesh sets, and about what self-tuning
 *  picks at 100 peers (4x, docs/SCHEDULER.md): presence and link state every 20 s, pings every 2 s, metrics every
 *  30 s. With the defaults, 100 peers on this 2-core machine spend both cores on gossip and pings alone: the
 *  submitter heard 40 of them in 5 minutes, with 3,624 false dead verdicts (the idle cost of a peer grows with the
 *  mesh, as every peer hears every peer's gossip). */
function intervalsFor(peers: number): { presenceIntervalMs: number; heartbeatMs?: number; metricsIntervalSeconds?: number } {
  return peers <= 50 ? { presenceIntervalMs: 5_000 } : { presenceIntervalMs: 20_000, heartbeatMs: 2_000, metricsIntervalSeconds: 30 }
}

function describeIntervals(intervals: ReturnType<typeof intervalsFor>): string {
  return [
    `presence every ${intervals.presenceIntervalMs / 1000} s`,
    `pings every ${(intervals.heartbeatMs ?? 1_000) / 1000} s`,
    `metrics every ${intervals.metricsIntervalSeconds ?? 10} s`,
  ].join(', ')
}

export const meshScaleBenchmark: Benchmark = {
  name: 'mesh-scale',
  summary: '100 real peers in 10 processes: presence reach p50/p99, 1,000-task map, map with 10 peers SIGKILLed',
  run,
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL
  const machine = describeMachine()
  const mesh = await Mesh.start({ peers: plan.peers, perProcess: plan.perProcess, ...intervalsFor(plan.peers) })
  try {
    const result = await runScaleScenario(mesh, { tasks: plan.tasks, delayMs: plan.delayMs, killHosts: 1, timeoutMs: 300_000 }, (line) =>
      console.error(`mesh-scale: ${line}`),
    )
    const table = [
      machineLine(machine),
      `${result.peers} peers in ${result.processes} processes on loopback, ${describeIntervals(intervalsFor(plan.peers))}`,
      formatTable([
        ['measure', 'value'],
        ['submitter heard every peer (ms)', result.formedMs],
        ['CPU per idle peer (ms per s)', result.idleCpuMsPerPeer],
        ['new peer presence reach p50 (ms)', result.presenceReachMs.p50],
        ['new peer presence reach p99 (ms)', result.presenceReachMs.p99],
        ['map: tasks correct', `${result.map.correct}/${result.map.tasks}`],
        ['map: tasks per second', result.map.perSecond],
        ['map: peers that ran tasks', result.map.peersUsed],
        ['map with kills: peers killed', result.kill.peersKilled],
        ['map with kills: tasks correct', `${result.kill.correct}/${result.kill.tasks}`],
        ['map with kills: duplicated, failed', `${result.kill.duplicates}, ${result.kill.failedCount}`],
        ['map with kills: time (ms)', result.kill.ms],
      ]),
    ].join('\n')
    return { table, json: { machine, plan, result } }
  } finally {
    await mesh.stop()
  }
}
