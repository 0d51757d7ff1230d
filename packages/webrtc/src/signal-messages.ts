// What the transport puts in a signal's `data`: one WebRTC negotiation message (SDP offer/answer, ICE candidate)
// tagged with the session it belongs to, or `bye` ending a session. A session is one connection attempt, named by
// the dialler with a random id, so several attempts between the same two peers never mix.

import { LIMITS } from '@noodlenet/shared'
import * as v from 'valibot'

export const SIGNAL_VERSION = 1

const SessionIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{16,64}$/))

const DescriptionSchema = v.object({
  type: v.picklist(['offer', 'answer']),
  sdp: v.pipe(v.string(), v.maxLength(LIMITS.webrtcMaxSdpChars)),
})

const CandidateSchema = v.object({
  type: v.literal('candidate'),
  candidate: v.object({
    candidate: v.pipe(v.string(), v.maxLength(LIMITS.webrtcMaxCandidateChars)),
    sdpMLineIndex: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65_535)))),
    sdpMid: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(64)))),
    usernameFragment: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(256)))),
  }),
})

/** The negotiation messages simple-peer exchanges for a data channel (no media, so no renegotiation). */
export const PeerSignalSchema = v.variant('type', [DescriptionSchema, CandidateSchema])
export type PeerSignal = v.InferOutput<typeof PeerSignalSchema>

/** Why a session ended before it connected. */
export const BYE_REASONS = ['NOT_LISTENING', 'BUSY', 'FAILED', 'ABORTED'] as const
export type ByeReason = (typeof BYE_REASONS)[number]

export const TransportSignalSchema = v.union([
  v.object({ v: v.literal(SIGNAL_VERSION), session: SessionIdSchema, signal: PeerSignalSchema }),
  v.object({ v: v.literal(SIGNAL_VERSION), session: SessionIdSchema, bye: v.picklist(BYE_REASONS) }),
])
export type TransportSignal = v.InferOutput<typeof TransportSignalSchema>

/** A new session id: 16 random bytes, base64url. */
export function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
