// The metrics summary and its topic: rates and percentiles over one interval (fake clock), what a malformed or
// oversized summary gets (dropped, the node keeps running), and nodes hearing each other's summaries.

import { afterEach, describe, expect, it } from 'vitest'
import { encodeFrame, type NoodleNode, TOPICS } from '../src/index.js'
import { Histogram } from '../src/monitoring/metrics.js'
import { METRICS_SUMMARY_MAX_BYTES, MetricsSummarySchema, percentileMs, SummaryBuilder } from '../src/monitoring/metrics-summary.js'
import { summaryFixture } from './metrics-summary-fixture.js'
import { eventually, startMesh } from './test-platform.js'

let nodes: NoodleNode[] = []
afterEach(async () => {
  await Promise.all(nodes.map((node) => node.stop()))
  nodes = []
})

describe('SummaryBuilder', () => {
  it('reports the task rate and latency percentiles of the last interval only', () => {
    let now = 1_000_000
    const durations = new Histogram<'kernel'>('noodlenet_task_duration_seconds', {
      help: 'h',
      labels: ['kernel'],
      buckets: [0.001, 0.01, 0.1, 1],
    })
    const builder = new SummaryBuilder(
      {
        peer: 'p',
        platform: 'node',
        intervalMs: 1000,
        neighbours: () => ['a', 'b'],
        taskDuration: durations,
        failedTasks: () => 1,
        executorLoad: () => ({ running: 1, queueLength: 3 }),
        alertsFiring: () => 2,
      },
      () => now,
    )
    for (let i = 0; i < 10; i++) durations.observe({ kernel: 'echo' }, 0.005)
    const first = builder.build()
    expect(first.tasks.total).toBe(10)
    expect(first.tasks.perSecond).toBe(10)
    // All ten in the (1 ms, 10 ms] bucket: the median interpolates to its middle.
    expect(first.tasks.p50Ms).toBeCloseTo(5.5, 5)
    expect(first).toMatchObject({ peers: 2, neighbours: ['a', 'b'], executor: { running: 1, queued: 3 }, alertsFiring: 2 })

    now += 2000
    for (let i = 0; i < 4; i++) durations.observe({ kernel: 'matmul' }, 0.5)
    builder.taskFinished('matmul', 'ok', 0.5)
    const second = builder.build()
    expect(second.tasks.total).toBe(14)
    expect(second.tasks.perSecond).toBe(2)
    expect(second.tasks.p50Ms).toBeGreaterThan(100)
    expect(second.recent).toEqual([{ kernel: 'matmul', outcome: 'ok', durationMs: 500, at: now }])

    now += 1000
    const idle = builder.build()
    expect(idle.tasks).toMatchObject({ perSecond: 0, p50Ms: null, p95Ms: null, p99Ms: null })
  })

  it('percentileMs interpolates like histogram_quantile and caps at the top bound', () => {
    expect(percentileMs([1, 2], [0, 0], 0, 0.5)).toBeNull()
    expect(percentileMs([1, 2], [2, 4], 4, 0.75)).toBe(1500)
    expect(percentileMs([1, 2], [0, 0], 3, 0.99)).toBe(2000)
  })
})

describe('the metrics topic', () => {
  it('every node hears the others’ summaries; a malformed or oversized one is dropped and the node keeps going', async () => {
    nodes = await startMesh(3, { monitoring: { intervalSeconds: 0.2 } })
    const [a, b, c] = nodes
    await eventually(() => a.meshMetrics.peers().length === 2, 20_000, 'a to hear b and c')
    const heard = a.meshMetrics.peers().find((entry) => entry.peer === b.peerId.toString())
    expect(heard?.platform).toBe('node')
    expect(heard?.summary.neighbours).toContain(a.peerId.toString())
    expect(heard?.ageMs).toBeGreaterThanOrEqual(0)
    expect(a.meshMetrics.self()?.peer).toBe(a.peerId.toString())

    // c publishes garbage and a summary claiming to be b: both are rejected by the validator, nothing throws.
    const pubsub = c.libp2p.services.pubsub
    const forged = { ...(b.meshMetrics.self() ?? {}), peer: b.peerId.toString() }
    await pubsub.publish(TOPICS.metrics, encodeFrame({ v: 1, peer: c.peerId.toString(), platform: 'toaster' }, 1024)).catch(() => {})
    await pubsub.publish(TOPICS.metrics, encodeFrame(forged, METRICS_SUMMARY_MAX_BYTES)).catch(() => {})
    await pubsub.publish(TOPICS.metrics, new Uint8Array(METRICS_SUMMARY_MAX_BYTES + 10)).catch(() => {})
    const before = a.meshMetrics.peers().find((entry) => entry.peer === b.peerId.toString())?.summary.at ?? 0
    await eventually(
      () => (a.meshMetrics.peers().find((entry) => entry.peer === b.peerId.toString())?.summary.at ?? 0) > before,
      20_000,
      'a to keep hearing b after the bad messages',
    )
    expect(a.isStarted).toBe(true)
  })

  it('the schema bounds what a summary may hold', () => {
    const ok = summaryFixture('p', { platform: 'browser' })
    const safe = (value: unknown) => MetricsSummarySchema['~standard'].validate(value)
    expect(safe(ok)).not.toHaveProperty('issues')
    expect(safe({ ...ok, neighbours: new Array(65).fill('x') })).toHaveProperty('issues')
    expect(safe({ ...ok, extra: 1 })).toHaveProperty('issues')
    expect(safe({ ...ok, tasks: { ...ok.tasks, perSecond: -1 } })).toHaveProperty('issues')
  })
})
