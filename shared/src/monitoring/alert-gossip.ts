// The gossip channel of alerting: a node publishes its alerts as they fire and resolve on noodlenet/v1/alerts, and
// keeps the last few it heard from each other peer, so every peer (and the dashboard) sees what is wrong where.
// Incoming notices are validated (schema, size, and the sender must be the peer the alert is about).

import { type GossipSub, type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import { TypedEventEmitter } from 'main-event'
import * as v from 'valibot'
import { decodeFrame, encodeFrame } from '../net/codec.js'
import { TOPICS } from '../net/topics.js'
import type { Alert, AlertChannel } from './alerts.js'
import type { Logger } from './logger.js'

/** Notices heard kept per peer, and peers kept (the oldest-heard peer is forgotten first). */
export const ALERTS_HEARD_PER_PEER = 20
export const ALERTS_HEARD_PEERS = 256
/** An alert notice is a few hundred bytes; anything larger is not one. */
const NOTICE_MAX_BYTES = 4096

const text = (max: number) => v.pipe(v.string(), v.maxLength(max))
const time = v.pipe(v.number(), v.integer(), v.minValue(0))

/** An alert as it travels on the gossip topic. */
export const AlertNoticeSchema = v.strictObject({
  name: text(128),
  severity: v.picklist(['info', 'warning', 'critical']),
  kind: v.picklist(['threshold', 'rate', 'anomaly']),
  metric: text(256),
  state: v.picklist(['firing', 'resolved']),
  value: v.nullable(v.pipe(v.number(), v.finite())),
  threshold: v.pipe(v.number(), v.finite()),
  since: time,
  firedAt: time,
  resolvedAt: v.optional(time),
  peer: text(128),
})
export type AlertNotice = v.InferOutput<typeof AlertNoticeSchema>

export interface AlertGossipEvents {
  'alert:heard': CustomEvent<AlertNotice>
}

export class AlertGossip extends TypedEventEmitter<AlertGossipEvents> implements AlertChannel {
  /** Notices by peer, newest last; Map order is the order peers were last heard. */
  private readonly byPeer = new Map<string, AlertNotice[]>()
  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    if (evt.detail.topic !== TOPICS.alerts) return
    const notice = this.decode(evt.detail)
    if (notice !== undefined) this.remember(notice)
  }

  constructor(
    private readonly pubsub: GossipSub,
    private readonly logger: Logger,
  ) {
    super()
  }

  async start(): Promise<void> {
    this.pubsub.topicValidators.set(TOPICS.alerts, async (_peer, message) =>
      this.decode(message) === undefined ? TopicValidatorResult.Reject : TopicValidatorResult.Accept,
    )
    this.pubsub.subscribe(TOPICS.alerts)
    this.pubsub.addEventListener('message', this.onMessage)
  }

  async stop(): Promise<void> {
    this.pubsub.removeEventListener('message', this.onMessage)
    this.pubsub.unsubscribe(TOPICS.alerts)
    this.pubsub.topicValidators.delete(TOPICS.alerts)
  }

  notify(alert: Alert): void {
    let frame: Uint8Array
    try {
      frame = encodeFrame(alert, NOTICE_MAX_BYTES)
    } catch (err) {
      this.logger.warning({ err, alert: alert.name }, 'alert not gossiped')
      return
    }
    this.pubsub.publish(TOPICS.alerts, frame).catch((err: unknown) => this.logger.debug({ err, alert: alert.name }, 'alert gossip failed'))
  }

  /** Alerts heard from other peers, newest first. */
  heard(): AlertNotice[] {
    return [...this.byPeer.values()].flat().sort((a, b) => (b.resolvedAt ?? b.firedAt) - (a.resolvedAt ?? a.firedAt))
  }

  private remember(notice: AlertNotice): void {
    const list = this.byPeer.get(notice.peer) ?? []
    this.byPeer.delete(notice.peer)
    list.push(notice)
    if (list.length > ALERTS_HEARD_PER_PEER) list.shift()
    this.byPeer.set(notice.peer, list)
    if (this.byPeer.size > ALERTS_HEARD_PEERS) this.byPeer.delete(this.byPeer.keys().next().value as string)
    this.safeDispatchEvent('alert:heard', { detail: notice })
  }

  /** The notice in a message, or undefined when it is malformed or claims to be about another peer. */
  private decode(message: Message): AlertNotice | undefined {
    if (message.type !== 'signed') return undefined
    try {
      const notice = decodeFrame(message.data, AlertNoticeSchema, NOTICE_MAX_BYTES)
      return notice.peer === message.from.toString() ? notice : undefined
    } catch {
      return undefined
    }
  }
}
