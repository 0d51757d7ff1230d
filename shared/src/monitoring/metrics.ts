// Counters, gauges, histograms and timers, one registry per node (never global: two nodes in one process keep
// their own), rendered in the Prometheus text exposition format (version 0.0.4) and as JSON for gossip summaries.
// Small and synchronous on purpose: prom-client keeps a process-wide default registry, its package entry pulls in
// Node's cluster module and its rendering is async (docs/decisions/0009-metrics.md).

/** Label values by label name. */
export type Labels<L extends string> = { readonly [K in L]: string }

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary'

export interface MetricOptions<L extends string> {
  /** One sentence: what is counted or measured (the HELP line; every metric has one). */
  help: string
  labels?: readonly L[]
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds, ascending; +Inf is added. */
  buckets?: readonly number[]
}

/** Seconds, from half a millisecond to a minute: local echo tasks take well under a millisecond, a GPU matmul
 *  through a child process seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/** One series as JSON. */
export type SampleSnapshot =
  | { labels: Record<string, string>; value: number }
  | { labels: Record<string, string>; buckets: Array<[le: number, count: number]>; sum: number; count: number }

export interface MetricSnapshot {
  name: string
  type: MetricType
  help: string
  samples: SampleSnapshot[]
}

/** A metric name as Prometheus allows it. */
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** Series of one metric by the key of their label values (values joined by a separator no value can hold
 *  unescaped, so distinct label sets never collide). */
abstract class Family<L extends string, S> {
  readonly name: string
  readonly help: string
  readonly labelNames: readonly L[]
  abstract readonly type: MetricType
  protected readonly series = new Map<string, { labels: Labels<L>; state: S }>()

  constructor(name: string, options: MetricOptions<L>) {
    if (!NAME.test(name)) throw new Error(`metric name ${JSON.stringify(name)} is not a valid Prometheus name`)
    for (const label of options.labels ?? []) {
      if (!LABEL.test(label) || label.startsWith('__') || label === 'le' || label === 'quantile') {
        throw new Error(`label name ${JSON.stringify(label)} of ${name} is not allowed`)
      }
    }
    this.name = name
    this.help = options.help
    this.labelNames = options.labels ?? []
  }

  protected abstract initial(): S

  /** A series' state if it exists (reading makes none). */
  protected find(labels: Labels<L> | undefined): S | undefined {
    return this.series.get(this.key(labels))?.state
  }

  /** A series' state, made on first use. */
  protected state(labels: Labels<L> | undefined): S {
    const key = this.key(labels)
    let entry = this.series.get(key)
    if (entry === undefined) {
      entry = { labels: labels ?? ({} as Labels<L>), state: this.initial() }
      this.series.set(key, entry)
    }
    return entry.state
  }

  private key(labels: Labels<L> | undefined): string {
    if (this.labelNames.length === 0) return ''
    if (labels === undefined) throw new Error(`${this.name} needs labels ${this.labelNames.join(', ')}`)
    if (this.labelNames.length === 1) return labels[this.labelNames[0]]
    let key = ''
    for (const name of this.labelNames) key += `${labels[name]}\u0000`
    return key
  }

  /** Forgets every series (a calculated metric rebuilds them at each scrape). */
  clear(): void {
    this.series.clear()
  }

  abstract lines(out: string[]): void
  abstract snapshot(): MetricSnapshot

  protected labelText(labels: Labels<L>, extra?: string): string {
    let text = ''
    for (const name of this.labelNames) text += `${text === '' ? '' : ','}${name}="${escapeLabelValue(labels[name])}"`
    if (extra !== undefined) text += `${text === '' ? '' : ','}${extra}`
    return text === '' ? '' : `{${text}}`
  }

  protected plainLabels(labels: Labels<L>): Record<string, string> {
    const out: Record<string, string> = {}
    for (const name of this.labelNames) out[name] = labels[name]
    return out
  }
}

abstract class ValueFamily<L extends string> extends Family<L, { value: number }> {
  protected initial(): { value: number } {
    return { value: 0 }
  }

  /** The current value of one series (0 when it was never touched). */
  get(labels?: Labels<L>): number {
    return this.find(labels)?.value ?? 0
  }

  lines(out: string[]): void {
    for (const { labels, state } of this.series.values()) out.push(`${this.name}${this.labelText(labels)} ${formatNumber(state.value)}`)
  }

  snapshot(): MetricSnapshot {
    const samples = [...this.series.values()].map(({ labels, state }) => ({ labels: this.plainLabels(labels), value: state.value }))
    return { name: this.name, type: this.type, help: this.help, samples }
  }
}

/** Only goes up (a restart starts it at 0 again; Prometheus' rate() knows). */
export class Counter<L extends string = never> extends ValueFamily<L> {
  readonly type = 'counter'

  inc(labels?: Labels<L>, by = 1): void {
    if (!(by >= 0)) throw new Error(`${this.name} is a counter: it cannot go down (by ${by})`)
    this.state(labels).value += by
  }
}

/** Goes up and down: a current amount. */
export class Gauge<L extends string = never> extends ValueFamily<L> {
  readonly type = 'gauge'

  set(labels: Labels<L> | undefined, value: number): void {
    this.state(labels).value = value
  }

  inc(labels?: Labels<L>, by = 1): void {
    this.state(labels).value += by
  }

  dec(labels?: Labels<L>, by = 1): void {
    this.state(labels).value -= by
  }
}

interface HistogramState {
  counts: number[]
  sum: number
  count: number
}

/** Observations counted in buckets (cumulative when rendered), with their sum and count. */
export class Histogram<L extends string = never> extends Family<L, HistogramState> {
  readonly type = 'histogram'
  readonly buckets: readonly number[]

  constructor(name: string, options: HistogramOptions<L>) {
    super(name, options)
    const buckets = [...(options.buckets ?? DEFAULT_BUCKETS)].filter((le) => le !== Number.POSITIVE_INFINITY)
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i] > buckets[i - 1])) throw new Error(`${name}: buckets must be ascending`)
    }
    this.buckets = buckets
  }

  protected initial(): HistogramState {
    return { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 }
  }

  observe(labels: Labels<L> | undefined, value: number): void {
    const state = this.state(labels)
    // Counts per bucket, not cumulative: one increment per observation; render() accumulates.
    const buckets = this.buckets
    let i = 0
    while (i < buckets.length && value > buckets[i]) i++
    if (i < buckets.length) state.counts[i]++
    state.sum += value
    state.count++
  }

  /** Observations of one series so far. */
  countOf(labels?: Labels<L>): number {
    return this.find(labels)?.count ?? 0
  }

  /** A timer: call the function it returns when the work is done; it observes and returns the seconds taken. */
  startTimer(labels?: Labels<L>): () => number {
    const started = performance.now()
    return () => {
      const seconds = (performance.now() - started) / 1000
      this.observe(labels, seconds)
      return seconds
    }
  }

  lines(out: string[]): void {
    for (const { labels, state } of this.series.values()) {
      let cumulative = 0
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += state.counts[i]
        out.push(`${this.name}_bucket${this.labelText(labels, `le="${formatNumber(this.buckets[i])}"`)} ${cumulative}`)
      }
      out.push(`${this.name}_bucket${this.labelText(labels, 'le="+Inf"')} ${state.count}`)
      out.push(`${this.name}_sum${this.labelText(labels)} ${formatNumber(state.sum)}`)
      out.push(`${this.name}_count${this.labelText(labels)} ${state.count}`)
    }
  }

  snapshot(): MetricSnapshot {
    const samples = [...this.series.values()].map(({ labels, state }) => {
      const buckets: Array<[number, number]> = []
      let cumulative = 0
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += state.counts[i]
        buckets.push([this.buckets[i], cumulative])
      }
      return { labels: this.plainLabels(labels), buckets, sum: state.sum, count: state.count }
    })
    return { name: this.name, type: this.type, help: this.help, samples }
  }
}

/** Observations as a sum and a count only (no quantiles): what libp2p's summaries become here. */
export class Summary<L extends string = never> extends Family<L, { sum: number; count: number }> {
  readonly type = 'summary'

  protected initial(): { sum: number; count: number } {
    return { sum: 0, count: 0 }
  }

  observe(labels: Labels<L> | undefined, value: number): void {
    const state = this.state(labels)
    state.sum += value
    state.count++
  }

  lines(out: string[]): void {
    for (const { labels, state } of this.series.values()) {
      out.push(`${this.name}_sum${this.labelText(labels)} ${formatNumber(state.sum)}`)
      out.push(`${this.name}_count${this.labelText(labels)} ${state.count}`)
    }
  }

  snapshot(): MetricSnapshot {
    const samples = [...this.series.values()].map(({ labels, state }) => ({
      labels: this.plainLabels(labels),
      buckets: [],
      sum: state.sum,
      count: state.count,
    }))
    return { name: this.name, type: this.type, help: this.help, samples }
  }
}

type AnyFamily = Counter<string> | Gauge<string> | Histogram<string> | Summary<string>

/** The metrics of one node. Register each metric once (a second registration of the same name and type returns
 *  the first); values computed from state rather than counted go in `onCollect`, which runs before every render
 *  and snapshot. */
export class MetricsRegistry {
  private readonly families = new Map<string, AnyFamily>()
  private readonly collectors: Array<() => void> = []

  counter<L extends string = never>(name: string, options: MetricOptions<L>): Counter<L> {
    return this.register(name, 'counter', () => new Counter<L>(name, options))
  }

  gauge<L extends string = never>(name: string, options: MetricOptions<L>): Gauge<L> {
    return this.register(name, 'gauge', () => new Gauge<L>(name, options))
  }

  histogram<L extends string = never>(name: string, options: HistogramOptions<L>): Histogram<L> {
    return this.register(name, 'histogram', () => new Histogram<L>(name, options))
  }

  summary<L extends string = never>(name: string, options: MetricOptions<L>): Summary<L> {
    return this.register(name, 'summary', () => new Summary<L>(name, options))
  }

  /** Runs `collect` before every render() and snapshot(), to set gauges from current state (connections, queues). */
  onCollect(collect: () => void): void {
    this.collectors.push(collect)
  }

  /** The metric registered under `name`, if any. */
  get(name: string): AnyFamily | undefined {
    return this.families.get(name)
  }

  /** Everything, in the Prometheus text exposition format (version 0.0.4). */
  render(): string {
    this.collect()
    const out: string[] = []
    for (const family of this.families.values()) {
      out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`)
      out.push(`# TYPE ${family.name} ${family.type}`)
      family.lines(out)
    }
    return out.length === 0 ? '' : `${out.join('\n')}\n`
  }

  /** Everything as JSON (for the metrics gossip summary). */
  snapshot(): MetricSnapshot[] {
    this.collect()
    return [...this.families.values()].map((family) => family.snapshot())
  }

  private collect(): void {
    for (const collect of this.collectors) collect()
  }

  private register<F extends AnyFamily>(name: string, type: MetricType, make: () => F): F {
    const existing = this.families.get(name)
    if (existing !== undefined) {
      if (existing.type !== type) throw new Error(`metric ${name} is already registered as a ${existing.type}`)
      return existing as F
    }
    const family = make()
    this.families.set(name, family)
    return family
  }
}

/** A label value inside double quotes: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value
}

/** HELP text: backslash and line feed escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

/** A sample value or bucket bound as Prometheus writes it (+Inf, -Inf, NaN). */
export function formatNumber(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  if (Number.isNaN(value)) return 'NaN'
  return String(value)
}
