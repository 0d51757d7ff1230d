// The mesh beyond one machine (issue 8): NoodleNet's routing, scheduling and failure-detection code driven by a
// discrete-event simulator (bench/sim) over a simulated network of 1,000 and 10,000 nodes — five regions, log-normal
// delays, 1 % loss, churn and a partition. Anchors: gossipsub's published propagation figures; a full route
// recompute under 100 ms (the seed's target; 5 ms for 1,000 nodes, the routing issue's); detection within 5 s (the
// seed's target); Sparrow's scheduling within 12 % of an omniscient placement.

import { failureDetection, gossipConvergence, routing, type SchedulingResult, scheduling } from './sim/scenarios.js'
import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { describeMachine, machineLine } from './support/machine.js'
import { formatTable } from './support/table.js'

export const simulationBenchmark: Benchmark = {
  name: 'simulation',
  summary: '1,000 and 10,000 simulated nodes: gossip convergence, route recompute, failure detection, placement vs ideal',
  run,
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const machine = describeMachine()
  const sizes = options.quick ? [1_000] : [1_000, 10_000]
  const rows: Array<Array<string | number>> = [['measure', ...sizes.map((n) => `${n.toLocaleString('en')} nodes`), 'anchor']]
  const json: Record<string, unknown> = { machine }
  const results = sizes.map((n, i) => {
    const seed = 1000 + i
    const gossip = gossipConvergence(n, seed)
    const churn = gossipConvergence(n, seed + 1, { downShare: 0.1 })
    const routes = routing(n, seed + 2)
    const detection = failureDetection(n, seed + 3, { seconds: options.quick || n > 1_000 ? 30 : 120, killShare: 0.01 })
    const placement = scheduling(n, seed + 4, { tasks: options.quick ? 1_000 : 3_000, load: 0.8, submitters: 10 })
    const tasks = options.quick ? 1_000 : 3_000
    const placementOne = scheduling(n, seed + 5, { tasks, load: 0.8, submitters: 1 })
    const placementNoTies = scheduling(n, seed + 4, { tasks, load: 0.8, submitters: 10, tieJitter: 0 })
    const placementRtt = scheduling(n, seed + 4, { tasks, load: 0.8, submitters: 10, knownRtt: true })
    const placementKnown = scheduling(n, seed + 4, { tasks, load: 0.8, submitters: 10, knownRtt: true, knownSpeed: true })
    const placementKnownOne = scheduling(n, seed + 5, { tasks, load: 0.8, submitters: 1, knownRtt: true, knownSpeed: true })
    const result = {
      gossip,
      churn,
      routes,
      detection,
      placement,
      placementOne,
      placementNoTies,
      placementRtt,
      placementKnown,
      placementKnownOne,
    }
    json[String(n)] = result
    return result
  })
  const row = (label: string, anchor: string, value: (r: (typeof results)[number]) => string | number) =>
    rows.push([label, ...results.map(value), anchor])
  row('gossip: reached', '100 %', (r) => `${Math.round(r.gossip.reached * 100)} %`)
  row('gossip: arrival p50 / p99 (ms)', 'gossipsub: ~100s of ms', (r) => `${r.gossip.arrival.p50} / ${r.gossip.arrival.p99}`)
  row('gossip, 10 % down: reached, p99 (ms)', '', (r) => `${Math.round(r.churn.reached * 100)} %, ${r.churn.arrival.p99}`)
  row('routing: links', '', (r) => r.routes.links)
  row('routing: full recompute (ms)', '< 100 (seed)', (r) => r.routes.recomputeMs)
  row('routing: table entries, hops p50/p99', '', (r) => `${r.routes.routes}, ${r.routes.hops.p50}/${r.routes.hops.p99}`)
  row('routing: reachable when cut in two', '', (r) => r.routes.reachableWhenPartitioned)
  row('detection: dead after (ms) p50 / p99', '< 5,000 (seed)', (r) => `${r.detection.detection.p50} / ${r.detection.detection.p99}`)
  row(
    'detection: undetected, false dead, false suspect',
    '0, 0, -',
    (r) => `${r.detection.undetected}, ${r.detection.falseDead}, ${r.detection.falseSuspect} of ${r.detection.monitors} pairs`,
  )
  row(
    'placement, 10 submitters: mean ms ours / ideal',
    'Sparrow: ≤ 1.12×',
    (r) => `${r.placement.ours.mean} / ${r.placement.ideal.mean} (${r.placement.ratio}×)`,
  )
  row(
    'placement, 1 submitter: mean ms ours / ideal',
    '',
    (r) => `${r.placementOne.ours.mean} / ${r.placementOne.ideal.mean} (${r.placementOne.ratio}×)`,
  )
  row(
    '  10 submitters, ties not broken (before)',
    '',
    (r) => `${r.placementNoTies.ours.mean} / ${r.placementNoTies.ideal.mean} (${r.placementNoTies.ratio}×)`,
  )
  const ratio = (p: SchedulingResult) => `${p.ours.mean} / ${p.ideal.mean} (${p.ratio}×)`
  row('  10 submitters, every RTT known (oracle)', '', (r) => ratio(r.placementRtt))
  row('  10 submitters, RTTs and speeds known (oracle)', '', (r) => ratio(r.placementKnown))
  row('  1 submitter, RTTs and speeds known (oracle)', '', (r) => ratio(r.placementKnownOne))
  row('placement: ms per decision', '', (r) => r.placement.placeMsPerTask)
  const table = [machineLine(machine), formatTable(rows)].join('\n')
  return { table, json }
}
