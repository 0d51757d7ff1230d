// Builds capability tokens by hand, the way an attacker or another implementation would: canonical CBOR of a
// payload, an Ed25519 signature over the domain prefix plus those bytes, and the {p, s, prf} envelope. Nothing here
// checks narrowing, so the tests can make chains that issueToken refuses to make. Runs in Node and in Chromium.

import type { PrivateKey } from '@libp2p/interface'
import { encode } from 'cborg'
import { type CapabilityPayload, type CapabilityToken, decodeToken, TOKEN_PREFIX } from '../src/security/capability.js'

/** The documented signature domain (docs/SECURITY.md); spelled out here so a change to it fails the tests. */
export const SIGNATURE_DOMAIN = new TextEncoder().encode('noodlenet/capability/v1\n')

/** A payload as the forger writes it: any fields, any values; undefined fields are left out of the CBOR. */
export type ForgedPayload = Partial<Record<keyof CapabilityPayload, unknown>> & Record<string, unknown>

export function payloadBytesOf(payload: ForgedPayload): Uint8Array {
  return encode(withoutUndefined(payload))
}

/** Plain objects without their undefined fields, at every depth: cborg would write them as CBOR undefined. */
function withoutUndefined(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value
  if (Array.isArray(value)) return value.map(withoutUndefined)
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, entry]) => entry !== undefined)
      .map(([key, entry]) => [key, withoutUndefined(entry)]),
  )
}

export async function signPayload(key: PrivateKey, payloadBytes: Uint8Array): Promise<Uint8Array> {
  const signed = new Uint8Array(SIGNATURE_DOMAIN.length + payloadBytes.length)
  signed.set(SIGNATURE_DOMAIN)
  signed.set(payloadBytes, SIGNATURE_DOMAIN.length)
  return key.sign(signed)
}

/** The envelope bytes for a payload, a signature and an optional proof envelope. */
export function envelopeBytes(payloadBytes: Uint8Array, signature: Uint8Array, proof?: Uint8Array): Uint8Array {
  return encode(proof === undefined ? { p: payloadBytes, s: signature } : { p: payloadBytes, s: signature, prf: proof })
}

/** Signs `payload` with `key` and wraps it over `proof` (a token or its envelope bytes), checking nothing. */
export async function forgeEnvelope(key: PrivateKey, payload: ForgedPayload, proof?: CapabilityToken | Uint8Array): Promise<Uint8Array> {
  const payloadBytes = payloadBytesOf(payload)
  const proofBytes = proof === undefined ? undefined : proof instanceof Uint8Array ? proof : proof.bytes
  return envelopeBytes(payloadBytes, await signPayload(key, payloadBytes), proofBytes)
}

/** Like forgeEnvelope, in the compact string form. */
export async function forgeToken(key: PrivateKey, payload: ForgedPayload, proof?: CapabilityToken | Uint8Array): Promise<string> {
  return compact(await forgeEnvelope(key, payload, proof))
}

/** Like forgeToken, decoded. */
export async function forgeDecoded(key: PrivateKey, payload: ForgedPayload, proof?: CapabilityToken): Promise<CapabilityToken> {
  return decodeToken(await forgeToken(key, payload, proof))
}

export function compact(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return TOKEN_PREFIX + btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

export function fromHex(text: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(text)) throw new Error(`not hex: ${text.slice(0, 20)}`)
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16))
}
