// Link-state gossip: every peer publishes its links (neighbour, RTT, load, loss) on the link-state topic every
// interval, and sooner when a link comes or goes (at most once per LIMITS.linkStateMinGapMs). Gossipsub signs the
// messages, so a record is accepted only from the peer it describes, and a receiver keeps the highest seq per peer.
// A record not refreshed within its ttl is dropped: a peer that left takes its links with it.

import { type GossipSub, type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import { TypedEventEmitter } from 'main-event'
import { isNoodleError } from '../errors.js'
import type { Logger } from '../monitoring/logger.js'
import { decodeFrame, encodeFrame } from '../net/codec.js'
import { TOPICS } from '../net/topics.js'
import { type Link, type LinkStateRecord, LinkStateRecordSchema } from '../net/wire-schemas.js'

export interface LinkStateEvents {
  /** The set of records changed (one arrived with new links, or one expired). */
  'link-state:change': CustomEvent<{ peerId: string }>
}

export interface LinkStateComponents {
  pubsub: GossipSub
  logger: Logger
  self: string
  intervalMs: number
  ttlIntervals: number
  minGapMs: number
  maxBytes: number
  maxLinks: number
  maxRecords: number
  /** This node's links now. */
  links: () => Link[]
  /** This node's X25519 route key, advertised in its record. */
  routeKey?: () => Uint8Array | undefined
  now?: () => number
}

interface Entry {
  record: LinkStateRecord
  heardAt: number
}

export class LinkStateService extends TypedEventEmitter<LinkStateEvents> {
  private readonly c: LinkStateComponents
  private readonly now: () => number
  private readonly records = new Map<string, Entry>()
  private timer: ReturnType<typeof setInterval> | undefined
  private soon: ReturnType<typeof setTimeout> | undefined
  private lastPublished = 0
  /** Starts from the clock so a restarted peer's records outrank the ones it sent before. */
  private seq = Date.now()
  private readonly onMessage = (evt: CustomEvent<Message>): void => this.receive(evt.detail)

  constructor(components: LinkStateComponents) {
    super()
    this.c = components
    this.now = components.now ?? Date.now
  }

  async start(): Promise<void> {
    const { pubsub } = this.c
    // Bad records are rejected before gossipsub forwards them.
    pubsub.topicValidators.set(TOPICS.linkState, (_peer, message) =>
      this.decode(message) === undefined ? TopicValidatorResult.Reject : TopicValidatorResult.Accept,
    )
    pubsub.subscribe(TOPICS.linkState)
    pubsub.addEventListener('message', this.onMessage)
    this.timer = setInterval(() => {
      this.expire()
      void this.publish()
    }, this.c.intervalMs)
    await this.publish()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    clearTimeout(this.soon)
    this.timer = undefined
    this.soon = undefined
    this.c.pubsub.removeEventListener('message', this.onMessage)
    this.c.pubsub.unsubscribe(TOPICS.linkState)
    this.c.pubsub.topicValidators.delete(TOPICS.linkState)
    this.records.clear()
  }

  /** Records of other peers heard within the ttl. */
  all(): LinkStateRecord[] {
    return [...this.records.values()].map((entry) => entry.record)
  }

  get size(): number {
    return this.records.size
  }

  /** `peerId`'s record, if heard within the ttl. */
  get(peerId: string): LinkStateRecord | undefined {
    return this.records.get(peerId)?.record
  }

  /** A link of this node changed: publish soon, but not more often than minGapMs. */
  linksChanged(): void {
    if (this.timer === undefined || this.soon !== undefined) return
    const wait = Math.max(0, this.lastPublished + this.c.minGapMs - this.now())
    this.soon = setTimeout(() => {
      this.soon = undefined
      void this.publish()
    }, wait)
  }

  /** Publishes this node's record now (also every interval). */
  async publish(): Promise<void> {
    this.lastPublished = this.now()
    try {
      const links = this.c
        .links()
        .sort((a, b) => a.rttMs - b.rttMs)
        .slice(0, this.c.maxLinks)
      const routeKey = this.c.routeKey?.()
      const record: LinkStateRecord = {
        peerId: this.c.self,
        seq: ++this.seq,
        links,
        ...(routeKey === undefined ? {} : { routeKey }),
        publishedAt: Date.now(),
      }
      await this.c.pubsub.publish(TOPICS.linkState, encodeFrame(record, this.c.maxBytes))
    } catch (err) {
      this.c.logger.warning({ err }, 'link-state publish failed')
    }
  }

  /** The record in a message, or undefined when it is malformed or claims to be another peer's. */
  private decode(message: Message): LinkStateRecord | undefined {
    if (message.type !== 'signed') return undefined
    let record: LinkStateRecord
    try {
      record = decodeFrame(message.data, LinkStateRecordSchema, this.c.maxBytes)
    } catch (err) {
      if (!isNoodleError(err)) throw err
      this.c.logger.debug({ from: message.from.toString(), code: err.code }, 'dropped bad link-state record')
      return undefined
    }
    if (record.peerId !== message.from.toString() || record.links.length > this.c.maxLinks) return undefined
    return record
  }

  private receive(message: Message): void {
    if (message.topic !== TOPICS.linkState) return
    const record = this.decode(message)
    if (record === undefined || record.peerId === this.c.self) return
    const known = this.records.get(record.peerId)
    if (known !== undefined && known.record.seq >= record.seq) return
    known === undefined ? this.makeRoom() : this.records.delete(record.peerId)
    // Re-inserted, so the map's order is the order heard in and makeRoom drops the least recently heard.
    this.records.set(record.peerId, { record, heardAt: this.now() })
    if (known === undefined || !sameLinks(known.record.links, record.links)) this.changed(record.peerId)
  }

  private makeRoom(): void {
    if (this.records.size < this.c.maxRecords) return
    const oldest = this.records.keys().next().value
    if (oldest === undefined) return
    this.records.delete(oldest)
    this.changed(oldest)
  }

  private expire(): void {
    const cutoff = this.now() - this.c.intervalMs * this.c.ttlIntervals
    for (const [peerId, entry] of this.records) {
      if (entry.heardAt >= cutoff) continue
      this.records.delete(peerId)
      this.changed(peerId)
    }
  }

  private changed(peerId: string): void {
    try {
      this.safeDispatchEvent('link-state:change', { detail: { peerId } })
    } catch (err) {
      this.c.logger.error({ err }, 'link-state listener threw')
    }
  }
}

/** Whether two link lists give the same costs (round trips within a millisecond: costs are whole milliseconds). */
function sameLinks(a: readonly Link[], b: readonly Link[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i]
    const y = b[i]
    if (x.peer !== y.peer || Math.abs(x.rttMs - y.rttMs) >= 0.5 || x.load !== y.load || (x.loss ?? 0) !== (y.loss ?? 0)) return false
  }
  return true
}
