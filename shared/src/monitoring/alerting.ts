// The monitoring tick of a node: every monitoring.intervalSeconds it snapshots the metrics registry, keeps the
// snapshot in the bounded history and evaluates the alert rules, whose changes go to the log, the webhooks and the
// alerts gossip topic. NoodleNode owns one and starts it after libp2p (the gossip needs pubsub).

import type { GossipSub } from '@libp2p/gossipsub'
import { DEFAULT_HISTORY_SECONDS, type NoodleConfig } from '../config/schema.js'
import { AlertGossip, type AlertNotice } from './alert-gossip.js'
import { type Alert, type AlertChannel, AlertEvaluator, logChannel, WebhookChannel } from './alerts.js'
import { MetricHistory } from './history.js'
import type { Logger } from './logger.js'
import type { Gauge, MetricsRegistry } from './metrics.js'

export interface AlertingInit {
  config: NoodleConfig['monitoring']
  registry: MetricsRegistry
  pubsub: GossipSub
  logger: Logger
  peer: string
  firingGauge?: Gauge<'severity'>
  /** Milliseconds since the epoch (tests). */
  now?: () => number
}

export class Alerting {
  readonly history: MetricHistory
  readonly evaluator: AlertEvaluator
  readonly gossip: AlertGossip
  readonly webhooks: WebhookChannel
  private readonly registry: MetricsRegistry
  private readonly intervalMs: number
  private readonly now: () => number
  private readonly logger: Logger
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(init: AlertingInit) {
    this.registry = init.registry
    this.logger = init.logger
    this.now = init.now ?? Date.now
    this.intervalMs = init.config.intervalSeconds * 1000
    this.history = new MetricHistory({
      retentionMs: (init.config.historySeconds ?? DEFAULT_HISTORY_SECONDS) * 1000,
      intervalMs: this.intervalMs,
    })
    this.evaluator = new AlertEvaluator({
      rules: init.config.rules ?? [],
      history: this.history,
      peer: init.peer,
      firingGauge: init.firingGauge,
    })
    this.gossip = new AlertGossip(init.pubsub, init.logger)
    this.webhooks = new WebhookChannel({ urls: init.config.webhooks ?? [], logger: init.logger })
    const channels: AlertChannel[] = [logChannel(init.logger), this.webhooks, this.gossip]
    const notify = (evt: CustomEvent<Alert>): void => {
      for (const channel of channels) channel.notify(evt.detail)
    }
    this.evaluator.addEventListener('alert:firing', notify)
    this.evaluator.addEventListener('alert:resolved', notify)
  }

  async start(): Promise<void> {
    if (this.timer !== undefined) return
    await this.gossip.start()
    this.timer = setInterval(() => this.tick(), this.intervalMs)
  }

  async stop(): Promise<void> {
    if (this.timer === undefined) return
    clearInterval(this.timer)
    this.timer = undefined
    await this.gossip.stop()
  }

  /** One monitoring tick: history, then rules. Called by the timer; exposed for tests. */
  tick(): void {
    try {
      const at = this.now()
      const snapshot = this.registry.snapshot()
      this.history.record(snapshot, at)
      this.evaluator.evaluate(snapshot, at)
    } catch (err) {
      this.logger.error({ err }, 'monitoring tick failed')
    }
  }

  /** What GET /api/alerts shows: alerts firing here, resolved here lately, and heard from other peers. */
  alerts(): { firing: Alert[]; resolved: Alert[]; heard: AlertNotice[] } {
    return { firing: this.evaluator.firing(), resolved: this.evaluator.resolved(), heard: this.gossip.heard() }
  }
}
