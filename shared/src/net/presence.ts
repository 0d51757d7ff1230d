// Presence gossip: every peer publishes its NodeProfile on the presence topic every interval, and keeps the
// profiles it hears in a directory that forgets a peer after a few missed intervals. Gossipsub signs messages,
// so a profile is accepted only from the peer it describes.

import { type GossipSub, type Message, type SubscriptionChangeData, TopicValidatorResult } from '@libp2p/gossipsub'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { isNoodleError } from '../errors.js'
import type { Logger } from '../monitoring/logger.js'
import { decodeFrame, encodeFrame } from './codec.js'
import { TOPICS } from './topics.js'
import { type NodeProfile, NodeProfileSchema } from './wire-schemas.js'

export interface PresenceEvents {
  /** A peer's profile arrived or changed. */
  'presence:update': CustomEvent<NodeProfile>
  /** A peer has not been heard from for ttl; its profile was dropped. */
  'presence:expire': CustomEvent<{ peerId: string }>
}

export interface PresenceComponents {
  libp2p: Libp2p
  pubsub: GossipSub
  logger: Logger
  intervalMs: number
  ttlIntervals: number
  /** The interval a profile's ttl counts in when it differs from intervalMs: the longest interval any peer may
   *  publish at (self-tuning lengthens intervals in a big mesh, so a peer must not expire another for it). */
  ttlIntervalMs?: number
  maxBytes: number
  /** Builds this node's current profile; `seq` is filled in here. */
  profile: () => Promise<Omit<NodeProfile, 'seq' | 'publishedAt'>>
}

interface Entry {
  profile: NodeProfile
  heardAt: number
}

export class PresenceService extends TypedEventEmitter<PresenceEvents> {
  private readonly components: PresenceComponents
  private readonly directory = new Map<string, Entry>()
  private timer: ReturnType<typeof setInterval> | undefined
  private intervalMs: number
  /** Starts from the clock so a restarted peer's profiles outrank the ones it sent before the restart. */
  private seq = Date.now()
  private readonly onMessage = (evt: CustomEvent<Message>): void => this.receive(evt.detail)
  /** The first peer that subscribes to presence gets this node's profile soon, not up to an interval later: the
   *  profile published at start went to nobody. (At 100 peers with presence every 20 s a newcomer took 21 s p50 to be
   *  heard, bench mesh-scale.) Only when it is the only subscriber, so a busy node does not republish per neighbour;
   *  and at gossipsub's next heartbeat, not at once: the subscription can arrive before our own stream to that peer
   *  is open, and gossipsub drops what it cannot send. */
  private welcomePending = false
  private readonly onSubscription = (evt: CustomEvent<SubscriptionChangeData>): void => {
    const joined = evt.detail.subscriptions.some((subscription) => subscription.topic === TOPICS.presence && subscription.subscribe)
    if (joined && this.components.pubsub.getSubscribers(TOPICS.presence).length <= 1) this.welcomePending = true
  }
  private readonly onHeartbeat = (): void => {
    if (!this.welcomePending) return
    this.welcomePending = false
    void this.publish()
  }

  constructor(components: PresenceComponents) {
    super()
    this.components = components
    this.intervalMs = components.intervalMs
  }

  async start(): Promise<void> {
    const { pubsub } = this.components
    // Bad profiles are rejected before gossipsub forwards them, so one broken peer cannot flood the mesh.
    pubsub.topicValidators.set(TOPICS.presence, (_peer, message) =>
      this.decode(message) === undefined ? TopicValidatorResult.Reject : TopicValidatorResult.Accept,
    )
    pubsub.subscribe(TOPICS.presence)
    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSubscription)
    pubsub.addEventListener('gossipsub:heartbeat', this.onHeartbeat)
    this.schedule()
    await this.publish()
  }

  /** How often this node publishes its profile now (ms). */
  get interval(): number {
    return this.intervalMs
  }

  /** Publishes every `ms` from now on (orchestrator self-tuning). */
  setIntervalMs(ms: number): void {
    this.intervalMs = ms
    if (this.timer !== undefined) this.schedule()
  }

  private schedule(): void {
    clearInterval(this.timer)
    this.timer = setInterval(() => {
      this.expire()
      void this.publish()
    }, this.intervalMs)
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    this.components.pubsub.removeEventListener('message', this.onMessage)
    this.components.pubsub.removeEventListener('subscription-change', this.onSubscription)
    this.components.pubsub.removeEventListener('gossipsub:heartbeat', this.onHeartbeat)
    this.components.pubsub.unsubscribe(TOPICS.presence)
    this.components.pubsub.topicValidators.delete(TOPICS.presence)
    this.directory.clear()
  }

  /** Profiles heard within the ttl, this node's own excluded. */
  profiles(): NodeProfile[] {
    return [...this.directory.values()].map((entry) => entry.profile)
  }

  get(peer: PeerId | string): NodeProfile | undefined {
    return this.directory.get(peer.toString())?.profile
  }

  /** Publishes this node's profile now (also called every interval). */
  async publish(): Promise<void> {
    try {
      const profile: NodeProfile = { ...(await this.components.profile()), seq: ++this.seq, publishedAt: Date.now() }
      await this.components.pubsub.publish(TOPICS.presence, encodeFrame(profile, this.components.maxBytes))
    } catch (err) {
      this.components.logger.warning({ err }, 'presence publish failed')
    }
  }

  /** The profile in a presence message, or undefined when it is malformed or claims to be another peer. */
  private decode(message: Message): NodeProfile | undefined {
    if (message.type !== 'signed') return undefined
    let profile: NodeProfile
    try {
      profile = decodeFrame(message.data, NodeProfileSchema, this.components.maxBytes)
    } catch (err) {
      if (!isNoodleError(err)) throw err
      this.components.logger.debug({ from: message.from.toString(), code: err.code }, 'dropped bad presence message')
      return undefined
    }
    if (profile.peerId !== message.from.toString()) {
      this.components.logger.debug({ from: message.from.toString(), claimed: profile.peerId }, 'dropped presence for another peer')
      return undefined
    }
    return profile
  }

  private receive(message: Message): void {
    if (message.topic !== TOPICS.presence) return
    const profile = this.decode(message)
    if (profile === undefined) return
    const known = this.directory.get(profile.peerId)
    if (known !== undefined && known.profile.seq >= profile.seq) {
      known.heardAt = Date.now()
      return
    }
    this.directory.set(profile.peerId, { profile, heardAt: Date.now() })
    this.safeDispatch('presence:update', profile)
  }

  private expire(): void {
    const cutoff = Date.now() - Math.max(this.intervalMs, this.components.ttlIntervalMs ?? 0) * this.components.ttlIntervals
    for (const [peerId, entry] of this.directory) {
      if (entry.heardAt >= cutoff) continue
      this.directory.delete(peerId)
      this.safeDispatch('presence:expire', { peerId })
    }
  }

  private safeDispatch<K extends keyof PresenceEvents>(type: K, detail: PresenceEvents[K]['detail']): void {
    try {
      this.safeDispatchEvent(type, { detail })
    } catch (err) {
      this.components.logger.error({ err, type }, 'presence listener threw')
    }
  }
}
