// Alert rules evaluated against a node's metrics at every monitoring tick: a threshold on a value, on a rate over a
// window, or an anomaly (a value far from its window's mean). A rule whose condition holds is pending, then firing
// once it held for `for`, then resolved when it stops holding. Channels (log, webhook, gossip) hear every change.
// Pure logic with an injected clock, so tests drive it tick by tick (docs/ALERTING.md).

import { TypedEventEmitter } from 'main-event'
import { type ALERT_OPS, type AlertRule, DEFAULT_ALERT_DEVIATIONS, DEFAULT_ALERT_WINDOW, durationMs } from '../config/schema.js'
import { type HistoryPoint, type MetricHistory, matches } from './history.js'
import type { Logger } from './logger.js'
import type { Gauge, MetricSnapshot } from './metrics.js'

export type AlertSeverity = AlertRule['severity']
export type AlertOp = (typeof ALERT_OPS)[number]

/** One alert of a rule, as the API, the webhooks and the gossip show it. */
export interface Alert {
  name: string
  severity: AlertSeverity
  kind: AlertRule['kind']
  metric: string
  state: 'firing' | 'resolved'
  /** The value compared: the metric (threshold, anomaly) or its per-second rate (rate); null when not a number. */
  value: number | null
  /** What it was compared with; the number of standard deviations for an anomaly rule. */
  threshold: number
  /** When the condition began to hold (milliseconds since the epoch). */
  since: number
  /** When the alert fired. */
  firedAt: number
  /** When it resolved (resolved alerts only). */
  resolvedAt?: number
  /** The peer whose metrics these are. */
  peer: string
}

export interface AlertEvents {
  'alert:firing': CustomEvent<Alert>
  'alert:resolved': CustomEvent<Alert>
}

/** Something told of every alert that fires or resolves. Never throws: a channel's failure is its own to log. */
export interface AlertChannel {
  notify(alert: Alert): void
}

/** Resolved alerts kept for GET /api/alerts, newest first. */
export const RESOLVED_ALERTS_KEPT = 100
/** Anomaly rules need this many earlier points in their window before they judge a value. */
export const ANOMALY_MIN_POINTS = 3

export interface AlertEvaluatorInit {
  rules: readonly AlertRule[]
  history: MetricHistory
  peer: string
  /** noodlenet_alerts_firing, set after every evaluation. */
  firingGauge?: Gauge<'severity'>
  maxResolved?: number
}

interface RuleState {
  rule: AlertRule
  forMs: number
  windowMs: number
  /** When the condition began to hold; undefined while it does not. */
  pendingSince?: number
  firing?: Alert
}

export class AlertEvaluator extends TypedEventEmitter<AlertEvents> {
  private readonly states: RuleState[]
  private readonly history: MetricHistory
  private readonly peer: string
  private readonly firingGauge: Gauge<'severity'> | undefined
  private readonly maxResolved: number
  private readonly recentlyResolved: Alert[] = []

  constructor(init: AlertEvaluatorInit) {
    super()
    this.history = init.history
    this.peer = init.peer
    this.firingGauge = init.firingGauge
    this.maxResolved = init.maxResolved ?? RESOLVED_ALERTS_KEPT
    this.states = init.rules.map((rule) => ({
      rule,
      forMs: rule.for === undefined ? 0 : (durationMs(rule.for) ?? 0),
      windowMs: durationMs(rule.window ?? DEFAULT_ALERT_WINDOW) ?? 60_000,
    }))
  }

  /** Evaluates every rule against `snapshot`, taken at `at` (rate and anomaly rules also read the history, which
   *  should already hold this snapshot). */
  evaluate(snapshot: readonly MetricSnapshot[], at: number): void {
    for (const state of this.states) this.evaluateRule(state, snapshot, at)
    this.setGauge()
  }

  /** Alerts firing now, oldest first. */
  firing(): Alert[] {
    return this.states.flatMap((state) => (state.firing === undefined ? [] : [{ ...state.firing }]))
  }

  /** Alerts resolved lately, newest first. */
  resolved(): Alert[] {
    return this.recentlyResolved.map((alert) => ({ ...alert }))
  }

  private evaluateRule(state: RuleState, snapshot: readonly MetricSnapshot[], at: number): void {
    const { rule } = state
    const judged = this.judge(state, snapshot, at)
    if (judged?.holds === true) {
      state.pendingSince ??= at
      if (state.firing !== undefined) state.firing.value = finite(judged.value)
      else if (at - state.pendingSince >= state.forMs) {
        state.firing = {
          name: rule.name,
          severity: rule.severity,
          kind: rule.kind,
          metric: rule.metric,
          state: 'firing',
          value: finite(judged.value),
          threshold: rule.kind === 'anomaly' ? (rule.deviations ?? DEFAULT_ALERT_DEVIATIONS) : (rule.threshold ?? 0),
          since: state.pendingSince,
          firedAt: at,
          peer: this.peer,
        }
        this.safeDispatchEvent('alert:firing', { detail: { ...state.firing } })
      }
      return
    }
    // No data counts as not holding: a rule over a metric that vanished resolves rather than fires forever.
    state.pendingSince = undefined
    const firing = state.firing
    if (firing === undefined) return
    state.firing = undefined
    const resolved: Alert = {
      ...firing,
      state: 'resolved',
      resolvedAt: at,
      value: judged === undefined ? firing.value : finite(judged.value),
    }
    this.recentlyResolved.unshift(resolved)
    if (this.recentlyResolved.length > this.maxResolved) this.recentlyResolved.length = this.maxResolved
    this.safeDispatchEvent('alert:resolved', { detail: { ...resolved } })
  }

  /** The rule's value now and whether its condition holds; undefined when there is no data to judge. */
  private judge(state: RuleState, snapshot: readonly MetricSnapshot[], at: number): { value: number; holds: boolean } | undefined {
    const { rule } = state
    if (rule.kind === 'rate') {
      const points = this.history.sum(rule.metric, rule.labels, at - state.windowMs)
      const value = ratePerSecond(points, isCumulative(snapshot, rule.metric))
      return value === undefined ? undefined : { value, holds: compare(value, rule.op ?? '>', rule.threshold ?? 0) }
    }
    const value = currentValue(snapshot, rule.metric, rule.labels)
    if (value === undefined) return undefined
    if (rule.kind === 'threshold') return { value, holds: compare(value, rule.op ?? '>', rule.threshold ?? 0) }
    // Anomaly: the window's points before this one are the baseline.
    const baseline = this.history.sum(rule.metric, rule.labels, at - state.windowMs).filter((point) => point.t < at)
    if (baseline.length < ANOMALY_MIN_POINTS) return undefined
    const { mean, stddev } = meanAndStddev(baseline.map((point) => point.v))
    return { value, holds: Math.abs(value - mean) > (rule.deviations ?? DEFAULT_ALERT_DEVIATIONS) * stddev }
  }

  private setGauge(): void {
    if (this.firingGauge === undefined) return
    const counts = { info: 0, warning: 0, critical: 0 }
    for (const state of this.states) if (state.firing !== undefined) counts[state.firing.severity]++
    for (const severity of ['info', 'warning', 'critical'] as const) this.firingGauge.set({ severity }, counts[severity])
  }
}

export function compare(value: number, op: AlertOp, threshold: number): boolean {
  switch (op) {
    case '<':
      return value < threshold
    case '<=':
      return value <= threshold
    case '>':
      return value > threshold
    case '>=':
      return value >= threshold
    case '==':
      return value === threshold
    case '!=':
      return value !== threshold
  }
}

/** The sum over the series of `metric` in `snapshot` whose labels include `labels` (`<histogram>_count` and
 *  `<histogram>_sum` name a histogram's counts and sums); undefined when no series matches. */
export function currentValue(
  snapshot: readonly MetricSnapshot[],
  metric: string,
  labels?: Readonly<Record<string, string>>,
): number | undefined {
  let total: number | undefined
  for (const family of snapshot) {
    const part =
      family.name === metric ? 'value' : metric === `${family.name}_count` ? 'count' : metric === `${family.name}_sum` ? 'sum' : undefined
    if (part === undefined) continue
    for (const sample of family.samples) {
      if (labels !== undefined && !matches(sample.labels, labels)) continue
      const value = 'value' in sample ? (part === 'value' ? sample.value : undefined) : part === 'value' ? undefined : sample[part]
      if (value !== undefined) total = (total ?? 0) + value
    }
  }
  return total
}

/** Counters (and histogram counts and sums) only go up: a drop is a restart, not a negative rate. */
function isCumulative(snapshot: readonly MetricSnapshot[], metric: string): boolean {
  for (const family of snapshot) {
    if (family.name === metric) return family.type === 'counter'
    if (metric === `${family.name}_count` || metric === `${family.name}_sum`) return true
  }
  return false
}

/** Per-second increase from the first point to the last; for a counter a drop counts as a reset to 0. Undefined
 *  with fewer than two points. */
export function ratePerSecond(points: readonly HistoryPoint[], cumulative: boolean): number | undefined {
  if (points.length < 2) return undefined
  const seconds = (points[points.length - 1].t - points[0].t) / 1000
  if (!(seconds > 0)) return undefined
  let increase = 0
  for (let i = 1; i < points.length; i++) {
    const step = points[i].v - points[i - 1].v
    increase += cumulative && step < 0 ? points[i].v : step
  }
  return increase / seconds
}

export function meanAndStddev(values: readonly number[]): { mean: number; stddev: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length
  return { mean, stddev: Math.sqrt(variance) }
}

function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null
}

/** The log channel: a firing alert logs at its severity (info, WARNING, CRITICAL), a resolved one at info. */
export function logChannel(logger: Logger): AlertChannel {
  return {
    notify(alert) {
      const fields = { alert: alert.name, severity: alert.severity, metric: alert.metric, value: alert.value, threshold: alert.threshold }
      if (alert.state === 'resolved') logger.info(fields, `alert resolved: ${alert.name}`)
      else if (alert.severity === 'critical') logger.critical(fields, `alert firing: ${alert.name}`)
      else if (alert.severity === 'warning') logger.warning(fields, `alert firing: ${alert.name}`)
      else logger.info(fields, `alert firing: ${alert.name}`)
    },
  }
}

/** What a webhook receives, as JSON. */
export interface WebhookBody {
  name: string
  severity: AlertSeverity
  state: 'firing' | 'resolved'
  value: number | null
  threshold: number
  since: number
  peer: string
  metric: string
  /** When it fired or resolved. */
  at: number
}

export interface WebhookChannelOptions {
  urls: readonly string[]
  logger: Logger
  timeoutMs?: number
  fetch?: typeof fetch
}

/** Posts held per URL at most: a receiver that hangs cannot make the queue grow without bound. */
const WEBHOOK_QUEUE_MAX = 100
const WEBHOOK_TIMEOUT_MS = 5000

/** The webhook channel: an HTTP POST of JSON to each URL, one at a time per URL so a receiver sees an alert fire
 *  before it resolves; a failure or a timeout is logged, never thrown. */
export class WebhookChannel implements AlertChannel {
  private readonly queues = new Map<string, { tail: Promise<void>; length: number }>()
  private readonly timeoutMs: number
  private readonly fetch: typeof fetch

  constructor(private readonly options: WebhookChannelOptions) {
    this.timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  }

  notify(alert: Alert): void {
    const body: WebhookBody = {
      name: alert.name,
      severity: alert.severity,
      state: alert.state,
      value: alert.value,
      threshold: alert.threshold,
      since: alert.since,
      peer: alert.peer,
      metric: alert.metric,
      at: alert.resolvedAt ?? alert.firedAt,
    }
    const text = JSON.stringify(body)
    for (const url of this.options.urls) {
      const queue = this.queues.get(url) ?? { tail: Promise.resolve(), length: 0 }
      this.queues.set(url, queue)
      if (queue.length >= WEBHOOK_QUEUE_MAX) {
        this.options.logger.warning({ url, alert: alert.name }, 'alert webhook dropped: the receiver is behind')
        continue
      }
      queue.length++
      queue.tail = queue.tail.then(async () => {
        await this.post(url, text, alert)
        queue.length--
      })
    }
  }

  /** Resolves when every post queued so far is done (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.tail))
  }

  private async post(url: string, text: string, alert: Alert): Promise<void> {
    try {
      const res = await this.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: text,
        signal: AbortSignal.timeout(this.timeoutMs),
      })
      // The body is not read: free the connection.
      await res.body?.cancel().catch(() => undefined)
      if (!res.ok) this.options.logger.warning({ url, alert: alert.name, status: res.status }, 'alert webhook refused')
    } catch (err) {
      this.options.logger.warning({ url, alert: alert.name, err }, 'alert webhook failed')
    }
  }
}
