// A bounded in-memory history of a node's metrics, one ring of (time, value) points per series, sampled at the
// monitoring interval: trends for GET /api/history and the windows that rate and anomaly alert rules look over.
// Memory is bounded twice: points per series (retention / step, at most MAX_POINTS) and series (MAX_SERIES).

import type { MetricSnapshot } from './metrics.js'

/** Points kept per series at most: a long retention at a short interval keeps every k-th sample instead. */
export const HISTORY_MAX_POINTS = 1200
/** Series kept at most (libp2p's metrics grow with protocols and addresses); later ones are not recorded. */
export const HISTORY_MAX_SERIES = 2000

export interface HistoryPoint {
  /** Milliseconds since the epoch. */
  t: number
  v: number
}

export interface HistorySeries {
  metric: string
  labels: Record<string, string>
  points: HistoryPoint[]
}

export interface MetricHistoryOptions {
  retentionMs: number
  /** How often record() is called (the monitoring interval). */
  intervalMs: number
  maxPoints?: number
  maxSeries?: number
}

/** The points of one series, oldest overwritten first. */
class Ring {
  readonly times: number[] = []
  readonly values: number[] = []
  /** Index of the oldest point once the ring is full. */
  private head = 0

  constructor(
    readonly labels: Record<string, string>,
    private readonly capacity: number,
  ) {}

  push(t: number, value: number): void {
    if (this.times.length < this.capacity) {
      this.times.push(t)
      this.values.push(value)
      return
    }
    this.times[this.head] = t
    this.values[this.head] = value
    this.head = (this.head + 1) % this.capacity
  }

  get size(): number {
    return this.times.length
  }

  /** Points at or after `since`, oldest first. */
  points(since: number): HistoryPoint[] {
    const out: HistoryPoint[] = []
    const n = this.times.length
    for (let i = 0; i < n; i++) {
      const at = (this.head + i) % n
      if (this.times[at] >= since) out.push({ t: this.times[at], v: this.values[at] })
    }
    return out
  }
}

export class MetricHistory {
  /** Series by metric name, then by the key of their labels. */
  private readonly metrics = new Map<string, Map<string, Ring>>()
  private readonly capacity: number
  private readonly maxSeries: number
  /** Milliseconds between kept samples: the interval, or longer when retention / interval exceeds maxPoints. */
  readonly stepMs: number
  private readonly intervalMs: number
  private seriesCount = 0
  private lastKept = Number.NEGATIVE_INFINITY

  constructor(options: MetricHistoryOptions) {
    const maxPoints = options.maxPoints ?? HISTORY_MAX_POINTS
    this.intervalMs = options.intervalMs
    this.stepMs = Math.max(options.intervalMs, options.retentionMs / maxPoints)
    this.capacity = Math.min(maxPoints, Math.ceil(options.retentionMs / this.stepMs)) + 1
    this.maxSeries = options.maxSeries ?? HISTORY_MAX_SERIES
  }

  /** Keeps one point per series of `snapshot` at time `at`. Histograms and summaries keep `<name>_count` and
   *  `<name>_sum`. A call sooner than one step after the last kept one is skipped (less half an interval: timers
   *  drift). */
  record(snapshot: readonly MetricSnapshot[], at: number): void {
    if (at - this.lastKept < this.stepMs - this.intervalMs / 2) return
    this.lastKept = at
    for (const metric of snapshot) {
      for (const sample of metric.samples) {
        if ('value' in sample) this.push(metric.name, sample.labels, at, sample.value)
        else {
          this.push(`${metric.name}_count`, sample.labels, at, sample.count)
          this.push(`${metric.name}_sum`, sample.labels, at, sample.sum)
        }
      }
    }
  }

  /** Every series of `metric` whose labels include `labels`, with its points at or after `sinceMs`. */
  query(metric: string, labels?: Readonly<Record<string, string>>, sinceMs = Number.NEGATIVE_INFINITY): HistorySeries[] {
    const out: HistorySeries[] = []
    for (const ring of this.metrics.get(metric)?.values() ?? []) {
      if (labels !== undefined && !matches(ring.labels, labels)) continue
      out.push({ metric, labels: ring.labels, points: ring.points(sinceMs) })
    }
    return out
  }

  /** The sum over the series `query` would return, one point per recorded time (series are recorded together). */
  sum(metric: string, labels?: Readonly<Record<string, string>>, sinceMs?: number): HistoryPoint[] {
    const byTime = new Map<number, number>()
    for (const series of this.query(metric, labels, sinceMs)) {
      for (const point of series.points) byTime.set(point.t, (byTime.get(point.t) ?? 0) + point.v)
    }
    return [...byTime].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }))
  }

  /** Names of the metrics with history, sorted. */
  names(): string[] {
    return [...this.metrics.keys()].sort()
  }

  /** Points held, over every series (what the memory bound bounds). */
  get size(): number {
    let total = 0
    for (const series of this.metrics.values()) for (const ring of series.values()) total += ring.size
    return total
  }

  private push(metric: string, labels: Record<string, string>, at: number, value: number): void {
    let series = this.metrics.get(metric)
    const key = labelKey(labels)
    let ring = series?.get(key)
    if (ring === undefined) {
      if (this.seriesCount >= this.maxSeries) return
      if (series === undefined) {
        series = new Map()
        this.metrics.set(metric, series)
      }
      ring = new Ring(labels, this.capacity)
      series.set(key, ring)
      this.seriesCount++
    }
    ring.push(at, value)
  }
}

/** Does a series with `labels` have every label value in `wanted`? */
export function matches(labels: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): boolean {
  for (const [name, value] of Object.entries(wanted)) if (labels[name] !== value) return false
  return true
}

function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}\u0000${labels[name]}`)
    .join('\u0001')
}
