// Capability tokens, shaped after UCAN 1.0: issuer, audience, subject, command, policy, not-before, expiry and
// nonce, signed by the issuer's libp2p Ed25519 key over canonical CBOR. A token carries the chain of proofs it was
// delegated under, so a peer can verify it alone: every link is signed, each issuer was the audience of its
// proof, each link only narrows what its proof grants, and the chain ends at a root key the verifier trusts.
//
// Compact form (CLI, URLs): `nnt1.` + base64url(CBOR envelope).

import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { sha256 } from '@noble/hashes/sha2.js'
import { decode, encode } from 'cborg'
import * as v from 'valibot'
import { NoodleError, type NoodleErrorCode } from '../errors.js'
import { CUSTOM_KERNELS } from '../scheduler/candidates.js'
import { levelRank, SECURITY_LEVELS, type SecurityLevel } from './levels.js'

export const TOKEN_PREFIX = 'nnt1.'
/** Signatures are over this prefix plus the payload, so a token signature can never be replayed as another
 *  kind of signature made with the same key (gossip, noise). */
const SIGNATURE_DOMAIN = new TextEncoder().encode('noodlenet/capability/v1\n')
/** Longest delegation chain accepted: bounds verification work per request. */
export const MAX_CHAIN_DEPTH = 8
/** Largest compact token accepted (characters). A depth-8 chain is about 3 KiB. */
export const MAX_TOKEN_LENGTH = 16 * 1024

/** The token codes, as listed once in errors.ts. */
export type CapabilityCode = Extract<NoodleErrorCode, `CAPABILITY_${string}`>

const text = (max: number) => v.pipe(v.string(), v.maxLength(max))
const seconds = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 40))

/** Conditions a token puts on what it grants. Absent means "no limit" (within the proof's limits). */
export const CapabilityPolicySchema = v.strictObject({
  /** Kernels allowed; absent = any kernel except those that run code the caller sends (see kernelsCover). */
  kernels: v.optional(v.pipe(v.array(text(128)), v.maxLength(256))),
  /** Highest security level granted. */
  level: v.picklist(SECURITY_LEVELS),
  maxCost: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER))),
  resources: v.optional(
    v.strictObject({
      cpu: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1_000_000))),
      memoryMB: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER))),
      gpu: v.optional(v.boolean()),
    }),
  ),
})
export type CapabilityPolicy = v.InferOutput<typeof CapabilityPolicySchema>

export const CapabilityPayloadSchema = v.strictObject({
  v: v.literal(1),
  iss: text(128),
  aud: text(128),
  /** The peer whose resources this governs; null = any peer that trusts the chain's root. */
  sub: v.nullable(text(128)),
  /** A command path: `/task/run`; `/` grants every command. */
  cmd: v.pipe(text(256), v.regex(/^\/([a-z0-9_-]+(\/[a-z0-9_-]+)*)?$/)),
  pol: CapabilityPolicySchema,
  nbf: v.optional(seconds),
  exp: v.nullable(seconds),
  nonce: v.pipe(v.instance(Uint8Array), v.minLength(8), v.maxLength(32)),
})
export type CapabilityPayload = v.InferOutput<typeof CapabilityPayloadSchema>

const EnvelopeSchema = v.strictObject({
  p: v.pipe(v.instance(Uint8Array), v.maxLength(8 * 1024)),
  s: v.pipe(v.instance(Uint8Array), v.length(64)),
  prf: v.optional(v.pipe(v.instance(Uint8Array), v.maxLength(MAX_TOKEN_LENGTH))),
})

/** One decoded link of a chain. `proof` is the token it was delegated under. */
export interface CapabilityToken {
  /** sha256 of payload and signature, hex: what revocations name. */
  readonly id: string
  readonly payload: CapabilityPayload
  readonly payloadBytes: Uint8Array
  readonly signature: Uint8Array
  readonly proof: CapabilityToken | undefined
  /** The envelope as sent, for re-embedding as a proof. */
  readonly bytes: Uint8Array
}

export class CapabilityError extends NoodleError {
  readonly capabilityCode: CapabilityCode
  constructor(code: CapabilityCode, message: string, hint: string) {
    super(code, message, hint)
    this.capabilityCode = code
  }
}

function malformed(why: string): CapabilityError {
  return new CapabilityError('CAPABILITY_MALFORMED', `the capability token is malformed: ${why}`, 'Ask its issuer for a new token.')
}

const DECODE = { strict: true, allowUndefined: false, allowIndefinite: false, rejectDuplicateMapKeys: true, allowBigInt: false } as const

const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

function hex(bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += HEX_BYTES[byte]
  return out
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const BASE64URL_VALUES = new Int8Array(128).fill(-1)
for (let i = 0; i < 64; i++) BASE64URL_VALUES[BASE64URL_ALPHABET.charCodeAt(i)] = i

function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Unpadded base64url with zero trailing bits, so one token has exactly one string form. A table decoder: atob
 *  throws DOMExceptions on bad lengths and cost a tenth of a cold verification. */
function fromBase64url(text: string): Uint8Array {
  if (text.length % 4 === 1) throw malformed('not base64url')
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let buffer = 0
  let bits = 0
  let written = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    const value = code < 128 ? BASE64URL_VALUES[code] : -1
    if (value < 0) throw malformed('not base64url')
    buffer = ((buffer << 6) | value) & 0xfff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[written++] = buffer >> bits
      buffer &= (1 << bits) - 1
    }
  }
  if (buffer !== 0) throw malformed('not base64url (non-zero trailing bits)')
  return out
}

function signedBytes(payloadBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNATURE_DOMAIN.length + payloadBytes.length)
  out.set(SIGNATURE_DOMAIN)
  out.set(payloadBytes, SIGNATURE_DOMAIN.length)
  return out
}

/** Decodes a token envelope and its proofs. Checks shape only; `verifyChain` checks signatures and meaning. */
export function decodeToken(input: string | Uint8Array, depth = 0): CapabilityToken {
  if (depth >= MAX_CHAIN_DEPTH) throw malformed(`the delegation chain is longer than ${MAX_CHAIN_DEPTH}`)
  let bytes: Uint8Array
  if (typeof input === 'string') {
    const trimmed = input.trim()
    if (trimmed.length > MAX_TOKEN_LENGTH) throw malformed(`longer than ${MAX_TOKEN_LENGTH} characters`)
    if (!trimmed.startsWith(TOKEN_PREFIX)) throw malformed(`it does not start with "${TOKEN_PREFIX}"`)
    bytes = fromBase64url(trimmed.slice(TOKEN_PREFIX.length))
  } else {
    bytes = input
  }
  let envelope: v.InferOutput<typeof EnvelopeSchema>
  let payload: CapabilityPayload
  try {
    envelope = v.parse(EnvelopeSchema, decode(bytes, DECODE))
    payload = v.parse(CapabilityPayloadSchema, decode(envelope.p, DECODE))
  } catch (err) {
    if (err instanceof CapabilityError) throw err
    throw malformed(err instanceof v.ValiError ? `field ${v.getDotPath(err.issues[0]) ?? '(root)'}: ${err.message}` : 'not CBOR')
  }
  const proof = envelope.prf === undefined ? undefined : decodeToken(envelope.prf, depth + 1)
  const idBytes = new Uint8Array(envelope.p.length + envelope.s.length)
  idBytes.set(envelope.p)
  idBytes.set(envelope.s, envelope.p.length)
  return { id: hex(sha256(idBytes)), payload, payloadBytes: envelope.p, signature: envelope.s, proof, bytes }
}

export function encodeToken(token: CapabilityToken): string {
  return TOKEN_PREFIX + base64url(token.bytes)
}

export interface IssueOptions {
  /** The issuer's key; its peer id is `iss`. */
  key: PrivateKey
  audience: string
  command: string
  policy: CapabilityPolicy
  /** Defaults to the proof's subject, or null. */
  subject?: string | null
  notBefore?: number
  /** Seconds since the epoch; null = never (discouraged). */
  expires: number | null
  /** The token this one is delegated under; the issuer must be its audience. */
  proof?: CapabilityToken
}

/** Signs a new token. Refuses (CAPABILITY_ESCALATION) to delegate more than the proof grants. */
export async function issueToken(options: IssueOptions): Promise<CapabilityToken> {
  const iss = peerIdFromPublicKeyString(options.key)
  const payload: CapabilityPayload = v.parse(CapabilityPayloadSchema, {
    v: 1,
    iss,
    aud: options.audience,
    sub: options.subject ?? options.proof?.payload.sub ?? null,
    cmd: options.command,
    pol: options.policy,
    nbf: options.notBefore,
    exp: options.expires,
    nonce: crypto.getRandomValues(new Uint8Array(12)),
  })
  if (options.proof !== undefined) {
    if (options.proof.payload.aud !== iss) {
      throw new CapabilityError(
        'CAPABILITY_ESCALATION',
        `the proof was granted to ${options.proof.payload.aud}, not to the issuing key ${iss}`,
        'Delegate with the key the proof names as its audience.',
      )
    }
    const escalation = narrowingViolation(options.proof.payload, payload)
    if (escalation !== undefined)
      throw new CapabilityError(
        'CAPABILITY_ESCALATION',
        `cannot delegate: ${escalation}`,
        'A delegation may only narrow what its proof grants.',
      )
  }
  const payloadBytes = encode(payload, { ignoreUndefinedProperties: true })
  const signature = await options.key.sign(signedBytes(payloadBytes))
  const envelope: Record<string, Uint8Array> = { p: payloadBytes, s: signature }
  if (options.proof !== undefined) envelope.prf = options.proof.bytes
  return decodeToken(encode(envelope))
}

function peerIdFromPublicKeyString(key: PrivateKey): string {
  if (key.type !== 'Ed25519') {
    throw new NoodleError(
      'KEY_INVALID',
      `capability tokens are signed with Ed25519 keys, not ${key.type}`,
      'Use a key made by `noodlenet keygen`.',
    )
  }
  return peerIdFromPrivateKey(key).toString()
}

/** The chain from this token up to its root: [leaf, ..., root]. */
export function chainOf(token: CapabilityToken): CapabilityToken[] {
  const chain: CapabilityToken[] = []
  for (let link: CapabilityToken | undefined = token; link !== undefined; link = link.proof) chain.push(link)
  return chain
}

/** Is `child` command within `parent` command? Path segments: `/task` covers `/task/run`, not `/tasks`. */
export function commandCovers(parent: string, child: string): boolean {
  if (parent === '/') return true
  return child === parent || child.startsWith(`${parent}/`)
}

/** The GPU kernel that runs a WGSL shader the caller sends (packages/webgpu). */
export const WGSL_KERNEL = 'wgsl'

/** Kernels that run code the caller sends: `wgsl` (a shader) and `custom:<sha256>` (a WebAssembly module). A token
 *  grants them only by naming them, never as "any kernel". */
export function runsCallersCode(kernel: string): boolean {
  return kernel === WGSL_KERNEL || kernel.startsWith('custom:')
}

/** Whether a policy's `kernels` grants `kernel` (a kernel name, or another list's entry when narrowing). Absent: any
 *  kernel but those that run the caller's code; `custom:*` grants every custom WebAssembly kernel. */
export function kernelsCover(kernels: readonly string[] | undefined, kernel: string): boolean {
  if (kernels === undefined) return !runsCallersCode(kernel)
  return kernels.includes(kernel) || (kernel.startsWith('custom:') && kernels.includes(CUSTOM_KERNELS))
}

/** What to issue instead, for a kernel that runs the caller's code. */
function namingAdvice(kernel: string): string {
  return kernel.startsWith('custom:')
    ? `issue a token with --kernel ${CUSTOM_KERNELS} (any WebAssembly kernel) or --kernel ${kernel.length > 20 ? `${kernel.slice(0, 20)}…` : kernel}`
    : `issue a token with --kernel ${kernel}`
}

/** Why `child` grants more than `parent`, or undefined when it only narrows. */
export function narrowingViolation(parent: CapabilityPayload, child: CapabilityPayload): string | undefined {
  if (!commandCovers(parent.cmd, child.cmd)) return `command ${child.cmd} is outside ${parent.cmd}`
  if (parent.sub !== null && child.sub !== parent.sub) return `subject ${child.sub ?? 'any'} differs from ${parent.sub}`
  if (levelRank(child.pol.level) > levelRank(parent.pol.level)) return `level ${child.pol.level} is above ${parent.pol.level}`
  if (parent.pol.kernels !== undefined && child.pol.kernels === undefined)
    return `kernels (any) are wider than ${parent.pol.kernels.join(', ')}`
  const extra = child.pol.kernels?.find((kernel) => !kernelsCover(parent.pol.kernels, kernel))
  if (extra !== undefined) {
    return parent.pol.kernels === undefined
      ? `kernel ${extra} runs code the caller sends, which its proof (any kernel) does not grant`
      : `kernel ${extra} is not among ${parent.pol.kernels.join(', ')}`
  }
  if (parent.pol.maxCost !== undefined && (child.pol.maxCost === undefined || child.pol.maxCost > parent.pol.maxCost)) {
    return `max cost ${child.pol.maxCost ?? 'unlimited'} is above ${parent.pol.maxCost}`
  }
  const pr = parent.pol.resources
  const cr = child.pol.resources
  if (pr !== undefined) {
    for (const key of ['cpu', 'memoryMB'] as const) {
      const limit = pr[key]
      if (limit !== undefined && (cr?.[key] === undefined || (cr[key] as number) > limit))
        return `${key} ${cr?.[key] ?? 'unlimited'} is above ${limit}`
    }
    if (pr.gpu === false && cr?.gpu !== false) return 'GPU use is not granted by the proof'
  }
  if ((child.nbf ?? 0) < (parent.nbf ?? 0)) return `it starts before its proof (${child.nbf ?? 0} < ${parent.nbf})`
  if (parent.exp !== null && (child.exp === null || child.exp > parent.exp))
    return `it outlives its proof (expiry ${child.exp ?? 'never'} > ${parent.exp})`
  return undefined
}

/** What a request asks for; a token must cover all of it. */
export interface CapabilityRequest {
  /** The peer presenting the token: the leaf's audience. */
  requester: string
  /** This node's peer id: the subject, when the chain names one. */
  subject: string
  command: string
  kernel?: string
  level: SecurityLevel
  cost?: number
  resources?: { cpu?: number; memoryMB?: number; gpu?: boolean }
}

export interface VerifyContext {
  trustedRoots: ReadonlySet<string>
  /** Seconds since the epoch. */
  now: number
  /** True when the token id was revoked by `revoker` (an issuer in its chain). */
  isRevoked: (tokenId: string, chain: readonly CapabilityToken[]) => boolean
  cache?: VerifiedChainCache
}

export type VerifyResult = { ok: true; chain: CapabilityToken[] } | { ok: false; code: CapabilityCode; reason: string }

/** Chains whose signatures and delegations were checked; what varies per request (time, revocation, the
 *  request itself, the audience) is still checked every time. */
export class VerifiedChainCache {
  private readonly entries = new Map<string, CapabilityToken[]>()
  constructor(private readonly capacity = 10_000) {}
  get(key: string): CapabilityToken[] | undefined {
    return this.entries.get(key)
  }
  set(key: string, chain: CapabilityToken[]): void {
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as string)
    this.entries.set(key, chain)
  }
  get size(): number {
    return this.entries.size
  }
}

function fail(code: CapabilityCode, reason: string): VerifyResult {
  return { ok: false, code, reason }
}

/** Verifies a token (compact string or decoded) for one request. Never throws: bad tokens are results. */
export async function verifyCapability(
  token: string | CapabilityToken,
  request: CapabilityRequest,
  context: VerifyContext,
): Promise<VerifyResult> {
  // A decoded token is keyed by every link's id: the leaf's id alone does not cover the proofs it carries.
  const cacheKey =
    typeof token === 'string'
      ? token
      : chainOf(token)
          .map((link) => link.id)
          .join('.')
  let chain = context.cache?.get(cacheKey)
  if (chain === undefined) {
    let leaf: CapabilityToken
    try {
      leaf = typeof token === 'string' ? decodeToken(token) : token
    } catch (err) {
      if (err instanceof CapabilityError) return fail(err.capabilityCode, err.message)
      return fail('CAPABILITY_MALFORMED', 'the capability token could not be decoded')
    }
    const structural = await verifyStructure(leaf)
    if (!structural.ok) return structural
    chain = structural.chain
    context.cache?.set(cacheKey, chain)
  }
  return checkRequest(chain, request, context)
}

/** Signatures, issuer/audience links and narrowing: what never changes for a given chain. */
async function verifyStructure(leaf: CapabilityToken): Promise<VerifyResult> {
  const chain = chainOf(leaf)
  for (let i = 0; i < chain.length; i++) {
    const link = chain[i]
    let valid = false
    try {
      const key = peerIdFromString(link.payload.iss).publicKey
      if (key === undefined || key.type !== 'Ed25519')
        return fail('CAPABILITY_BAD_SIGNATURE', `issuer ${link.payload.iss} is not an Ed25519 peer id`)
      valid = await key.verify(signedBytes(link.payloadBytes), link.signature)
    } catch {
      valid = false
    }
    if (!valid)
      return fail(
        'CAPABILITY_BAD_SIGNATURE',
        `the signature of ${i === 0 ? 'the token' : `proof ${i}`} (issuer ${link.payload.iss}) does not verify`,
      )
  }
  // Only signed claims are judged: an altered proof is a forgery (BAD_SIGNATURE), not an escalation.
  for (let i = 0; i < chain.length - 1; i++) {
    const link = chain[i]
    const parent = chain[i + 1]
    if (parent.payload.aud !== link.payload.iss) {
      return fail('CAPABILITY_ESCALATION', `${link.payload.iss} delegated a proof that was granted to ${parent.payload.aud}`)
    }
    const violation = narrowingViolation(parent.payload, link.payload)
    if (violation !== undefined) return fail('CAPABILITY_ESCALATION', `delegation by ${link.payload.iss} widens its proof: ${violation}`)
  }
  return { ok: true, chain }
}

function checkRequest(chain: CapabilityToken[], request: CapabilityRequest, context: VerifyContext): VerifyResult {
  const leaf = chain[0].payload
  const root = chain[chain.length - 1].payload
  if (!context.trustedRoots.has(root.iss))
    return fail('CAPABILITY_UNTRUSTED_ROOT', `the chain ends at ${root.iss}, which this node does not trust`)
  if (leaf.aud !== request.requester)
    return fail('CAPABILITY_WRONG_AUDIENCE', `the token was granted to ${leaf.aud}, not to ${request.requester}`)
  for (const link of chain) {
    const p = link.payload
    if (p.nbf !== undefined && context.now < p.nbf)
      return fail('CAPABILITY_NOT_YET_VALID', `a token in the chain is valid from ${new Date(p.nbf * 1000).toISOString()}`)
    if (p.exp !== null && context.now >= p.exp)
      return fail('CAPABILITY_EXPIRED', `a token in the chain expired at ${new Date(p.exp * 1000).toISOString()}`)
    if (p.sub !== null && p.sub !== request.subject)
      return fail('CAPABILITY_WRONG_AUDIENCE', `the chain governs ${p.sub}, not this node (${request.subject})`)
  }
  for (const link of chain) {
    if (context.isRevoked(link.id, chain)) return fail('CAPABILITY_REVOKED', `token ${link.id.slice(0, 16)}… in the chain was revoked`)
  }
  if (!commandCovers(leaf.cmd, request.command)) return fail('CAPABILITY_MISSING', `the token grants ${leaf.cmd}, not ${request.command}`)
  const kernel = request.kernel
  if (kernel !== undefined && !kernelsCover(leaf.pol.kernels, kernel)) {
    if (leaf.pol.kernels === undefined) {
      return fail(
        'CAPABILITY_MISSING',
        `${kernel} runs code the caller sends, which a token for any kernel does not cover: ${namingAdvice(kernel)}`,
      )
    }
    const advice = runsCallersCode(kernel) ? ` (${namingAdvice(kernel)})` : ''
    return fail('CAPABILITY_MISSING', `the token grants kernels ${leaf.pol.kernels.join(', ')}, not ${kernel}${advice}`)
  }
  if (levelRank(request.level) > levelRank(leaf.pol.level))
    return fail('CAPABILITY_MISSING', `the request is ${request.level}; the token grants up to ${leaf.pol.level}`)
  if (request.cost !== undefined && leaf.pol.maxCost !== undefined && request.cost > leaf.pol.maxCost) {
    return fail('CAPABILITY_MISSING', `the request may cost ${request.cost}; the token allows ${leaf.pol.maxCost}`)
  }
  const limits = leaf.pol.resources
  if (limits !== undefined && request.resources !== undefined) {
    for (const key of ['cpu', 'memoryMB'] as const) {
      const asked = request.resources[key]
      const limit = limits[key]
      if (asked !== undefined && limit !== undefined && asked > limit)
        return fail('CAPABILITY_MISSING', `the request asks ${key} ${asked}; the token allows ${limit}`)
    }
    if (request.resources.gpu === true && limits.gpu === false)
      return fail('CAPABILITY_MISSING', 'the request needs a GPU; the token does not grant one')
  }
  return { ok: true, chain }
}
