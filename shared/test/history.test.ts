// Metric history: one bounded ring of points per series, sampled at the monitoring interval; queries by metric,
// labels and time; memory bounded in points per series and in series.

import { describe, expect, it } from 'vitest'
import { MetricHistory } from '../src/monitoring/history.js'
import { MetricsRegistry } from '../src/monitoring/metrics.js'

const SECOND = 1000

describe('MetricHistory', () => {
  it('keeps one point per series at each sample and answers by metric, labels and time', () => {
    const registry = new MetricsRegistry()
    const peers = registry.gauge<'transport'>('peers', { help: 'Peers.', labels: ['transport'] })
    const history = new MetricHistory({ retentionMs: 60 * SECOND, intervalMs: SECOND })
    for (let i = 0; i < 5; i++) {
      peers.set({ transport: 'tcp' }, i)
      peers.set({ transport: 'webrtc' }, 10 * i)
      history.record(registry.snapshot(), i * SECOND)
    }
    const tcp = history.query('peers', { transport: 'tcp' })
    expect(tcp).toEqual([{ metric: 'peers', labels: { transport: 'tcp' }, points: [0, 1, 2, 3, 4].map((v) => ({ t: v * SECOND, v })) }])
    expect(history.query('peers')).toHaveLength(2)
    expect(history.query('peers', { transport: 'webrtc' }, 3 * SECOND)[0].points).toEqual([
      { t: 3 * SECOND, v: 30 },
      { t: 4 * SECOND, v: 40 },
    ])
    expect(history.sum('peers', undefined, 4 * SECOND)).toEqual([{ t: 4 * SECOND, v: 44 }])
    expect(history.query('nothing')).toEqual([])
    expect(history.names()).toEqual(['peers'])
  })

  it('keeps a histogram as its count and sum', () => {
    const registry = new MetricsRegistry()
    registry.histogram('took_seconds', { help: 'Took.' }).observe(undefined, 0.25)
    const history = new MetricHistory({ retentionMs: 60 * SECOND, intervalMs: SECOND })
    history.record(registry.snapshot(), 0)
    expect(history.names()).toEqual(['took_seconds_count', 'took_seconds_sum'])
    expect(history.sum('took_seconds_sum')).toEqual([{ t: 0, v: 0.25 }])
  })

  it('holds retention / interval points per series however long it runs, oldest dropped first', () => {
    const registry = new MetricsRegistry()
    const gauge = registry.gauge('g', { help: 'G.' })
    const history = new MetricHistory({ retentionMs: 10 * SECOND, intervalMs: SECOND })
    for (let i = 0; i < 1000; i++) {
      gauge.set(undefined, i)
      history.record(registry.snapshot(), i * SECOND)
    }
    const points = history.query('g')[0].points
    expect(points).toHaveLength(11)
    expect(points[0]).toEqual({ t: 989 * SECOND, v: 989 })
    expect(points.at(-1)).toEqual({ t: 999 * SECOND, v: 999 })
    expect(history.size).toBe(11)
  })

  it('samples less often than the interval when retention / interval would exceed its points per series', () => {
    const registry = new MetricsRegistry()
    registry.gauge('g', { help: 'G.' }).set(undefined, 1)
    const history = new MetricHistory({ retentionMs: 100 * SECOND, intervalMs: SECOND, maxPoints: 10 })
    expect(history.stepMs).toBe(10 * SECOND)
    for (let i = 0; i < 1000; i++) history.record(registry.snapshot(), i * SECOND)
    const points = history.query('g')[0].points
    expect(points).toHaveLength(11)
    expect(points.at(-1)?.t).toBe(990 * SECOND)
  })

  it('records no more than its series limit', () => {
    const registry = new MetricsRegistry()
    const counter = registry.counter<'id'>('c_total', { help: 'C.', labels: ['id'] })
    for (let i = 0; i < 50; i++) counter.inc({ id: String(i) })
    const history = new MetricHistory({ retentionMs: 10 * SECOND, intervalMs: SECOND, maxSeries: 20 })
    history.record(registry.snapshot(), 0)
    expect(history.query('c_total')).toHaveLength(20)
  })
})
