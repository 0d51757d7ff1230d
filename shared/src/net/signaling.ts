// The signalling protocol (socket.io v4 events) that sets up WebRTC links: a peer registers its peer id by signing a
// server-issued challenge with its libp2p key, meets others in rooms, and relays SDP/ICE messages through the server.
// One definition for the server (signaling/) and the client (packages/webrtc); docs/SIGNALING.md explains it.

import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import * as v from 'valibot'
import { LIMITS } from '../limits.js'

/** Domain separation: a signature made for signalling can never be mistaken for any other signature of the key. */
export const SIGNALING_DOMAIN = 'noodlenet/signaling/v1'
/** What a signalling server's `GET /health` says it is (`service`): how the web app it serves recognises it. */
export const SIGNALING_SERVICE = 'noodlenet-signaling'
/** The room a peer joins when it names none. */
export const DEFAULT_SIGNALING_ROOM = 'default'
/** Random bytes in a challenge nonce (43 characters of base64url). */
export const SIGNALING_NONCE_BYTES = 32

const BASE64URL = /^[A-Za-z0-9_-]*$/
const text = (min: number, max: number) => v.pipe(v.string(), v.minLength(min), v.maxLength(max))
const base64url = (min: number, max: number) => v.pipe(v.string(), v.minLength(min), v.maxLength(max), v.regex(BASE64URL))
/** A peer id as text. Its syntax and embedded key are checked when it registers (`peerIdFromString`). */
const peerIdText = text(1, 128)

export const SignalingRoomSchema = v.pipe(v.string(), v.regex(/^[a-z0-9_-]{1,64}$/, 'a room name is 1 to 64 of a-z, 0-9, _ and -'))

/** Every code a server puts in an `error` event or a refused ack. */
export const SIGNALING_ERROR_CODES = [
  /** The event's arguments do not have the event's shape. */
  'INVALID_PAYLOAD',
  /** An event name this protocol does not have. */
  'UNKNOWN_EVENT',
  /** join, leave or signal before a successful register. */
  'NOT_REGISTERED',
  /** register on a connection that registered (or is registering) already. */
  'ALREADY_REGISTERED',
  /** The peer id does not parse, or does not embed its public key (only Ed25519 and secp256k1 ids do). */
  'INVALID_PEER_ID',
  /** The signature is not the peer id's key signing this connection's challenge. */
  'BAD_SIGNATURE',
  /** The same peer id registered on a newer connection; this one is closed. */
  'REPLACED',
  'ROOM_FULL',
  'TOO_MANY_ROOMS',
  /** The signal's target is not registered on this server. */
  'PEER_NOT_FOUND',
  'SIGNAL_TOO_LARGE',
  'RATE_LIMITED',
  /** The server holds its maximum number of connections; try later or another server. */
  'SERVER_FULL',
  /** The connection did not register in time and is closed. */
  'REGISTER_TIMEOUT',
] as const
export type SignalingErrorCode = (typeof SIGNALING_ERROR_CODES)[number]

// Server → client.

export const SignalingChallengeSchema = v.object({
  /** 32 random bytes, base64url without padding; new for every connection. */
  nonce: base64url(43, 43),
  /** The server instance's random id; a restarted server has a new one, so no signature outlives it. */
  server: text(1, 64),
})
export type SignalingChallenge = v.InferOutput<typeof SignalingChallengeSchema>

export const SignalingPeerEventSchema = v.object({ peerId: peerIdText })
export type SignalingPeerEvent = v.InferOutput<typeof SignalingPeerEventSchema>

export const SignalingRelayedSignalSchema = v.object({ from: peerIdText, data: v.unknown() })
export type SignalingRelayedSignal = v.InferOutput<typeof SignalingRelayedSignalSchema>

/** Codes are plain text on the way in, so a client keeps working when a newer server adds one. */
export const SignalingErrorSchema = v.object({
  code: text(1, 64),
  message: text(0, 1024),
  /** The event that was refused, when the server could read its name. */
  event: v.optional(text(0, 64)),
  /** For a refused signal: the peer it was addressed to. */
  to: v.optional(peerIdText),
})
export interface SignalingError {
  code: SignalingErrorCode
  message: string
  event?: string
  to?: string
}

const refusal = v.object({ ok: v.literal(false), code: text(1, 64), message: text(0, 1024) })
export type SignalingRefusal = { ok: false; code: SignalingErrorCode; message: string }

export const SignalingRegisterAckSchema = v.variant('ok', [v.object({ ok: v.literal(true) }), refusal])
export type SignalingRegisterAck = { ok: true } | SignalingRefusal

export const SignalingJoinAckSchema = v.variant('ok', [
  v.object({ ok: v.literal(true), peers: v.pipe(v.array(peerIdText), v.maxLength(LIMITS.signalingRoomMaxPeers)) }),
  refusal,
])
export type SignalingJoinAck = { ok: true; peers: string[] } | SignalingRefusal

export type SignalingLeaveAck = { ok: true } | SignalingRefusal

// Client → server.

export const SignalingRegisterSchema = v.object({
  peerId: peerIdText,
  /** The peer's key over `signalingChallengeBytes(server, nonce, peerId)`, base64url. */
  signature: base64url(1, 1024),
})
export type SignalingRegister = v.InferOutput<typeof SignalingRegisterSchema>

export const SignalingJoinSchema = v.object({ room: v.optional(SignalingRoomSchema) })
export type SignalingJoin = v.InferInput<typeof SignalingJoinSchema>

export const SignalingLeaveSchema = v.object({ room: SignalingRoomSchema })
export type SignalingLeave = v.InferOutput<typeof SignalingLeaveSchema>

/** `data` is opaque to the server (an SDP or ICE candidate as JSON); its encoded size is capped. */
export const SignalingSignalSchema = v.object({ to: peerIdText, data: v.unknown() })
export type SignalingSignal = v.InferOutput<typeof SignalingSignalSchema>

/** The events a client may send, with their argument schemas; anything else is `UNKNOWN_EVENT`. */
export const SIGNALING_CLIENT_EVENTS = {
  register: SignalingRegisterSchema,
  join: SignalingJoinSchema,
  leave: SignalingLeaveSchema,
  signal: SignalingSignalSchema,
} as const
export type SignalingClientEventName = keyof typeof SIGNALING_CLIENT_EVENTS

/** socket.io's typed event maps (`new Server<SignalingClientToServerEvents, SignalingServerToClientEvents>()`). */
export interface SignalingServerToClientEvents {
  challenge: (challenge: SignalingChallenge) => void
  'peer:joined': (event: SignalingPeerEvent) => void
  'peer:left': (event: SignalingPeerEvent) => void
  signal: (message: SignalingRelayedSignal) => void
  error: (error: SignalingError) => void
}

export interface SignalingClientToServerEvents {
  register: (request: SignalingRegister, ack: (result: SignalingRegisterAck) => void) => void
  join: (request: SignalingJoin, ack: (result: SignalingJoinAck) => void) => void
  leave: (request: SignalingLeave, ack: (result: SignalingLeaveAck) => void) => void
  signal: (message: SignalingSignal) => void
}

/** The bytes a peer signs to register: domain, server id, nonce and peer id, one per line. Binding the server id
 *  and nonce makes a signature good for one connection only; binding the peer id names who is registering. */
export function signalingChallengeBytes(server: string, nonce: string, peerId: string): Uint8Array {
  return new TextEncoder().encode(`${SIGNALING_DOMAIN}\n${server}\n${nonce}\n${peerId}`)
}

/** Answers a challenge: the register request for `privateKey`'s peer id. */
export async function signSignalingChallenge(privateKey: PrivateKey, challenge: SignalingChallenge): Promise<SignalingRegister> {
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  const signature = await privateKey.sign(signalingChallengeBytes(challenge.server, challenge.nonce, peerId))
  return { peerId, signature: toBase64url(signature) }
}

export type SignalingVerdict = { ok: true } | { ok: false; code: 'INVALID_PEER_ID' | 'BAD_SIGNATURE'; message: string }

/** Checks a register request against the challenge this connection was given, with the key inside the peer id. */
export async function verifySignalingRegistration(challenge: SignalingChallenge, request: SignalingRegister): Promise<SignalingVerdict> {
  let publicKey: ReturnType<typeof peerIdFromString>['publicKey']
  try {
    publicKey = peerIdFromString(request.peerId).publicKey
  } catch {
    return { ok: false, code: 'INVALID_PEER_ID', message: `"${request.peerId.slice(0, 64)}" is not a peer id` }
  }
  if (publicKey === undefined) {
    return { ok: false, code: 'INVALID_PEER_ID', message: 'this peer id does not embed its public key: register with an Ed25519 identity' }
  }
  const signature = fromBase64url(request.signature)
  const bytes = signalingChallengeBytes(challenge.server, challenge.nonce, request.peerId)
  let valid = false
  try {
    valid = signature !== undefined && (await publicKey.verify(bytes, signature))
  } catch {
    valid = false
  }
  return valid
    ? { ok: true }
    : { ok: false, code: 'BAD_SIGNATURE', message: "the signature is not this peer id's key over this connection's challenge" }
}

/** A new challenge nonce: `SIGNALING_NONCE_BYTES` random bytes, base64url. */
export function newSignalingNonce(): string {
  return toBase64url(crypto.getRandomValues(new Uint8Array(SIGNALING_NONCE_BYTES)))
}

function toBase64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromBase64url(text: string): Uint8Array | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/')
  try {
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))
    return Uint8Array.from(binary, (char) => char.charCodeAt(0))
  } catch {
    return undefined
  }
}
