// The compact summary of a node's metrics that every node (browser tabs included) gossips on the metrics topic each
// monitoring interval: peers and neighbours, task rate and latency percentiles over the last interval, executor
// load, alerts firing and the last few tasks it ran. Small on purpose (a few hundred bytes; MAX bytes at most): the
// dashboard and GET /api/metrics/mesh are built from these, not from full registries.

import * as v from 'valibot'
import type { Histogram } from './metrics.js'

/** A summary on the wire is at most this many bytes (CBOR); receivers drop larger ones. */
export const METRICS_SUMMARY_MAX_BYTES = 8 * 1024
/** Neighbours listed per summary (the dashboard's topology fallback reads them). */
export const SUMMARY_MAX_NEIGHBOURS = 64
/** Recent tasks listed per summary, newest last. */
export const SUMMARY_RECENT_TASKS = 20

const text = (max: number) => v.pipe(v.string(), v.maxLength(max))
const count = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER))
const amount = v.pipe(v.number(), v.finite(), v.minValue(0))

export const RecentTaskSchema = v.strictObject({
  kernel: text(80),
  /** `ok` or the error code. */
  outcome: text(64),
  durationMs: amount,
  /** When it finished (ms since the epoch, the runner's clock). */
  at: count,
})
export type RecentTask = v.InferOutput<typeof RecentTaskSchema>

export const MetricsSummarySchema = v.strictObject({
  v: v.literal(1),
  peer: text(128),
  platform: v.picklist(['node', 'browser']),
  /** Sender's clock when built (ms since the epoch); informational. */
  at: count,
  /** The sender's monitoring interval (ms): a receiver calls a summary stale after a few of them. */
  intervalMs: count,
  /** Peers connected now, and who (the dashboard's topology fallback). */
  peers: count,
  neighbours: v.pipe(v.array(text(128)), v.maxLength(SUMMARY_MAX_NEIGHBOURS)),
  tasks: v.strictObject({
    /** Tasks run here since start, and how many of them failed. */
    total: count,
    failed: count,
    /** Tasks per second over the last interval. */
    perSecond: amount,
    /** Latency percentiles over the last interval (ms, from the duration histogram); null without tasks. */
    p50Ms: v.nullable(amount),
    p95Ms: v.nullable(amount),
    p99Ms: v.nullable(amount),
  }),
  executor: v.strictObject({ running: count, queued: count }),
  alertsFiring: count,
  recent: v.pipe(v.array(RecentTaskSchema), v.maxLength(SUMMARY_RECENT_TASKS)),
})
export type MetricsSummary = v.InferOutput<typeof MetricsSummarySchema>

/** What the summary is built from, read at each interval. */
export interface SummarySources {
  peer: string
  platform: 'node' | 'browser'
  intervalMs: number
  neighbours(): string[]
  /** noodlenet_task_duration_seconds: its counts give the rate, its buckets the percentiles. */
  taskDuration?: Histogram<'kernel'>
  /** Tasks run here that failed, since start. */
  failedTasks(): number
  executorLoad(): { running: number; queueLength: number } | undefined
  alertsFiring(): number
}

/** Builds one summary per interval; keeps the last histogram state so rates and percentiles cover one interval. */
export class SummaryBuilder {
  private readonly recent: RecentTask[] = []
  private last: { at: number; buckets: number[]; count: number } | undefined

  constructor(
    private readonly sources: SummarySources,
    private readonly now: () => number = Date.now,
  ) {}

  /** A task finished here (kept for `recent`). */
  taskFinished(kernel: string, outcome: string, seconds: number): void {
    this.recent.push({ kernel: kernel.slice(0, 80), outcome: outcome.slice(0, 64), durationMs: seconds * 1000, at: this.now() })
    if (this.recent.length > SUMMARY_RECENT_TASKS) this.recent.shift()
  }

  build(): MetricsSummary {
    const at = this.now()
    const { bounds, buckets, count } = mergedHistogram(this.sources.taskDuration)
    const previous = this.last
    this.last = { at, buckets, count }
    const done = count - (previous?.count ?? 0)
    const elapsedS = previous === undefined ? this.sources.intervalMs / 1000 : Math.max(0.001, (at - previous.at) / 1000)
    const delta = buckets.map((n, i) => n - (previous?.buckets[i] ?? 0))
    const neighbours = this.sources.neighbours()
    const load = this.sources.executorLoad()
    return {
      v: 1,
      peer: this.sources.peer,
      platform: this.sources.platform,
      at,
      intervalMs: Math.round(this.sources.intervalMs),
      peers: neighbours.length,
      neighbours: neighbours.slice(0, SUMMARY_MAX_NEIGHBOURS),
      tasks: {
        total: count,
        failed: this.sources.failedTasks(),
        perSecond: done / elapsedS,
        p50Ms: percentileMs(bounds, delta, done, 0.5),
        p95Ms: percentileMs(bounds, delta, done, 0.95),
        p99Ms: percentileMs(bounds, delta, done, 0.99),
      },
      executor: { running: load?.running ?? 0, queued: load?.queueLength ?? 0 },
      alertsFiring: this.sources.alertsFiring(),
      recent: [...this.recent],
    }
  }
}

/** Cumulative bucket counts summed over every series (kernel) of a histogram. */
function mergedHistogram(histogram: Histogram<'kernel'> | undefined): { bounds: readonly number[]; buckets: number[]; count: number } {
  if (histogram === undefined) return { bounds: [], buckets: [], count: 0 }
  const buckets = new Array<number>(histogram.buckets.length).fill(0)
  let count = 0
  for (const sample of histogram.snapshot().samples) {
    if (!('buckets' in sample)) continue
    for (let i = 0; i < buckets.length; i++) buckets[i] += sample.buckets[i]?.[1] ?? 0
    count += sample.count
  }
  return { bounds: histogram.buckets, buckets, count }
}

/** The q-quantile in ms from cumulative bucket counts, interpolated inside its bucket as Prometheus'
 *  histogram_quantile does; the top finite bound when it lies in +Inf; null without observations. */
export function percentileMs(bounds: readonly number[], cumulative: readonly number[], total: number, q: number): number | null {
  if (total <= 0) return null
  const rank = q * total
  for (let i = 0; i < bounds.length; i++) {
    if (cumulative[i] < rank) continue
    const lower = i === 0 ? 0 : bounds[i - 1]
    const below = i === 0 ? 0 : cumulative[i - 1]
    const inBucket = cumulative[i] - below
    const seconds = inBucket === 0 ? bounds[i] : lower + ((bounds[i] - lower) * (rank - below)) / inBucket
    return seconds * 1000
  }
  return (bounds.at(-1) ?? 0) * 1000
}
