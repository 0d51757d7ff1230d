// Revocation of capability tokens by id. A revocation is a small record signed by the peer that revokes; it is
// gossiped on the revocations topic and kept (persisted by the platform). It takes effect for a token when the
// revoker is that token's issuer or the issuer of any token above it in its chain (or a trusted root): you may
// revoke what you, or someone under you, granted — nothing else.

import { type GossipSub, type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { encode } from 'cborg'
import * as v from 'valibot'
import { NoodleError } from '../errors.js'
import { LIMITS } from '../limits.js'
import type { Logger } from '../monitoring/logger.js'
import { decodeFrame, encodeFrame } from '../net/codec.js'
import { TOPICS } from '../net/topics.js'
import type { CapabilityToken } from './capability.js'

const SIGNATURE_DOMAIN = new TextEncoder().encode('noodlenet/revocation/v1\n')

export const RevocationSchema = v.strictObject({
  v: v.literal(1),
  /** The revoked token's id (hex sha256). */
  id: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  /** Peer id of the revoker. */
  by: v.pipe(v.string(), v.maxLength(128)),
  /** Seconds since the epoch. */
  at: v.pipe(v.number(), v.integer(), v.minValue(0)),
  sig: v.pipe(v.instance(Uint8Array), v.length(64)),
})
export type Revocation = v.InferOutput<typeof RevocationSchema>

function signedBytes(record: Omit<Revocation, 'sig'>): Uint8Array {
  const body = encode({ v: record.v, id: record.id, by: record.by, at: record.at })
  const out = new Uint8Array(SIGNATURE_DOMAIN.length + body.length)
  out.set(SIGNATURE_DOMAIN)
  out.set(body, SIGNATURE_DOMAIN.length)
  return out
}

export async function signRevocation(tokenId: string, key: PrivateKey, at = Math.floor(Date.now() / 1000)): Promise<Revocation> {
  const record = { v: 1 as const, id: tokenId, by: peerIdFromPrivateKey(key).toString(), at }
  return { ...record, sig: new Uint8Array(await key.sign(signedBytes(record))) }
}

export async function verifyRevocation(record: Revocation): Promise<boolean> {
  try {
    const key = peerIdFromString(record.by).publicKey
    if (key === undefined) return false
    return await key.verify(signedBytes(record), record.sig)
  } catch {
    return false
  }
}

/** Where revocations are kept between runs (a file on Node, memory or IndexedDB in browsers). */
export interface RevocationStore {
  load(): Promise<Revocation[]>
  save(record: Revocation): Promise<void>
}

export class MemoryRevocationStore implements RevocationStore {
  readonly records: Revocation[] = []
  async load(): Promise<Revocation[]> {
    return [...this.records]
  }
  async save(record: Revocation): Promise<void> {
    this.records.push(record)
  }
}

/** Revocations this node knows, by token id and revoker. */
export class RevocationList {
  private readonly byToken = new Map<string, Set<string>>()
  /** Revocation records kept (a token revoked by two revokers counts twice). */
  private count = 0
  private readonly store: RevocationStore
  private readonly trustedRoots: ReadonlySet<string>

  private readonly max: number

  constructor(store: RevocationStore, trustedRoots: ReadonlySet<string>, max: number = LIMITS.revocationsMax) {
    this.store = store
    this.trustedRoots = trustedRoots
    this.max = max
  }

  async load(): Promise<void> {
    for (const record of await this.store.load()) this.remember(record)
  }

  /** Verifies and keeps a revocation. Returns false when it was already known. */
  async add(record: Revocation): Promise<boolean> {
    if (!(await verifyRevocation(record))) {
      throw new NoodleError(
        'CAPABILITY_BAD_SIGNATURE',
        `the revocation of ${record.id.slice(0, 16)}… is not signed by ${record.by}`,
        'Sign it with the revoking key.',
      )
    }
    if (this.byToken.get(record.id)?.has(record.by) === true) return false
    if (this.count >= this.max && !this.trustedRoots.has(record.by)) {
      throw new NoodleError(
        'RATE_LIMITED',
        `the revocation list is full (${this.max}); only trusted roots can add more`,
        'Ask a trusted root to revoke the token, or restart the node with a larger limit.',
      )
    }
    this.remember(record)
    await this.store.save(record)
    return true
  }

  private remember(record: Revocation): void {
    const revokers = this.byToken.get(record.id) ?? new Set<string>()
    if (!revokers.has(record.by)) this.count++
    revokers.add(record.by)
    this.byToken.set(record.id, revokers)
  }

  /** Is `tokenId` (a link of `chain`) revoked by someone entitled to revoke it? */
  isRevoked(tokenId: string, chain: readonly CapabilityToken[]): boolean {
    const revokers = this.byToken.get(tokenId)
    if (revokers === undefined) return false
    const index = chain.findIndex((link) => link.id === tokenId)
    for (const revoker of revokers) {
      if (this.trustedRoots.has(revoker)) return true
      // The link's own issuer, or an issuer above it.
      for (let i = Math.max(index, 0); i < chain.length; i++) if (chain[i].payload.iss === revoker) return true
    }
    return false
  }

  get size(): number {
    return this.byToken.size
  }
}

/** Gossips revocations: publishes this node's, and keeps every valid one it hears (bad ones are not forwarded). */
export class RevocationGossip {
  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    if (evt.detail.topic !== TOPICS.revocations) return
    const record = this.decode(evt.detail.data)
    if (record === undefined) return
    this.list.add(record).then(
      (added) => added && this.logger.info({ tokenId: record.id, by: record.by }, 'revocation received'),
      (err: unknown) => this.logger.debug({ err }, 'dropped revocation'),
    )
  }

  constructor(
    private readonly pubsub: GossipSub,
    private readonly list: RevocationList,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.list.load()
    this.pubsub.topicValidators.set(TOPICS.revocations, async (_peer, message) => {
      const record = this.decode(message.data)
      return record !== undefined && (await verifyRevocation(record)) ? TopicValidatorResult.Accept : TopicValidatorResult.Reject
    })
    this.pubsub.subscribe(TOPICS.revocations)
    this.pubsub.addEventListener('message', this.onMessage)
  }

  async stop(): Promise<void> {
    this.pubsub.removeEventListener('message', this.onMessage)
    this.pubsub.unsubscribe(TOPICS.revocations)
    this.pubsub.topicValidators.delete(TOPICS.revocations)
  }

  /** Keeps the revocation here and gossips it to the mesh. */
  async publish(record: Revocation): Promise<void> {
    await this.list.add(record)
    await this.pubsub.publish(TOPICS.revocations, encodeFrame(record, LIMITS.presenceMaxBytes))
  }

  private decode(data: Uint8Array): Revocation | undefined {
    try {
      return decodeFrame(data, RevocationSchema, LIMITS.presenceMaxBytes)
    } catch {
      return undefined
    }
  }
}
