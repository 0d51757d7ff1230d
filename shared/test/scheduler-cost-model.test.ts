// The cost model as a specification: estimated completion = queue wait + transfer + compute; compute starts from a
// prior (the kernel's estimateWork, one core's time, or a GPU's) and follows what this node observes; transfer follows
// measured round trips and throughput; cost is price × compute seconds.

import { describe, expect, it } from 'vitest'
import type { KernelInfo } from '../src/exec/kernel.js'
import { type Candidate, CostModel, type Estimate, emptyEstimate, parseTask, placeTask, type TaskDeclaration } from '../src/index.js'
import { peer } from './scheduler-support.js'

/** `work` units per call for the kernel `sized`, taken from its input. */
const KERNELS = (name: string): KernelInfo | undefined =>
  name === 'sized' ? { name, level: 'PUBLIC', summary: 'test kernel', estimateWork: (input) => (input as { n: number }).n } : undefined

function estimate(model: CostModel, task: TaskDeclaration, candidate: Candidate, assigned = 0): Estimate {
  return model.estimate(model.prepare(task), candidate, assigned, emptyEstimate())
}

const matmul = parseTask({ kernel: 'matmul', input: new Uint8Array(100_000) })

describe('the prior, before any observation', () => {
  it('scales with the kernel’s estimateWork, and with input bytes for kernels without one', () => {
    const model = new CostModel({ kernels: KERNELS, msPerWork: 0.01 })
    const one = peer('one', { cores: 1 })
    expect(estimate(model, parseTask({ kernel: 'sized', input: { n: 1000 } }), one).computeMs).toBeCloseTo(10)
    expect(estimate(model, parseTask({ kernel: 'sized', input: { n: 4000 } }), one).computeMs).toBeCloseTo(40)
    expect(estimate(model, matmul, one).computeMs).toBeCloseTo(1000, -1)
    expect(estimate(model, matmul, one).learned).toBe(false)
  })

  it('a task runs on one core: more cores take more tasks at once, not one task sooner', () => {
    const model = new CostModel()
    const one = estimate(model, matmul, peer('one', { cores: 1, tasksRunning: 3 }))
    const four = estimate(model, matmul, peer('four', { cores: 4, tasksRunning: 3 }))
    expect(four.computeMs).toBeCloseTo(one.computeMs)
    expect(four.queueMs).toBe(0)
    expect(one.queueMs).toBeCloseTo(3 * one.computeMs)
  })

  it('a GPU task is faster on a peer with a hardware GPU', () => {
    const model = new CostModel({ gpuSpeedup: 8 })
    const gpuTask = parseTask({ kernel: 'matmul', input: new Uint8Array(100_000), requires: { gpu: true } })
    const cpu = estimate(model, matmul, peer('cpu', { cores: 4 })).computeMs
    expect(estimate(model, gpuTask, peer('gpu', { cores: 4, webgpu: true })).computeMs).toBeCloseTo(cpu / 8)
    expect(estimate(model, gpuTask, peer('swiftshader', { cores: 4, webgpu: 'fallback' })).computeMs).toBeCloseTo(cpu)
    // A CPU task on the same peer does not count the GPU.
    expect(estimate(model, matmul, peer('gpu', { cores: 4, webgpu: true })).computeMs).toBeCloseTo(cpu)
  })
})

describe('learning from observed times', () => {
  it('a peer that was observed slow loses to one observed fast', () => {
    const model = new CostModel()
    const a = peer('a', { cores: 8 })
    const b = peer('b', { cores: 8 })
    expect(placeTask(matmul, [a, b], { model }).peer.peerId).toBe('a') // equal: the first
    for (let i = 0; i < 3; i++) {
      model.observe(a, 'matmul', 900, 100_000)
      model.observe(b, 'matmul', 30, 100_000)
    }
    const decision = placeTask(matmul, [a, b], { model })
    expect(decision.peer.peerId).toBe('b')
    expect(decision.estimate.learned).toBe(true)
  })

  it('the estimate converges on what is observed, and follows a change', () => {
    const model = new CostModel()
    const a = peer('a', { cores: 2 })
    for (let i = 0; i < 30; i++) model.observe(a, 'matmul', 200, 100_000)
    expect(estimate(model, matmul, a).computeMs).toBeCloseTo(200, 0)
    for (let i = 0; i < 30; i++) model.observe(a, 'matmul', 50, 100_000)
    expect(estimate(model, matmul, a).computeMs).toBeCloseTo(50, 0)
  })

  it('observed time per unit of work carries over to inputs of other sizes', () => {
    const model = new CostModel({ kernels: KERNELS })
    const a = peer('a')
    const small = parseTask({ kernel: 'sized', input: { n: 100 } })
    for (let i = 0; i < 30; i++) model.observe(a, 'sized', 10, 0, { work: model.workOf(small) })
    expect(estimate(model, parseTask({ kernel: 'sized', input: { n: 1000 } }), a).computeMs).toBeCloseTo(100, 0)
  })

  it('observations recalibrate the prior for peers not yet seen running the kernel', () => {
    const model = new CostModel({ msPerWork: 1e-6 }) // a prior that is far too optimistic
    const seen = peer('seen', { cores: 4 })
    for (let i = 0; i < 10; i++) model.observe(seen, 'matmul', 500, 100_000)
    expect(estimate(model, matmul, peer('unseen', { cores: 4 })).computeMs).toBeCloseTo(500, -1)
    expect(estimate(model, matmul, peer('unseen-8', { cores: 8 })).computeMs).toBeCloseTo(500, -1)
  })

  it('ignores durations that are not real', () => {
    const model = new CostModel()
    const a = peer('a')
    const before = estimate(model, matmul, a).computeMs
    model.observe(a, 'matmul', Number.NaN, 100_000)
    model.observe(a, 'matmul', -5, 100_000)
    expect(estimate(model, matmul, a).computeMs).toBe(before)
    expect(model.pairs).toBe(0)
  })

  it('remembers a bounded number of pairs, the oldest going first, and forgets peers that left', () => {
    const model = new CostModel({ maxEntries: 3 })
    for (const id of ['a', 'b', 'c', 'd']) model.observe(peer(id), 'matmul', 100, 100_000)
    expect(model.pairs).toBe(3)
    expect(estimate(model, matmul, peer('a')).learned).toBe(false)
    expect(estimate(model, matmul, peer('d')).learned).toBe(true)
    model.forget('d')
    expect(model.pairs).toBe(2)
    expect(estimate(model, matmul, peer('d')).learned).toBe(false)
  })
})

describe('transfer, queue wait and cost', () => {
  it('transfer is a round trip plus the bytes over the link; nothing on this node', () => {
    const model = new CostModel({ rttMs: 50, bytesPerSecond: 1_000_000 })
    expect(estimate(model, matmul, peer('remote')).transferMs).toBeCloseTo(50 + 100, 0)
    expect(estimate(model, matmul, peer('me', { local: true })).transferMs).toBe(0)
    model.observeLink('near', { rttMs: 2, bytesPerSecond: 100_000_000 })
    expect(estimate(model, matmul, peer('near')).transferMs).toBeCloseTo(2 + 1, 0)
  })

  it('a big input goes to the peer with the better link, other things equal', () => {
    const model = new CostModel()
    model.observeLink('far', { rttMs: 200, bytesPerSecond: 100_000 })
    model.observeLink('near', { rttMs: 1, bytesPerSecond: 50_000_000 })
    const big = parseTask({ kernel: 'matmul', input: new Uint8Array(4_000_000) })
    expect(placeTask(big, [peer('far', { cores: 16 }), peer('near', { cores: 8 })], { model }).peer.peerId).toBe('near')
  })

  it('queue wait: the tasks ahead beyond the free cores, each taking the learned time per core', () => {
    const model = new CostModel()
    const busy = peer('busy', { cores: 2, queueLength: 5, tasksRunning: 2 })
    for (let i = 0; i < 30; i++) model.observe(busy, 'matmul', 100, 100_000)
    // 7 ahead on 2 cores: 6 must finish before it starts, 3 rounds of 100 ms.
    expect(estimate(model, matmul, busy).queueMs).toBeCloseTo(300, -1)
    expect(estimate(model, matmul, peer('idle', { cores: 2 })).queueMs).toBe(0)
    // Tasks this scheduler has in flight there count when the advertised queue is older than they are.
    expect(estimate(model, matmul, peer('idle', { cores: 2 }), 4).queueMs).toBeGreaterThan(0)
  })

  it('a suspect peer counts double', () => {
    const model = new CostModel()
    const alive = estimate(model, matmul, peer('x')).totalMs
    expect(estimate(model, matmul, peer('x', { health: 'suspect' })).totalMs).toBeCloseTo(alive * 2)
  })

  it('cost is the advertised price per second of compute', () => {
    const model = new CostModel()
    const pricey = peer('p', { price: 3 })
    for (let i = 0; i < 30; i++) model.observe(pricey, 'matmul', 2000, 100_000)
    expect(estimate(model, matmul, pricey).cost).toBeCloseTo(6, 1)
    expect(estimate(model, matmul, peer('free')).cost).toBe(0)
  })
})
