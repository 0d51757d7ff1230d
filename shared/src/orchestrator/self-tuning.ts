// Orchestrator self-tuning (config monitoring.selfTuning, off by default; docs/SCHEDULER.md): every monitoring
// interval the node looks at its load and the mesh's size and, within configured bounds, adjusts how many tasks its
// executor runs at once and how often it gossips its presence and pings its neighbours. Each change is one info log
// line (knob, old, new, why), a gauge of the current value and a count of adjustments. The decisions are a pure
// function of the inputs (SelfTuner.evaluate), so tests drive them with a fake clock.

import type { NoodleConfig } from '../config/schema.js'
import type { Logger } from '../monitoring/logger.js'
import type { Counter, Gauge, MetricsRegistry } from '../monitoring/metrics.js'

export type SelfTuningConfig = NoodleConfig['monitoring']['selfTuning']
export type TuningKnob = 'executor_concurrency' | 'presence_interval' | 'heartbeat_interval'

/** Load average per core above which the executor runs one task fewer at a time: the CPU is oversubscribed. */
export const OVERLOADED_LOAD = 1.5
/** Load average per core below which waiting tasks may get one more worker. */
export const IDLE_LOAD = 0.75

/** What the tuner looks at, sampled once per interval. */
export interface TuningInputs {
  /** Load average over one minute per core; undefined where the platform cannot tell (browsers). */
  load: number | undefined
  /** The executor: undefined on a node that runs no tasks. */
  executor: { concurrency: number; running: number; queueLength: number } | undefined
  /** Peers in the mesh as presence gossip knows them, this one included. */
  meshSize: number
}

/** The current value of each knob the tuner sets. */
export interface TuningState {
  concurrency: number | undefined
  presenceIntervalMs: number
  heartbeatMs: number
}

export interface TuningChange {
  knob: TuningKnob
  old: number
  new: number
  why: string
}

export interface SelfTunerInit {
  config: SelfTuningConfig
  /** The configured (base) intervals, used in a small mesh. */
  presenceIntervalMs: number
  heartbeatMs: number
  /** Cores of this node: the default upper bound of concurrency is twice as many. */
  cores: number
}

/** Decides changes; applies none. One change per knob per cooldown. */
export class SelfTuner {
  private readonly lastChange = new Map<TuningKnob, number>()

  constructor(private readonly init: SelfTunerInit) {}

  /** Bounds of executor concurrency. */
  get concurrencyBounds(): { min: number; max: number } {
    const { minConcurrency, maxConcurrency } = this.init.config
    const max = maxConcurrency > 0 ? maxConcurrency : Math.max(1, 2 * this.init.cores)
    return { min: Math.min(minConcurrency, max), max }
  }

  /** The interval multiplier for a mesh of `size` peers: 1 up to meshSizePerStep peers, 2 up to twice that, and so
   *  on, at most maxIntervalFactor. */
  intervalFactor(size: number): number {
    const { meshSizePerStep, maxIntervalFactor } = this.init.config
    return Math.min(maxIntervalFactor, Math.max(1, Math.ceil(size / meshSizePerStep)))
  }

  /** The changes to make now, given the inputs and the current state; `now` in ms. */
  evaluate(inputs: TuningInputs, state: TuningState, now: number): TuningChange[] {
    const changes: TuningChange[] = []
    const concurrency = this.concurrency(inputs, state)
    if (concurrency !== undefined) changes.push(concurrency)
    const factor = this.intervalFactor(inputs.meshSize)
    const why = `the mesh has ${inputs.meshSize} peers: ${factor}× the configured interval (one step per ${this.init.config.meshSizePerStep} peers, at most ${this.init.config.maxIntervalFactor}×)`
    const presence = Math.round(this.init.presenceIntervalMs * factor)
    if (presence !== state.presenceIntervalMs)
      changes.push({ knob: 'presence_interval', old: state.presenceIntervalMs, new: presence, why })
    const heartbeat = Math.round(this.init.heartbeatMs * factor)
    if (heartbeat !== state.heartbeatMs) changes.push({ knob: 'heartbeat_interval', old: state.heartbeatMs, new: heartbeat, why })
    const cooldownMs = this.init.config.cooldownSeconds * 1000
    const allowed = changes.filter((change) => now - (this.lastChange.get(change.knob) ?? Number.NEGATIVE_INFINITY) >= cooldownMs)
    for (const change of allowed) this.lastChange.set(change.knob, now)
    return allowed
  }

  private concurrency(inputs: TuningInputs, state: TuningState): TuningChange | undefined {
    const executor = inputs.executor
    const current = state.concurrency
    if (executor === undefined || current === undefined) return undefined
    const { min, max } = this.concurrencyBounds
    const load = inputs.load
    if (current > max) return { knob: 'executor_concurrency', old: current, new: max, why: `above the configured maximum ${max}` }
    if (current < min) return { knob: 'executor_concurrency', old: current, new: min, why: `below the configured minimum ${min}` }
    if (load !== undefined && load > OVERLOADED_LOAD && current > min) {
      return {
        knob: 'executor_concurrency',
        old: current,
        new: current - 1,
        why: `CPU load average ${load.toFixed(2)} per core is above ${OVERLOADED_LOAD}: tasks would only slow each other down`,
      }
    }
    const saturated = executor.queueLength > 0 && executor.running >= current
    if (saturated && (load === undefined || load < IDLE_LOAD) && current < max) {
      return {
        knob: 'executor_concurrency',
        old: current,
        new: current + 1,
        why: `${executor.queueLength} tasks wait while all ${current} workers are busy and CPU load is ${load === undefined ? 'unknown' : `${load.toFixed(2)} per core`}`,
      }
    }
    return undefined
  }
}

/** The seams the tuner turns (executor, presence, failure detector), and where it reads its inputs. */
export interface TunedNode {
  inputs(): TuningInputs
  state(): TuningState
  setConcurrency(value: number): void
  setPresenceIntervalMs(value: number): void
  setHeartbeatMs(value: number): void
}

/** Gauges of the knobs' current values and a counter of adjustments (docs/METRICS.md). */
export class TuningMetrics {
  readonly concurrency: Gauge
  readonly presenceInterval: Gauge
  readonly heartbeatInterval: Gauge
  readonly adjustments: Counter<'knob'>

  constructor(registry: MetricsRegistry) {
    this.concurrency = registry.gauge('noodlenet_tuning_executor_concurrency', {
      help: 'Tasks the executor runs at once, as self-tuning set it (0 on a node that runs no tasks).',
    })
    this.presenceInterval = registry.gauge('noodlenet_tuning_presence_interval_seconds', {
      help: 'Seconds between presence gossips of this node, as self-tuning set it.',
    })
    this.heartbeatInterval = registry.gauge('noodlenet_tuning_heartbeat_interval_seconds', {
      help: 'Seconds between failure-detector pings to each neighbour, as self-tuning set it.',
    })
    this.adjustments = registry.counter('noodlenet_tuning_adjustments_total', {
      help: 'Changes self-tuning made, by knob (executor_concurrency, presence_interval, heartbeat_interval).',
      labels: ['knob'],
    })
    for (const knob of ['executor_concurrency', 'presence_interval', 'heartbeat_interval'] as const) this.adjustments.inc({ knob }, 0)
  }

  show(state: TuningState): void {
    this.concurrency.set(undefined, state.concurrency ?? 0)
    this.presenceInterval.set(undefined, state.presenceIntervalMs / 1000)
    this.heartbeatInterval.set(undefined, state.heartbeatMs / 1000)
  }
}

export interface SelfTuningInit {
  tuner: SelfTuner
  node: TunedNode
  logger: Logger
  metrics: TuningMetrics | undefined
  intervalMs: number
  now?: () => number
}

/** Runs the tuner every monitoring interval and applies, logs and counts what it decides. */
export class SelfTuning {
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly now: () => number

  constructor(private readonly init: SelfTuningInit) {
    this.now = init.now ?? Date.now
  }

  start(): void {
    if (this.timer !== undefined) return
    this.init.metrics?.show(this.init.node.state())
    this.timer = setInterval(() => this.tick(), this.init.intervalMs)
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** One evaluation: called by the timer; exposed for tests. */
  tick(): TuningChange[] {
    const { node, tuner, logger, metrics } = this.init
    let changes: TuningChange[] = []
    try {
      changes = tuner.evaluate(node.inputs(), node.state(), this.now())
      for (const change of changes) {
        if (change.knob === 'executor_concurrency') node.setConcurrency(change.new)
        else if (change.knob === 'presence_interval') node.setPresenceIntervalMs(change.new)
        else node.setHeartbeatMs(change.new)
        metrics?.adjustments.inc({ knob: change.knob })
        logger.info(
          { knob: change.knob, old: change.old, new: change.new, why: change.why },
          `self-tuning: ${change.knob} ${change.old} → ${change.new}`,
        )
      }
      metrics?.show(node.state())
    } catch (err) {
      logger.error({ err }, 'self-tuning tick failed')
    }
    return changes
  }
}
