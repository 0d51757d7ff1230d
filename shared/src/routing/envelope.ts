// End-to-end authentication of routed requests. Relays are not trusted: the source signs what the destination acts
// on (who sent it, to whom, the protocol, a fresh nonce and time, the token, the hash of the body) with its libp2p
// key, and the destination verifies it with the key inlined in the source's peer id (Ed25519 and secp256k1 ids
// carry it). The reply is signed the same way by the destination over the request's nonce. A relay sees the body
// (links are encrypted hop by hop, not end to end) but cannot alter, forge or replay either side.

import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { sha256 } from '@noble/hashes/sha2.js'
import { encode } from 'cborg'
import { NoodleError } from '../errors.js'
import type { RouteEnvelope, RouteReply } from '../net/wire-schemas.js'

const REQUEST_DOMAIN = 'noodlenet/route/1 request'
const REPLY_DOMAIN = 'noodlenet/route/1 reply'

/** The fields of an envelope the source signs (ttl and path change on the way and are not signed). */
export type SignedFields = Pick<RouteEnvelope, 'src' | 'dst' | 'protocol' | 'nonce' | 'sentAt' | 'cap' | 'epk' | 'body'>

function requestBytes(fields: SignedFields): Uint8Array {
  return encode([
    REQUEST_DOMAIN,
    fields.src,
    fields.dst,
    fields.protocol,
    fields.nonce,
    fields.sentAt,
    fields.cap ?? '',
    fields.epk ?? '',
    sha256(fields.body),
  ])
}

function replyBytes(src: string, dst: string, nonce: Uint8Array, ok: boolean, body: Uint8Array): Uint8Array {
  return encode([REPLY_DOMAIN, dst, src, nonce, ok, sha256(body)])
}

export async function signRequest(key: PrivateKey, fields: SignedFields): Promise<Uint8Array> {
  return key.sign(requestBytes(fields))
}

export async function signReply(key: PrivateKey, envelope: RouteEnvelope, ok: boolean, body: Uint8Array): Promise<RouteReply> {
  return { ok, body, sig: await key.sign(replyBytes(envelope.src, envelope.dst, envelope.nonce, ok, body)) }
}

/** The source's peer id, once its signature over the envelope checks out; ROUTE_FORGED otherwise. */
export async function verifyRequest(envelope: RouteEnvelope): Promise<PeerId> {
  const src = keyedPeerId(envelope.src, 'source')
  if (!(await verifies(src, requestBytes(envelope), envelope.sig))) {
    throw forged(`the routed request from ${envelope.src} does not match its signature: a relay altered it, or it is forged`)
  }
  return src
}

/** Checks that `reply` was signed by the envelope's destination for this request; ROUTE_FORGED otherwise. */
export async function verifyReply(envelope: SignedFields, reply: RouteReply): Promise<void> {
  const dst = keyedPeerId(envelope.dst, 'destination')
  if (!(await verifies(dst, replyBytes(envelope.src, envelope.dst, envelope.nonce, reply.ok, reply.body), reply.sig))) {
    throw forged(`the answer routed back from ${envelope.dst} does not match its signature: a relay altered it, or it is forged`)
  }
}

async function verifies(peer: PeerId, data: Uint8Array, sig: Uint8Array): Promise<boolean> {
  try {
    return await (peer.publicKey as NonNullable<PeerId['publicKey']>).verify(data, sig)
  } catch {
    return false
  }
}

function keyedPeerId(text: string, role: string): PeerId {
  let peer: PeerId
  try {
    peer = peerIdFromString(text)
  } catch {
    throw forged(`the routed request names a ${role} that is not a peer id`)
  }
  if (peer.publicKey === undefined) {
    throw new NoodleError(
      'ROUTE_FORGED',
      `the ${role} ${text} has no key in its peer id, so a routed request cannot be checked`,
      'Use Ed25519 peer ids (the default) to be reachable through routes.',
    )
  }
  return peer
}

function forged(message: string): NoodleError {
  return new NoodleError(
    'ROUTE_FORGED',
    message,
    'Send it again; if it keeps failing, a peer on the path is tampering: deny it (network.denyPeers).',
  )
}

/** Remembers the nonces of routed requests within the replay window, so a relay cannot deliver one twice. */
export class ReplayGuard {
  private readonly seen = new Map<string, number>()
  private readonly windowMs: number
  private readonly maxNonces: number
  private readonly now: () => number

  constructor(windowMs: number, maxNonces: number, now: () => number = Date.now) {
    this.windowMs = windowMs
    this.maxNonces = maxNonces
    this.now = now
  }

  /** Throws ROUTE_REPLAYED for a request seen before or outside the window; remembers it otherwise. */
  check(envelope: Pick<RouteEnvelope, 'src' | 'nonce' | 'sentAt'>): void {
    const now = this.now()
    if (Math.abs(now - envelope.sentAt) > this.windowMs) {
      throw new NoodleError(
        'ROUTE_REPLAYED',
        `the routed request from ${envelope.src} was sent ${Math.round((now - envelope.sentAt) / 1000)} s away from this peer's clock`,
        "Check both peers' clocks (they must agree within the replay window), then send it again.",
      )
    }
    const key = `${envelope.src} ${hex(envelope.nonce)}`
    if (this.seen.has(key)) {
      throw new NoodleError(
        'ROUTE_REPLAYED',
        `the routed request from ${envelope.src} was delivered before`,
        'A relay replayed it: nothing to do, it was served once.',
      )
    }
    // Oldest first in insertion order: expire from the front, and drop the oldest beyond the cap.
    for (const [old, at] of this.seen) {
      // Kept two windows: a request may arrive a window after it was sent by a clock a window behind.
      if (now - at <= 2 * this.windowMs && this.seen.size < this.maxNonces) break
      this.seen.delete(old)
    }
    this.seen.set(key, now)
  }
}

function hex(bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0')
  return out
}
