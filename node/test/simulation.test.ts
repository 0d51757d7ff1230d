// The simulator of bench/simulation.ts on a small mesh: its scenarios run NoodleNet's own code on simulated time and
// give results with the shape the benchmark reports; properties a broken simulator would miss (a partition cuts
// routes, churn does not stop gossip, every dead node is detected, the omniscient placement is never worse).

import { describe, expect, it } from 'vitest'
import { failureDetection, gossipConvergence, routing, scheduling } from '../../bench/sim/scenarios.js'
import { Simulator } from '../../bench/sim/simulator.js'

describe('the mesh simulator (300 nodes)', () => {
  it('runs events in time order, ties in the order they were scheduled, and is reproducible from its seed', () => {
    const sim = new Simulator(7)
    const order: string[] = []
    sim.after(20, () => order.push('b'))
    sim.after(10, () => order.push('a'))
    sim.after(20, () => order.push('c'))
    sim.run()
    expect(order).toEqual(['a', 'b', 'c'])
    expect(sim.now).toBe(20)
    const draws = (seed: number) =>
      Array.from(
        { length: 5 },
        (
          (random) => () =>
            random.next()
        )(new Simulator(seed).random),
      )
    expect(draws(1)).toEqual(draws(1))
    expect(draws(1)).not.toEqual(draws(2))
  })

  it('gossip reaches every live node, with 10 % of them down too', () => {
    const full = gossipConvergence(300, 1)
    expect(full.reached).toBe(1)
    expect(full.arrival.p99).toBeGreaterThan(0)
    const churn = gossipConvergence(300, 2, { downShare: 0.1 })
    expect(churn.down).toBeGreaterThan(0)
    expect(churn.reached).toBe(1)
  })

  it('routes reach every node; cut in two, only the near half', () => {
    const result = routing(300, 3, 3)
    expect(result.routes).toBe(299)
    expect(result.reachableWhenPartitioned).toBeLessThan(299)
    expect(result.meanNextHops).toBeGreaterThanOrEqual(1)
  })

  it('every killed node is detected by its neighbours; no live one is declared dead without loss or pauses', () => {
    const result = failureDetection(300, 4, { seconds: 40, killShare: 0.05, loss: 0, pauseChance: 0 })
    expect(result.killed).toBeGreaterThan(0)
    expect(result.undetected).toBe(0)
    expect(result.falseDead).toBe(0)
    expect(result.detection.p50).toBeGreaterThan(0)
  })

  it('placement completes every task; the omniscient placement is at least as good', () => {
    const result = scheduling(300, 5, { tasks: 500, load: 0.7, submitters: 3 })
    expect(result.ratio).toBeGreaterThanOrEqual(1)
    expect(Number.isFinite(result.ours.mean)).toBe(true)
  })
})
