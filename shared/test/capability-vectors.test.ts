// The fixed capability-token vectors (vectors/capability-vectors.json): the keys give the peer ids, the tokens decode
// to the listed links and re-sign to the same bytes, and every request gets the declared result, with or without a
// verified-chain cache. Another implementation is compatible when it passes the same file.

import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import {
  type CapabilityCode,
  type CapabilityRequest,
  chainOf,
  decodeToken,
  encodeToken,
  VerifiedChainCache,
  type VerifyResult,
  verifyCapability,
} from '../src/security/capability.js'
import { fromHex, SIGNATURE_DOMAIN, signPayload, toHex } from './capability-forge.js'
import file from './vectors/capability-vectors.json'

interface Vector {
  name: string
  token: string
  trustedRoots: string[]
  revoked: string[]
  now: number
  request: CapabilityRequest
  expect: { ok: true; chain: string[] } | { ok: false; code: CapabilityCode }
}

const vectors = file.vectors as Vector[]
const keys = Object.entries(file.keys).map(([name, key]) => ({ name, ...key, privateKey: privateKeyFromProtobuf(fromHex(key.privateKey)) }))

function outcome(result: VerifyResult): Vector['expect'] {
  return result.ok ? { ok: true, chain: result.chain.map((link) => link.id) } : { ok: false, code: result.code }
}

describe('capability token vectors', () => {
  it('the file states the format this implementation uses', () => {
    expect(file.format.prefix).toBe('nnt1.')
    expect(new TextEncoder().encode(file.format.signatureDomain)).toEqual(SIGNATURE_DOMAIN)
    expect(vectors.length).toBeGreaterThanOrEqual(40)
  })

  it.each(keys)('key $name is the peer id listed', ({ privateKey, peerId }) => {
    expect(privateKey.type).toBe('Ed25519')
    expect(peerIdFromPrivateKey(privateKey).toString()).toBe(peerId)
  })

  it.each(Object.entries(file.tokens))(
    'token %s decodes to the listed links, round-trips, and re-signs to the same bytes',
    async (_name, entry) => {
      const token = decodeToken(entry.token)
      expect(encodeToken(token)).toBe(entry.token)
      const chain = chainOf(token)
      expect(chain).toHaveLength(entry.chain.length)
      for (const [i, link] of chain.entries()) {
        const expected = entry.chain[i]
        expect(link.id).toBe(expected.id)
        expect(toHex(link.payloadBytes)).toBe(expected.payloadHex)
        expect(toHex(link.signature)).toBe(expected.signatureHex)
        expect({ ...link.payload, nbf: link.payload.nbf ?? null, nonce: toHex(link.payload.nonce) }).toEqual({
          v: expected.v,
          iss: expected.iss,
          aud: expected.aud,
          sub: expected.sub,
          cmd: expected.cmd,
          pol: expected.pol,
          nbf: expected.nbf,
          exp: expected.exp,
          nonce: expected.nonce,
        })
        const issuer = keys.find((key) => key.peerId === link.payload.iss)
        expect(issuer, `issuer of link ${i} is among the keys`).toBeDefined()
        expect(toHex(await signPayload(issuer!.privateKey, link.payloadBytes))).toBe(expected.signatureHex)
      }
    },
  )

  it.each(vectors)('$name', async (vector) => {
    const revoked = new Set(vector.revoked)
    const context = { trustedRoots: new Set(vector.trustedRoots), now: vector.now, isRevoked: (id: string) => revoked.has(id) }
    expect(outcome(await verifyCapability(vector.token, vector.request, context))).toEqual(vector.expect)
    // The same answer from a cache, both when it first fills it and when it answers from it.
    const cache = new VerifiedChainCache()
    for (let i = 0; i < 2; i++) {
      expect(outcome(await verifyCapability(vector.token, vector.request, { ...context, cache }))).toEqual(vector.expect)
    }
  })
})
