// Writes capability-vectors.json beside this file: fixed keys, fixed tokens, a fixed `now`, requests and the result
// each must get. Another implementation of NoodleNet capability tokens can check itself against that file alone.
//
//   cd /work/main && node --import tsx shared/test/vectors/generate-capability-vectors.ts
//
// The output is deterministic (keys from fixed seeds, fixed nonces, Ed25519 signs deterministically), so running
// it again rewrites the same file. The expected results are declared here by hand, not computed: before writing,
// the script checks that this implementation agrees with every one and exits 1 where it does not.

import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { generateKeyPairFromSeed, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  type CapabilityCode,
  type CapabilityRequest,
  chainOf,
  decodeToken,
  MAX_CHAIN_DEPTH,
  narrowingViolation,
  verifyCapability,
} from '../../src/security/capability.js'
import { compact, envelopeBytes, type ForgedPayload, forgeEnvelope, payloadBytesOf, signPayload, toHex } from '../capability-forge.js'

const OUT = fileURLToPath(new URL('./capability-vectors.json', import.meta.url))
/** 2026-01-01T00:00:00Z. */
const NOW = 1_767_225_600
const HOUR = 3600

const NAMES = ['alice', 'bob', 'carol', 'dave', 'mallory', 'worker'] as const
type Name = (typeof NAMES)[number]

const keys = {} as Record<Name, PrivateKey>
const ids = {} as Record<Name, string>
for (const [index, name] of NAMES.entries()) {
  keys[name] = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(index + 1))
  ids[name] = peerIdFromPrivateKey(keys[name]).toString()
}

let nonceCounter = 0
/** Fixed, distinct nonces: 12 bytes, the last one counting up. */
function nonce(): Uint8Array {
  const out = new Uint8Array(12).fill(0x6e)
  out[11] = ++nonceCounter
  return out
}

function payload(iss: Name, aud: Name, fields: Omit<ForgedPayload, 'v' | 'iss' | 'aud' | 'nonce'>): ForgedPayload {
  return { v: 1, iss: ids[iss], aud: ids[aud], sub: null, nonce: nonce(), ...fields }
}

/** Envelope bytes signed by `signer` (normally the issuer). */
function sign(signer: Name, fields: ForgedPayload, proof?: Uint8Array): Promise<Uint8Array> {
  return forgeEnvelope(keys[signer], fields, proof)
}

/** A payload re-encoded with `changes`, under the signature the original had. */
async function altered(envelope: Uint8Array, changes: Partial<ForgedPayload>): Promise<Uint8Array> {
  const token = decodeToken(envelope)
  return envelopeBytes(payloadBytesOf({ ...token.payload, ...changes }), token.signature, token.proof?.bytes)
}

// The grants: alice (the trusted root) lets bob run tasks; bob lets carol run them on `worker`; carol lets dave.
const rootPayload = payload('alice', 'bob', {
  cmd: '/task',
  pol: { level: 'CONFIDENTIAL', kernels: ['matmul', 'fft'], maxCost: 100, resources: { cpu: 8, memoryMB: 4096, gpu: false } },
  nbf: NOW - HOUR,
  exp: NOW + 24 * HOUR,
})
const root = await sign('alice', rootPayload)
const delegatedPayload = payload('bob', 'carol', {
  sub: ids.worker,
  cmd: '/task/run',
  pol: { level: 'INTERNAL', kernels: ['matmul'], maxCost: 50, resources: { cpu: 4, memoryMB: 2048, gpu: false } },
  nbf: NOW - HOUR,
  exp: NOW + HOUR,
})
const delegated = await sign('bob', delegatedPayload, root)
const depth3 = await sign(
  'carol',
  payload('carol', 'dave', {
    sub: ids.worker,
    cmd: '/task/run',
    pol: { level: 'PUBLIC', kernels: ['matmul'], maxCost: 10, resources: { cpu: 2, memoryMB: 1024, gpu: false } },
    nbf: NOW - HOUR,
    exp: NOW + 600,
  }),
  delegated,
)
const broad = await sign('alice', payload('alice', 'bob', { cmd: '/', pol: { level: 'CRITICAL' }, exp: null }))
const expired = await sign('bob', { ...delegatedPayload, nonce: nonce(), exp: NOW - 1 }, root)
const notYetValid = await sign('bob', { ...delegatedPayload, nonce: nonce(), nbf: NOW + 60 }, root)
const badSignature = (() => {
  const token = decodeToken(delegated)
  const signature = token.signature.slice()
  signature[10] ^= 0x01
  return envelopeBytes(token.payloadBytes, signature, root)
})()
const alteredPayload = await altered(delegated, { pol: { ...(delegatedPayload.pol as object), level: 'CONFIDENTIAL' } })
const alteredProof = envelopeBytes(
  decodeToken(delegated).payloadBytes,
  decodeToken(delegated).signature,
  await altered(root, { aud: ids.mallory }),
)
const escalationLevel = await sign(
  'bob',
  { ...delegatedPayload, nonce: nonce(), pol: { level: 'SECRET', kernels: ['matmul'], maxCost: 50 } },
  root,
)
const escalationIssuer = await sign('mallory', { ...delegatedPayload, nonce: nonce(), iss: ids.mallory }, root)
const escalationLifetime = await sign('bob', { ...delegatedPayload, nonce: nonce(), exp: NOW + 48 * HOUR }, root)
const escalationCommand = await sign('bob', { ...delegatedPayload, nonce: nonce(), cmd: '/peer' }, root)
const notAPeerId = await sign('alice', { ...rootPayload, nonce: nonce(), iss: 'not-a-peer-id' })
const version2 = await sign('alice', { ...rootPayload, nonce: nonce(), v: 2 })
const unknownField = await sign('alice', { ...rootPayload, nonce: nonce(), admin: true })
let tooDeep: Uint8Array | undefined
for (let i = 0; i <= MAX_CHAIN_DEPTH; i++)
  tooDeep = await sign('alice', payload('alice', 'alice', { cmd: '/task', pol: { level: 'PUBLIC' }, exp: null }), tooDeep)

const delegatedText = compact(delegated)
/** The last character of a token whose length leaves trailing bits, with one of those bits set. */
function withTrailingBit(text: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  if ((text.length - 5) % 4 === 0) throw new Error('no trailing bits in this token; change a nonce length')
  return text.slice(0, -1) + alphabet[alphabet.indexOf(text.at(-1) as string) ^ 1]
}

interface Vector {
  name: string
  token: string
  trustedRoots: string[]
  revoked: string[]
  now: number
  request: CapabilityRequest
  expect: { ok: true; chain: string[] } | { ok: false; code: CapabilityCode }
}

const idsOf = (envelope: Uint8Array): string[] => chainOf(decodeToken(envelope)).map((link) => link.id)
const carolAtWorker: CapabilityRequest = {
  requester: ids.carol,
  subject: ids.worker,
  command: '/task/run',
  kernel: 'matmul',
  level: 'INTERNAL',
  cost: 50,
  resources: { cpu: 4, memoryMB: 2048, gpu: false },
}

function vector(
  name: string,
  token: Uint8Array | string,
  expected: true | CapabilityCode,
  options: { request?: Partial<CapabilityRequest>; trustedRoots?: string[]; revoked?: string[]; now?: number } = {},
): Vector {
  const text = typeof token === 'string' ? token : compact(token)
  return {
    name,
    token: text,
    trustedRoots: options.trustedRoots ?? [ids.alice],
    revoked: options.revoked ?? [],
    now: options.now ?? NOW,
    request: { ...carolAtWorker, ...options.request },
    expect: expected === true ? { ok: true, chain: idsOf(token as Uint8Array) } : { ok: false, code: expected },
  }
}

const vectors: Vector[] = [
  vector('root token, used by its audience', root, true, {
    request: { requester: ids.bob, command: '/task', level: 'CONFIDENTIAL', cost: 100 },
  }),
  vector('depth 2, a request at every limit', delegated, true),
  vector('depth 3', depth3, true, { request: { requester: ids.dave, level: 'PUBLIC', cost: 10, resources: { cpu: 2 } } }),
  vector('a root that never expires and grants every command', broad, true, {
    request: { requester: ids.bob, command: '/peer/info', level: 'CRITICAL', kernel: 'anything', cost: 1e9 },
    now: 4_102_444_800,
  }),
  vector('a command below the grant', delegated, true, { request: { command: '/task/run/batch' } }),
  vector('a command that only shares a prefix', delegated, 'CAPABILITY_MISSING', { request: { command: '/task/runner' } }),
  vector('a command beside the grant', delegated, 'CAPABILITY_MISSING', { request: { command: '/task/cancel' } }),
  vector('a kernel outside the grant', delegated, 'CAPABILITY_MISSING', { request: { kernel: 'fft' } }),
  vector('a level above the grant', delegated, 'CAPABILITY_MISSING', { request: { level: 'CONFIDENTIAL' } }),
  vector('a cost above the grant', delegated, 'CAPABILITY_MISSING', { request: { cost: 51 } }),
  vector('more memory than granted', delegated, 'CAPABILITY_MISSING', { request: { resources: { memoryMB: 2049 } } }),
  vector('a GPU when none is granted', delegated, 'CAPABILITY_MISSING', { request: { resources: { gpu: true } } }),
  vector('presented by a peer it was not granted to', delegated, 'CAPABILITY_WRONG_AUDIENCE', { request: { requester: ids.bob } }),
  vector('used at a node it does not govern', delegated, 'CAPABILITY_WRONG_AUDIENCE', { request: { subject: ids.dave } }),
  vector('trusting only a delegate, not the root', delegated, 'CAPABILITY_UNTRUSTED_ROOT', { trustedRoots: [ids.bob] }),
  vector('the root link revoked', delegated, 'CAPABILITY_REVOKED', { revoked: [idsOf(root)[0]] }),
  vector('the leaf revoked', delegated, 'CAPABILITY_REVOKED', { revoked: [idsOf(delegated)[0]] }),
  vector('expired a second ago', expired, 'CAPABILITY_EXPIRED'),
  vector('at its expiry second', delegated, 'CAPABILITY_EXPIRED', { now: NOW + HOUR }),
  vector('the second before its expiry', delegated, true, { now: NOW + HOUR - 1 }),
  vector('depth 3, at the leaf’s expiry', depth3, 'CAPABILITY_EXPIRED', {
    request: { requester: ids.dave, level: 'PUBLIC', cost: 10, resources: {} },
    now: NOW + 600,
  }),
  vector('not valid for another minute', notYetValid, 'CAPABILITY_NOT_YET_VALID'),
  vector('at its not-before second', notYetValid, true, { now: NOW + 60 }),
  vector('a bit flipped in the signature', badSignature, 'CAPABILITY_BAD_SIGNATURE'),
  vector('the payload altered under its signature', alteredPayload, 'CAPABILITY_BAD_SIGNATURE', { request: { level: 'CONFIDENTIAL' } }),
  vector('the proof re-addressed under its signature', alteredProof, 'CAPABILITY_BAD_SIGNATURE'),
  vector('an issuer that is not a peer id', notAPeerId, 'CAPABILITY_BAD_SIGNATURE', { trustedRoots: ['not-a-peer-id'] }),
  vector('a delegation that raises the level', escalationLevel, 'CAPABILITY_ESCALATION', { request: { level: 'SECRET' } }),
  vector('a delegation by a key the proof was not granted to', escalationIssuer, 'CAPABILITY_ESCALATION'),
  vector('a delegation that outlives its proof', escalationLifetime, 'CAPABILITY_ESCALATION'),
  vector('a delegation of another command', escalationCommand, 'CAPABILITY_ESCALATION', { request: { command: '/peer' } }),
  vector('not a token', 'hello', 'CAPABILITY_MALFORMED'),
  vector('another prefix', delegatedText.replace(/^nnt1\./, 'nnt2.'), 'CAPABILITY_MALFORMED'),
  vector('an empty body', 'nnt1.', 'CAPABILITY_MALFORMED'),
  vector('not base64url', 'nnt1.o2Fw+/==', 'CAPABILITY_MALFORMED'),
  vector('an impossible base64url length', 'nnt1.o', 'CAPABILITY_MALFORMED'),
  vector('truncated', delegatedText.slice(0, -4), 'CAPABILITY_MALFORMED'),
  vector('non-zero trailing bits', withTrailingBit(delegatedText), 'CAPABILITY_MALFORMED'),
  vector('payload version 2', version2, 'CAPABILITY_MALFORMED'),
  vector('an unknown payload field', unknownField, 'CAPABILITY_MALFORMED'),
  vector(`a chain deeper than ${MAX_CHAIN_DEPTH}`, tooDeep as Uint8Array, 'CAPABILITY_MALFORMED'),
]

/** Decoding vectors: each link as JSON, leaf first; times in seconds since the epoch, nonce and ids in hex. */
function describeChain(envelope: Uint8Array) {
  return chainOf(decodeToken(envelope)).map((link) => ({
    id: link.id,
    payloadHex: toHex(link.payloadBytes),
    signatureHex: toHex(link.signature),
    ...link.payload,
    nbf: link.payload.nbf ?? null,
    nonce: toHex(link.payload.nonce),
  }))
}

const tokens = { root, delegated, depth3, broad }

// Check before writing: every valid link narrows its proof, and this implementation gives every declared result.
for (const [name, envelope] of Object.entries(tokens)) {
  const chain = chainOf(decodeToken(envelope))
  for (let i = 0; i + 1 < chain.length; i++) {
    const violation = narrowingViolation(chain[i + 1].payload, chain[i].payload)
    if (violation !== undefined) throw new Error(`token ${name} link ${i} widens its proof: ${violation}`)
  }
  for (const link of chain) {
    const signer = NAMES.find((n) => ids[n] === link.payload.iss) as Name
    if (toHex(await signPayload(keys[signer], link.payloadBytes)) !== toHex(link.signature)) throw new Error(`${name}: not deterministic`)
  }
}
let disagreements = 0
for (const v of vectors) {
  const revoked = new Set(v.revoked)
  const result = await verifyCapability(v.token, v.request, {
    trustedRoots: new Set(v.trustedRoots),
    now: v.now,
    isRevoked: (id) => revoked.has(id),
  })
  const got = result.ok ? { ok: true, chain: result.chain.map((link) => link.id) } : { ok: false, code: result.code }
  if (JSON.stringify(got) !== JSON.stringify(v.expect)) {
    disagreements++
    process.stderr.write(`vector "${v.name}": expected ${JSON.stringify(v.expect)}, got ${JSON.stringify(got)}\n`)
  }
}
if (disagreements > 0) {
  process.stderr.write(`${disagreements} vector(s) disagree with this implementation; nothing written.\n`)
  process.exit(1)
}

const file = {
  $comment:
    'NoodleNet capability token test vectors. Generated by shared/test/vectors/generate-capability-vectors.ts; checked by shared/test/capability-vectors.test.ts. Format: docs/SECURITY.md#capability-tokens.',
  format: {
    prefix: 'nnt1.',
    encoding:
      'base64url without padding, zero trailing bits, of the CBOR envelope {p: payload bytes, s: 64-byte Ed25519 signature, prf?: proof envelope}',
    signatureDomain: 'noodlenet/capability/v1\n',
    signedBytes: 'signatureDomain (UTF-8) followed by p',
    id: 'hex sha256 of p followed by s',
    maxChainDepth: MAX_CHAIN_DEPTH,
  },
  now: NOW,
  keys: Object.fromEntries(NAMES.map((name) => [name, { privateKey: toHex(privateKeyToProtobuf(keys[name])), peerId: ids[name] }])),
  tokens: Object.fromEntries(
    Object.entries(tokens).map(([name, envelope]) => [name, { token: compact(envelope), chain: describeChain(envelope) }]),
  ),
  vectors,
}
await writeFile(OUT, `${JSON.stringify(file, null, 2)}\n`)
process.stdout.write(`wrote ${vectors.length} vectors and ${Object.keys(tokens).length} decoding vectors to ${OUT}\n`)
