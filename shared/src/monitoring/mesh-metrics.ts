// The metrics topic: every monitoring interval a node publishes its summary (metrics-summary.ts) on
// noodlenet/v1/metrics and keeps the latest one it heard from each other peer, for GET /api/metrics/mesh and the
// dashboard. Incoming summaries are schema-checked and size-bounded before gossipsub forwards them, and the sender
// must be the peer the summary is about.

import { type GossipSub, type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import { TypedEventEmitter } from 'main-event'
import { decodeFrame, encodeFrame } from '../net/codec.js'
import { TOPICS } from '../net/topics.js'
import type { Logger } from './logger.js'
import { METRICS_SUMMARY_MAX_BYTES, type MetricsSummary, MetricsSummarySchema } from './metrics-summary.js'

/** Peers whose summaries are kept (the peer heard from longest ago is forgotten first). */
export const MESH_SUMMARIES_KEPT = 1024
/** A peer silent for this many of its own intervals is dropped from the mesh view. */
export const MESH_SUMMARY_TTL_INTERVALS = 6

export interface MeshPeerMetrics {
  peer: string
  platform: MetricsSummary['platform']
  /** Milliseconds since this node heard the summary (its own clock, not the sender's). */
  ageMs: number
  summary: MetricsSummary
}

export interface MeshMetricsEvents {
  'summary:heard': CustomEvent<MetricsSummary>
}

export interface MeshMetricsInit {
  pubsub: GossipSub
  logger: Logger
  intervalMs: number
  /** Builds this node's summary (called every interval). */
  summarize: () => MetricsSummary
  now?: () => number
}

export class MeshMetrics extends TypedEventEmitter<MeshMetricsEvents> {
  private readonly heardFrom = new Map<string, { summary: MetricsSummary; heardAt: number }>()
  private readonly now: () => number
  private timer: ReturnType<typeof setInterval> | undefined
  private own: MetricsSummary | undefined
  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    if (evt.detail.topic !== TOPICS.metrics) return
    const summary = this.decode(evt.detail)
    if (summary !== undefined) this.remember(summary)
  }

  constructor(private readonly init: MeshMetricsInit) {
    super()
    this.now = init.now ?? Date.now
  }

  async start(): Promise<void> {
    if (this.timer !== undefined) return
    const { pubsub } = this.init
    pubsub.topicValidators.set(TOPICS.metrics, async (_peer, message) =>
      this.decode(message) === undefined ? TopicValidatorResult.Reject : TopicValidatorResult.Accept,
    )
    pubsub.subscribe(TOPICS.metrics)
    pubsub.addEventListener('message', this.onMessage)
    this.timer = setInterval(() => void this.publish(), this.init.intervalMs)
  }

  async stop(): Promise<void> {
    if (this.timer === undefined) return
    clearInterval(this.timer)
    this.timer = undefined
    this.init.pubsub.removeEventListener('message', this.onMessage)
    this.init.pubsub.unsubscribe(TOPICS.metrics)
    this.init.pubsub.topicValidators.delete(TOPICS.metrics)
  }

  /** Builds and publishes this node's summary now (also every interval). */
  async publish(): Promise<void> {
    try {
      this.own = this.init.summarize()
      await this.init.pubsub.publish(TOPICS.metrics, encodeFrame(this.own, METRICS_SUMMARY_MAX_BYTES))
    } catch (err) {
      // NoPeersSubscribedToTopic while alone is normal; anything else is worth a debug line, never a crash.
      this.init.logger.debug({ err }, 'metrics summary not published')
    }
  }

  /** This node's latest summary (undefined before the first interval). */
  self(): MetricsSummary | undefined {
    return this.own
  }

  /** The latest summary of every other peer heard within its ttl, most recently heard first. */
  peers(): MeshPeerMetrics[] {
    const at = this.now()
    const out: MeshPeerMetrics[] = []
    for (const [peer, { summary, heardAt }] of this.heardFrom) {
      if (at - heardAt > Math.max(summary.intervalMs, 100) * MESH_SUMMARY_TTL_INTERVALS) {
        this.heardFrom.delete(peer)
        continue
      }
      out.push({ peer, platform: summary.platform, ageMs: at - heardAt, summary })
    }
    return out.sort((a, b) => a.ageMs - b.ageMs)
  }

  private remember(summary: MetricsSummary): void {
    this.heardFrom.delete(summary.peer)
    this.heardFrom.set(summary.peer, { summary, heardAt: this.now() })
    if (this.heardFrom.size > MESH_SUMMARIES_KEPT) this.heardFrom.delete(this.heardFrom.keys().next().value as string)
    this.safeDispatchEvent('summary:heard', { detail: summary })
  }

  /** The summary in a message, or undefined when it is malformed, too large or about another peer. */
  private decode(message: Message): MetricsSummary | undefined {
    if (message.type !== 'signed') return undefined
    try {
      const summary = decodeFrame(message.data, MetricsSummarySchema, METRICS_SUMMARY_MAX_BYTES)
      return summary.peer === message.from.toString() ? summary : undefined
    } catch {
      return undefined
    }
  }
}
