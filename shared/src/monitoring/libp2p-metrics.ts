// libp2p's own metrics (connection manager, dialler, transports, noise, queues) into a node's MetricsRegistry: an
// implementation of libp2p's `Metrics` interface, given to createLibp2p as its `metrics` option. Not
// @libp2p/prometheus-metrics: that one writes to prom-client's process-wide registry (clearing it when a second
// node starts) and reads Node's process and file system; this one runs in browsers too and keeps nodes apart.

import type {
  CalculatedMetricOptions,
  CounterGroup,
  HistogramGroup,
  HistogramOptions,
  Counter as Libp2pCounter,
  Histogram as Libp2pHistogram,
  Summary as Libp2pSummary,
  Metric,
  MetricGroup,
  MetricOptions,
  Metrics,
  MultiaddrConnection,
  StopTimer,
  Stream,
  SummaryGroup,
} from '@libp2p/interface'
import { transportOf } from '../net/peers.js'
import type { Counter, Gauge, Histogram, MetricsRegistry, Summary } from './metrics.js'

type Calculate = () => unknown

/** A name Prometheus accepts and its linter passes: counters end in `_total`, nothing else does, and times are in
 *  seconds (values of a `_milliseconds` metric are scaled by unitScale). */
export function libp2pMetricName(name: string, counter: boolean): string {
  let safe = name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_milliseconds(?=_|$)/, '_seconds')
  if (!/^[a-zA-Z_]/.test(safe)) safe = `_${safe}`
  if (counter) return safe.endsWith('_total') ? safe : `${safe}_total`
  return safe.endsWith('_total') ? safe.slice(0, -'_total'.length) : safe
}

/** What a libp2p value is multiplied by on its way in: 1/1000 for milliseconds, which Prometheus wants in seconds. */
export function unitScale(name: string): number {
  return /_milliseconds(_|$)/.test(name) ? 0.001 : 1
}

function labelName(label: string | undefined): string {
  const safe = (label ?? 'key').replace(/[^a-zA-Z0-9_]/g, '_')
  return /^[a-zA-Z]/.test(safe) && safe !== 'le' && safe !== 'quantile' ? safe : 'key'
}

function helpOf(name: string, options: MetricOptions | undefined): string {
  return options?.help ?? `libp2p metric ${name}.`
}

/** A calculated value (or a promise of one, applied when it settles). */
function withValue<T>(result: unknown, apply: (value: T) => void): void {
  if (result instanceof Promise) result.then(apply, () => {})
  else apply(result as T)
}

function stopTimer(observe: (seconds: number) => void): StopTimer {
  const started = performance.now()
  return () => observe((performance.now() - started) / 1000)
}

class Libp2pMetrics implements Metrics {
  private readonly registry: MetricsRegistry
  /** Calculators by metric name: each calculated family is cleared once per scrape, then every calculator runs. */
  private readonly calculated = new Map<string, { clear: () => void; calculators: Array<() => void> }>()
  private readonly connections: Counter<'transport'>
  private readonly streams: Counter<'protocol'>

  constructor(registry: MetricsRegistry) {
    this.registry = registry
    this.connections = registry.counter('noodlenet_libp2p_connections_opened_total', {
      help: 'Connections libp2p upgraded (noise and yamux), by transport.',
      labels: ['transport'],
    })
    this.streams = registry.counter('noodlenet_libp2p_streams_opened_total', {
      help: 'Streams opened after protocol negotiation, inbound and outbound, by protocol.',
      labels: ['protocol'],
    })
    registry.onCollect(() => {
      for (const entry of this.calculated.values()) {
        entry.clear()
        for (const run of entry.calculators) run()
      }
    })
  }

  readonly [Symbol.toStringTag] = '@noodlenet/libp2p-metrics'

  trackMultiaddrConnection(maConn: MultiaddrConnection): void {
    this.connections.inc({ transport: transportOf(maConn.remoteAddr) })
  }

  trackProtocolStream(stream: Stream): void {
    // Only protocols both ends agreed on reach here, so the label values are bounded by what this node speaks.
    if (stream.protocol !== undefined && stream.protocol !== '') this.streams.inc({ protocol: stream.protocol })
  }

  /** Runs `calculate` at every scrape and hands its value to `apply` (after `clear`, once per metric). */
  private addCalculator<T>(name: string, calculate: Calculate, apply: (value: T) => void, clear: () => void = () => {}): void {
    const entry = this.calculated.get(name) ?? { clear, calculators: [] }
    entry.calculators.push(() => withValue(calculate(), apply))
    this.calculated.set(name, entry)
  }

  registerMetric(name: string, options?: MetricOptions): Metric
  registerMetric(name: string, options: CalculatedMetricOptions): void
  registerMetric(name: string, options?: MetricOptions | CalculatedMetricOptions): Metric | undefined {
    const gauge = this.registry.gauge(libp2pMetricName(name, false), { help: helpOf(name, options) })
    const k = unitScale(name)
    if (options !== undefined && 'calculate' in options) {
      const set = (value: number) => gauge.set(undefined, value * k)
      this.addCalculator(gauge.name, options.calculate, set)
      return undefined
    }
    return {
      update: (value) => gauge.set(undefined, value * k),
      increment: (value = 1) => gauge.inc(undefined, value * k),
      decrement: (value = 1) => gauge.dec(undefined, value * k),
      reset: () => gauge.set(undefined, 0),
      timer: () => stopTimer((seconds) => gauge.set(undefined, seconds)),
    }
  }

  registerMetricGroup(name: string, options?: MetricOptions): MetricGroup
  registerMetricGroup(name: string, options: CalculatedMetricOptions<Record<string, number>>): void
  registerMetricGroup(name: string, options?: MetricOptions | CalculatedMetricOptions<Record<string, number>>): MetricGroup | undefined {
    const label = labelName(options?.label)
    const gauge: Gauge<string> = this.registry.gauge(libp2pMetricName(name, false), { help: helpOf(name, options), labels: [label] })
    const at = (key: string) => ({ [label]: key })
    const unit = unitScale(name)
    // A group's variance is in the unit squared (the connection monitor's ping time has one).
    const scale = (key: string) => (/variance/i.test(key) ? unit * unit : unit)
    if (options !== undefined && 'calculate' in options) {
      const set = (values: Record<string, number>) => {
        for (const [key, value] of Object.entries(values)) gauge.set(at(key), value * scale(key))
      }
      this.addCalculator(gauge.name, options.calculate, set, () => gauge.clear())
      return undefined
    }
    return {
      update: (values) => {
        for (const [key, value] of Object.entries(values)) if (value !== undefined) gauge.set(at(key), value * scale(key))
      },
      increment: (values) => {
        for (const [key, value] of Object.entries(values))
          if (value !== undefined) gauge.inc(at(key), (value === true ? 1 : value) * scale(key))
      },
      decrement: (values) => {
        for (const [key, value] of Object.entries(values))
          if (value !== undefined) gauge.dec(at(key), (value === true ? 1 : value) * scale(key))
      },
      reset: () => gauge.clear(),
      timer: (key) => stopTimer((seconds) => gauge.set(at(key), seconds)),
    }
  }

  registerCounter(name: string, options?: MetricOptions): Libp2pCounter
  registerCounter(name: string, options: CalculatedMetricOptions): void
  registerCounter(name: string, options?: MetricOptions | CalculatedMetricOptions): Libp2pCounter | undefined {
    const counter: Counter = this.registry.counter(libp2pMetricName(name, true), { help: helpOf(name, options) })
    if (options !== undefined && 'calculate' in options) {
      // A calculated counter returns what happened since the last call (as @libp2p/prometheus-metrics adds it).
      const add = (value: number) => counter.inc(undefined, Math.max(0, value))
      this.addCalculator(counter.name, options.calculate, add)
      return undefined
    }
    return { increment: (value = 1) => counter.inc(undefined, value), reset: () => {} }
  }

  registerCounterGroup(name: string, options?: MetricOptions): CounterGroup
  registerCounterGroup(name: string, options: CalculatedMetricOptions<Record<string, number>>): void
  registerCounterGroup(name: string, options?: MetricOptions | CalculatedMetricOptions<Record<string, number>>): CounterGroup | undefined {
    const label = labelName(options?.label)
    const counter: Counter<string> = this.registry.counter(libp2pMetricName(name, true), { help: helpOf(name, options), labels: [label] })
    const add = (values: Partial<Record<string, number | true>>) => {
      for (const [key, value] of Object.entries(values)) {
        if (value !== undefined) counter.inc({ [label]: key }, value === true ? 1 : Math.max(0, value))
      }
    }
    if (options !== undefined && 'calculate' in options) {
      this.addCalculator(counter.name, options.calculate, add)
      return undefined
    }
    return { increment: add, reset: () => {} }
  }

  registerHistogram(name: string, options?: HistogramOptions): Libp2pHistogram
  registerHistogram(name: string, options: CalculatedMetricOptions & HistogramOptions): void
  registerHistogram(name: string, options?: HistogramOptions & Partial<CalculatedMetricOptions>): Libp2pHistogram | undefined {
    const buckets = options?.buckets?.map((le) => le * unitScale(name))
    return this.observed(this.registry.histogram(libp2pMetricName(name, false), { help: helpOf(name, options), buckets }), name, options)
  }

  registerHistogramGroup(name: string, options?: HistogramOptions): HistogramGroup
  registerHistogramGroup(name: string, options: CalculatedMetricOptions<Record<string, number>> & HistogramOptions): void
  registerHistogramGroup(
    name: string,
    options?: HistogramOptions & Partial<CalculatedMetricOptions<Record<string, number>>>,
  ): HistogramGroup | undefined {
    const label = labelName(options?.label)
    const buckets = options?.buckets?.map((le) => le * unitScale(name))
    const histogram = this.registry.histogram(libp2pMetricName(name, false), { help: helpOf(name, options), labels: [label], buckets })
    return this.observedGroup(histogram, label, name, options)
  }

  registerSummary(name: string, options?: MetricOptions): Libp2pSummary
  registerSummary(name: string, options: CalculatedMetricOptions): void
  registerSummary(name: string, options?: MetricOptions & Partial<CalculatedMetricOptions>): Libp2pSummary | undefined {
    return this.observed(this.registry.summary(libp2pMetricName(name, false), { help: helpOf(name, options) }), name, options)
  }

  registerSummaryGroup(name: string, options?: MetricOptions): SummaryGroup
  registerSummaryGroup(name: string, options: CalculatedMetricOptions<Record<string, number>>): void
  registerSummaryGroup(
    name: string,
    options?: MetricOptions & Partial<CalculatedMetricOptions<Record<string, number>>>,
  ): SummaryGroup | undefined {
    const label = labelName(options?.label)
    const summary = this.registry.summary(libp2pMetricName(name, false), { help: helpOf(name, options), labels: [label] })
    return this.observedGroup(summary, label, name, options)
  }

  /** libp2p's view of a histogram or summary without labels. Timers measure seconds already: no unit scale. */
  private observed(
    family: Histogram | Summary,
    name: string,
    options: Partial<CalculatedMetricOptions> | undefined,
  ): Libp2pHistogram | undefined {
    const unit = unitScale(name)
    const observe = (value: number) => family.observe(undefined, value * unit)
    if (options?.calculate !== undefined) {
      this.addCalculator(family.name, options.calculate, observe)
      return undefined
    }
    return { observe, reset: () => family.clear(), timer: () => stopTimer((seconds) => family.observe(undefined, seconds)) }
  }

  /** libp2p's view of a histogram or summary by key. */
  private observedGroup(
    family: Histogram<string> | Summary<string>,
    label: string,
    name: string,
    options: Partial<CalculatedMetricOptions<Record<string, number>>> | undefined,
  ): HistogramGroup | undefined {
    const unit = unitScale(name)
    const observe = (values: Partial<Record<string, number>>) => {
      for (const [key, value] of Object.entries(values)) if (value !== undefined) family.observe({ [label]: key }, value * unit)
    }
    if (options?.calculate !== undefined) {
      this.addCalculator(family.name, options.calculate, observe)
      return undefined
    }
    return {
      observe,
      reset: () => family.clear(),
      timer: (key) => stopTimer((seconds) => family.observe({ [label]: key }, seconds)),
    }
  }

  // Tracing is not collected (no tracer here); libp2p calls these on hot paths, so they do nothing.
  traceFunction<F extends (...args: never[]) => unknown>(_name: string, fn: F): F {
    return fn
  }

  createTrace(): undefined {
    return undefined
  }
}

/** libp2p's `metrics` option: its metrics go into `registry`. */
export function libp2pMetrics(registry: MetricsRegistry): () => Metrics {
  return () => new Libp2pMetrics(registry)
}
