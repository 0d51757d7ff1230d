// The bounded version of the scale proof (issue 8; the 100-peer run is `pnpm bench mesh-scale`): 12 real peers in
// 3 processes and a submitter; a new peer's presence reaches every peer; a map job completes with every result
// correct; with a third of the peers SIGKILLed mid-way through a map, every task still completes, once.

import { afterAll, describe, expect, it } from 'vitest'
import { Mesh, runScaleScenario } from '../../bench/support/mesh-harness.js'

let mesh: Mesh | undefined
afterAll(async () => {
  await mesh?.stop()
})

describe('a mesh of 12 peers in 3 processes', () => {
  it('presence reaches every peer, a map job completes, and killing a third of the peers loses no task', async () => {
    mesh = await Mesh.start({ peers: 12, perProcess: 4, presenceIntervalMs: 2_000 })
    const result = await runScaleScenario(
      mesh,
      { tasks: 200, delayMs: 50, killHosts: 1, timeoutMs: 120_000, idleSampleMs: 2_000 },
      (line) => console.log(`mesh-scale: ${line}`),
    )
    expect(result.presenceReachMs.peers).toBe(12)
    expect(result.map.correct).toBe(200)
    expect(result.map.peersUsed).toBeGreaterThan(1)
    expect(result.kill.failed).toEqual([])
    expect(result.kill.correct).toBe(200)
    expect(result.kill.duplicates).toBe(0)
    expect(result.kill.peersKilled).toBe(4)
  }, 300_000)
})
