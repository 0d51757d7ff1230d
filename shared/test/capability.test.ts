// Capability tokens as a specification: a delegation chain never grants more than its root, every kind of bad token
// is refused with its own code, bytes from the network never make the verifier throw, and the verified-chain cache
// never changes an answer. Property-based with bounded runs; runs in Node and in headless Chromium alike.

import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { encode } from 'cborg'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  type CapabilityCode,
  CapabilityError,
  type CapabilityPayload,
  type CapabilityPolicy,
  type CapabilityRequest,
  type CapabilityToken,
  chainOf,
  decodeToken,
  encodeToken,
  issueToken,
  MAX_CHAIN_DEPTH,
  MAX_TOKEN_LENGTH,
  VerifiedChainCache,
  type VerifyContext,
  type VerifyResult,
  verifyCapability,
} from '../src/security/capability.js'
import { levelRank, SECURITY_LEVELS } from '../src/security/levels.js'
import {
  compact,
  envelopeBytes,
  type ForgedPayload,
  forgeEnvelope,
  forgeToken,
  payloadBytesOf,
  signPayload,
  toHex,
} from './capability-forge.js'

/** A fixed "now" (2027-01-15): every time in these tests is relative to it. */
const T0 = 1_800_000_000
const KERNELS = ['matmul', 'conv2d', 'fft', 'sort']
/** Includes `/tasks`, which shares a prefix with `/task` but is not below it. */
const COMMANDS = ['/', '/task', '/task/run', '/task/cancel', '/peer', '/peer/info', '/tasks']
const CODES: CapabilityCode[] = [
  'CAPABILITY_MISSING',
  'CAPABILITY_MALFORMED',
  'CAPABILITY_EXPIRED',
  'CAPABILITY_NOT_YET_VALID',
  'CAPABILITY_WRONG_AUDIENCE',
  'CAPABILITY_BAD_SIGNATURE',
  'CAPABILITY_REVOKED',
  'CAPABILITY_ESCALATION',
  'CAPABILITY_UNTRUSTED_ROOT',
]

interface Principal {
  key: PrivateKey
  id: string
}

/** Ed25519 key generation is slow in the browser, so every test draws from one pool made up front. */
let principals: Principal[]
beforeAll(async () => {
  const keys = await Promise.all(Array.from({ length: 8 }, () => generateKeyPair('Ed25519')))
  principals = keys.map((key) => ({ key, id: peerIdFromPrivateKey(key).toString() }))
}, 60_000)

/** Random choices inside a property, shrinkable through fast-check's `gen`. */
class Draw {
  constructor(private readonly g: fc.GeneratorValue) {}
  int(min: number, max: number): number {
    return this.g(fc.integer, { min, max })
  }
  bool(): boolean {
    return this.g(fc.boolean)
  }
  pick<T>(values: readonly T[]): T {
    return values[this.int(0, values.length - 1)]
  }
  subset<T>(values: readonly T[]): T[] {
    return values.filter(() => this.bool())
  }
  maybe<T>(make: () => T): T | undefined {
    return this.bool() ? make() : undefined
  }
}

/** What one link grants: the payload fields its issuer chooses. */
interface Grant {
  cmd: string
  sub: string | null
  pol: CapabilityPolicy
  nbf?: number
  exp: number | null
}
type Resources = NonNullable<CapabilityPolicy['resources']>

/** The test's own reading of command paths (not the module's): `/a` covers `/a` and `/a/...`; `/` covers all. */
function within(parent: string, child: string): boolean {
  return parent === '/' || child === parent || child.startsWith(`${parent}/`)
}

function randomGrant(draw: Draw): Grant {
  const pol: CapabilityPolicy = { level: draw.pick(SECURITY_LEVELS) }
  if (draw.bool()) pol.kernels = draw.subset(KERNELS)
  if (draw.bool()) pol.maxCost = draw.int(0, 1000)
  if (draw.bool()) {
    const resources: Resources = {}
    if (draw.bool()) resources.cpu = draw.int(0, 64)
    if (draw.bool()) resources.memoryMB = draw.int(0, 65_536)
    if (draw.bool()) resources.gpu = draw.bool()
    pol.resources = resources
  }
  return {
    cmd: draw.pick(COMMANDS),
    sub: draw.bool() ? draw.pick(principals).id : null,
    pol,
    nbf: draw.maybe(() => T0 + draw.int(-1000, 1000)),
    exp: draw.bool() ? null : T0 + draw.int(1, 100_000),
  }
}

/** A grant that is within `parent` by construction, in every aspect. */
function narrowGrant(draw: Draw, parent: CapabilityPayload): Grant {
  const p = parent.pol
  const pol: CapabilityPolicy = { level: draw.pick(SECURITY_LEVELS.slice(0, levelRank(p.level) + 1)) }
  if (p.kernels !== undefined) pol.kernels = draw.subset(p.kernels)
  else if (draw.bool()) pol.kernels = draw.subset(KERNELS)
  if (p.maxCost !== undefined) pol.maxCost = draw.int(0, p.maxCost)
  else if (draw.bool()) pol.maxCost = draw.int(0, 1000)
  if (p.resources !== undefined || draw.bool()) {
    const limits = p.resources ?? {}
    const resources: Resources = {}
    for (const key of ['cpu', 'memoryMB'] as const) {
      const limit = limits[key]
      if (limit !== undefined) resources[key] = draw.int(0, limit)
      else if (draw.bool()) resources[key] = draw.int(0, 64)
    }
    if (limits.gpu === false) resources.gpu = false
    else if (draw.bool()) resources.gpu = draw.bool()
    pol.resources = resources
  }
  const below = [parent.cmd, ...COMMANDS.filter((cmd) => within(parent.cmd, cmd)), parent.cmd === '/' ? '/task' : `${parent.cmd}/sub`]
  return {
    cmd: draw.pick(below),
    sub: parent.sub ?? (draw.bool() ? draw.pick(principals).id : null),
    pol,
    nbf: parent.nbf === undefined ? draw.maybe(() => T0 + draw.int(-1000, 1000)) : parent.nbf + draw.int(0, 500),
    exp: parent.exp === null ? (draw.bool() ? null : T0 + draw.int(1, 100_000)) : parent.exp - draw.int(0, 500),
  }
}

type Widening = 'issuer' | 'command' | 'subject' | 'level' | 'kernels' | 'maxCost' | 'cpu' | 'memoryMB' | 'gpu' | 'nbf' | 'exp'

/** The ways a delegation of `parent` could grant more than it. `issuer`: delegated by a key it was not granted to. */
function wideningsOf(parent: CapabilityPayload): Widening[] {
  const out: Widening[] = ['issuer']
  if (parent.cmd !== '/') out.push('command')
  if (parent.sub !== null) out.push('subject')
  if (parent.pol.level !== 'CRITICAL') out.push('level')
  if (parent.pol.kernels !== undefined) out.push('kernels')
  if (parent.pol.maxCost !== undefined) out.push('maxCost')
  if (parent.pol.resources?.cpu !== undefined) out.push('cpu')
  if (parent.pol.resources?.memoryMB !== undefined) out.push('memoryMB')
  if (parent.pol.resources?.gpu === false) out.push('gpu')
  if ((parent.nbf ?? 0) > 0) out.push('nbf')
  if (parent.exp !== null) out.push('exp')
  return out
}

/** A grant within `parent` in every aspect but `aspect`, where it asks for more. */
function widenGrant(draw: Draw, parent: CapabilityPayload, aspect: Widening): Grant {
  const grant = narrowGrant(draw, parent)
  const pol = grant.pol
  const resources: Resources = { ...pol.resources }
  switch (aspect) {
    case 'issuer':
      break
    case 'command':
      grant.cmd = draw.pick([...COMMANDS.filter((cmd) => !within(parent.cmd, cmd)), `${parent.cmd}s`])
      break
    case 'subject':
      grant.sub = draw.pick(principals.filter((p) => p.id !== parent.sub)).id
      break
    case 'level':
      pol.level = draw.pick(SECURITY_LEVELS.slice(levelRank(parent.pol.level) + 1))
      break
    case 'kernels':
      if (draw.bool()) delete pol.kernels
      else pol.kernels = [...(pol.kernels ?? []), draw.pick([...KERNELS.filter((k) => !parent.pol.kernels?.includes(k)), 'miner'])]
      break
    case 'maxCost':
      if (draw.bool()) delete pol.maxCost
      else pol.maxCost = (parent.pol.maxCost ?? 0) + draw.int(1, 1000)
      break
    case 'cpu':
    case 'memoryMB':
      if (draw.bool()) delete resources[aspect]
      else resources[aspect] = (parent.pol.resources?.[aspect] ?? 0) + draw.int(1, 1000)
      pol.resources = resources
      break
    case 'gpu':
      if (draw.bool()) delete resources.gpu
      else resources.gpu = true
      pol.resources = resources
      break
    case 'nbf':
      grant.nbf = draw.bool() ? undefined : (parent.nbf ?? 0) - draw.int(1, 500)
      break
    case 'exp':
      grant.exp = draw.bool() ? null : (parent.exp ?? 0) + draw.int(1, 500)
      break
  }
  return grant
}

function issueGrant(from: Principal, audience: string, grant: Grant, proof?: CapabilityToken): Promise<CapabilityToken> {
  return issueToken({
    key: from.key,
    audience,
    command: grant.cmd,
    policy: grant.pol,
    subject: grant.sub,
    notBefore: grant.nbf,
    expires: grant.exp,
    proof,
  })
}

function payloadOf(from: Principal, audience: string, grant: Grant): ForgedPayload {
  return { v: 1, iss: from.id, aud: audience, ...grant, nonce: crypto.getRandomValues(new Uint8Array(12)) }
}

/** Signs a grant without any of issueToken's checks. */
async function forgeGrant(from: Principal, audience: string, grant: Grant, proof?: CapabilityToken): Promise<CapabilityToken> {
  return decodeToken(await forgeToken(from.key, payloadOf(from, audience, grant), proof))
}

/** A request drawn near what `leaf` grants (so that some are accepted), and a time near its validity. */
function drawRequest(draw: Draw, leaf: CapabilityPayload): { request: CapabilityRequest; now: number } {
  const request: CapabilityRequest = {
    requester: draw.bool() ? leaf.aud : draw.pick(principals).id,
    subject: leaf.sub !== null && draw.bool() ? leaf.sub : draw.pick(principals).id,
    command: draw.pick([leaf.cmd, leaf.cmd === '/' ? '/task' : `${leaf.cmd}/run`, ...COMMANDS]),
    kernel: draw.maybe(() => draw.pick([...(leaf.pol.kernels ?? []), ...KERNELS])),
    level: draw.pick(SECURITY_LEVELS),
    cost: draw.maybe(() => draw.int(0, 1200)),
    resources: draw.maybe(() => ({
      cpu: draw.maybe(() => draw.int(0, 80)),
      memoryMB: draw.maybe(() => draw.int(0, 70_000)),
      gpu: draw.maybe(() => draw.bool()),
    })),
  }
  const from = leaf.nbf ?? T0 - 1500
  const until = leaf.exp ?? T0 + 101_000
  const now = from < until && draw.bool() ? draw.int(from, until - 1) : T0 + draw.int(-1500, 101_000)
  return { request, now }
}

function trusting(root: string, extra: Partial<VerifyContext> = {}): VerifyContext {
  return { trustedRoots: new Set([root]), now: T0, isRevoked: () => false, ...extra }
}

function outcome(result: VerifyResult): { ok: true; chain: string[] } | { ok: false; code: CapabilityCode } {
  return result.ok ? { ok: true, chain: result.chain.map((link) => link.id) } : { ok: false, code: result.code }
}

/** The chain's envelope bytes with link `index` (0 = leaf) replaced by `replace(link)`'s payload and signature.
 *  Links above it are re-wrapped with their own payload and signature: the envelope does not sign its proof. */
function rebuild(token: CapabilityToken, index: number, replace: (link: CapabilityToken) => { p: Uint8Array; s: Uint8Array }): Uint8Array {
  const chain = chainOf(token)
  let proof: Uint8Array | undefined = chain[index].proof?.bytes
  for (let i = index; i >= 0; i--) {
    const { p, s } = i === index ? replace(chain[i]) : { p: chain[i].payloadBytes, s: chain[i].signature }
    proof = envelopeBytes(p, s, proof)
  }
  return proof as Uint8Array
}

function flipBit(bytes: Uint8Array, index: number, bit: number): Uint8Array {
  const out = bytes.slice()
  out[index % out.length] ^= 1 << bit
  return out
}

/** alice → bob → carol: carol may run matmul or fft tasks up to CONFIDENTIAL, for an hour from T0. */
const GRANT: Grant = {
  cmd: '/task',
  sub: null,
  pol: { level: 'CONFIDENTIAL', kernels: ['matmul', 'fft'], maxCost: 100, resources: { cpu: 8, memoryMB: 4096, gpu: false } },
  exp: T0 + 3600,
}

async function aliceBobCarol(leafGrant: Partial<Grant> = {}) {
  const [alice, bob, carol] = principals
  const root = await issueGrant(alice, bob.id, GRANT)
  const leaf = await issueGrant(bob, carol.id, { ...GRANT, cmd: '/task/run', ...leafGrant }, root)
  return { alice, bob, carol, root, leaf }
}

function requestBy(requester: string, extra: Partial<CapabilityRequest> = {}): CapabilityRequest {
  return { requester, subject: principals[7].id, command: '/task/run', kernel: 'matmul', level: 'INTERNAL', cost: 10, ...extra }
}

describe('a delegation chain never grants more than its root', () => {
  it('issueToken delegates what narrows its proof and refuses every widening with CAPABILITY_ESCALATION', async () => {
    let refused = 0
    let accepted = 0
    await fc.assert(
      fc.asyncProperty(fc.gen(), fc.integer({ min: 1, max: 4 }), async (g, depth) => {
        const draw = new Draw(g)
        const holders = Array.from({ length: depth + 1 }, () => draw.pick(principals))
        let token = await issueGrant(holders[0], holders[1].id, randomGrant(draw))
        for (let i = 1; i < depth; i++) {
          if (draw.bool()) {
            const aspect = draw.pick(wideningsOf(token.payload))
            const parent = token.payload
            const from = aspect === 'issuer' ? draw.pick(principals.filter((p) => p.id !== parent.aud)) : holders[i]
            await expect(issueGrant(from, holders[i + 1].id, widenGrant(draw, parent, aspect), token)).rejects.toMatchObject({
              code: 'CAPABILITY_ESCALATION',
            })
            refused++
          }
          token = await issueGrant(holders[i], holders[i + 1].id, narrowGrant(draw, token.payload), token)
        }
        const chain = chainOf(token)
        expect(chain).toHaveLength(depth)
        for (let r = 0; r < 4; r++) {
          const { request, now } = drawRequest(draw, token.payload)
          const context = trusting(holders[0].id, { now })
          if (!(await verifyCapability(token, request, context)).ok) continue
          accepted++
          // Every link up to the root, presented alone by its own audience, accepts the same request.
          for (const link of chain) {
            expect(await verifyCapability(link, { ...request, requester: link.payload.aud }, context)).toMatchObject({ ok: true })
          }
        }
      }),
      { numRuns: 60 },
    )
    // The property is only worth something if both branches ran.
    expect(refused).toBeGreaterThan(0)
    expect(accepted).toBeGreaterThan(0)
  })

  it('a hand-forged chain that widens at any link is refused by verifyCapability with CAPABILITY_ESCALATION', async () => {
    await fc.assert(
      fc.asyncProperty(fc.gen(), fc.integer({ min: 2, max: 4 }), async (g, depth) => {
        const draw = new Draw(g)
        const holders = Array.from({ length: depth + 1 }, () => draw.pick(principals))
        const forgedAt = draw.int(1, depth - 1)
        let token = await issueGrant(holders[0], holders[1].id, randomGrant(draw))
        for (let i = 1; i < depth; i++) {
          if (i === forgedAt) {
            const parent = token.payload
            const aspect = draw.pick(wideningsOf(parent))
            const from = aspect === 'issuer' ? draw.pick(principals.filter((p) => p.id !== parent.aud)) : holders[i]
            token = await forgeGrant(from, holders[i + 1].id, widenGrant(draw, parent, aspect), token)
          } else {
            token = await issueGrant(holders[i], holders[i + 1].id, narrowGrant(draw, token.payload), token)
          }
        }
        const { request, now } = drawRequest(draw, token.payload)
        const result = await verifyCapability(draw.bool() ? encodeToken(token) : token, request, trusting(holders[0].id, { now }))
        expect(outcome(result)).toEqual({ ok: false, code: 'CAPABILITY_ESCALATION' })
      }),
      { numRuns: 60 },
    )
  })

  it('a delegate cannot raise the level it was given, even by signing the wider token itself', async () => {
    const { alice, bob, carol, root } = await aliceBobCarol()
    await expect(issueGrant(bob, carol.id, { ...GRANT, pol: { ...GRANT.pol, level: 'SECRET' } }, root)).rejects.toMatchObject({
      code: 'CAPABILITY_ESCALATION',
      message: expect.stringMatching(/level SECRET is above CONFIDENTIAL/),
    })
    const forged = await forgeGrant(bob, carol.id, { ...GRANT, pol: { ...GRANT.pol, level: 'SECRET' } }, root)
    const result = await verifyCapability(forged, requestBy(carol.id, { level: 'SECRET' }), trusting(alice.id))
    expect(result).toMatchObject({ ok: false, code: 'CAPABILITY_ESCALATION', reason: expect.stringMatching(/level SECRET/) })
  })
})

describe('kernels that run code the caller sends (wgsl, custom:<sha256>) need a token that names them', () => {
  const WASM = `custom:${'ab'.repeat(32)}`
  const OTHER_WASM = `custom:${'cd'.repeat(32)}`
  const withKernels = (kernels: string[] | undefined): Grant => ({ ...GRANT, pol: { ...GRANT.pol, kernels } })
  /** The outcome code per kernel asked for, `ok` when granted, for `token` presented by carol. */
  async function answers(token: CapabilityToken, kernels: string[]): Promise<Record<string, string>> {
    const [alice, , carol] = principals
    const out: Record<string, string> = {}
    for (const kernel of kernels) {
      const result = await verifyCapability(token, requestBy(carol.id, { kernel }), trusting(alice.id))
      out[kernel] = result.ok ? 'ok' : result.code
    }
    return out
  }

  it('a token for any kernel grants the built-in kernels, not wgsl or a custom one, and says what to issue instead', async () => {
    const [alice, , carol] = principals
    const any = await issueGrant(alice, carol.id, withKernels(undefined))
    expect(await answers(any, ['matmul', 'wgsl', WASM])).toEqual({ matmul: 'ok', wgsl: 'CAPABILITY_MISSING', [WASM]: 'CAPABILITY_MISSING' })
    expect(await verifyCapability(any, requestBy(carol.id, { kernel: 'wgsl' }), trusting(alice.id))).toMatchObject({
      reason: 'wgsl runs code the caller sends, which a token for any kernel does not cover: issue a token with --kernel wgsl',
    })
    expect(await verifyCapability(any, requestBy(carol.id, { kernel: WASM }), trusting(alice.id))).toMatchObject({
      reason: expect.stringMatching(/issue a token with --kernel custom:\* \(any WebAssembly kernel\) or --kernel custom:abab/),
    })
  })

  it('wgsl is granted by naming it; custom:* grants every custom kernel, custom:<sha256> only that one', async () => {
    const [alice, , carol] = principals
    const kernels = ['matmul', 'wgsl', WASM, OTHER_WASM]
    expect(await answers(await issueGrant(alice, carol.id, withKernels(['wgsl'])), kernels)).toEqual({
      matmul: 'CAPABILITY_MISSING',
      wgsl: 'ok',
      [WASM]: 'CAPABILITY_MISSING',
      [OTHER_WASM]: 'CAPABILITY_MISSING',
    })
    expect(await answers(await issueGrant(alice, carol.id, withKernels(['matmul', 'custom:*'])), kernels)).toEqual({
      matmul: 'ok',
      wgsl: 'CAPABILITY_MISSING',
      [WASM]: 'ok',
      [OTHER_WASM]: 'ok',
    })
    expect(await answers(await issueGrant(alice, carol.id, withKernels([WASM])), kernels)).toEqual({
      matmul: 'CAPABILITY_MISSING',
      wgsl: 'CAPABILITY_MISSING',
      [WASM]: 'ok',
      [OTHER_WASM]: 'CAPABILITY_MISSING',
    })
  })

  it('delegation: "any kernel" does not narrow to wgsl or custom:*, custom:* narrows to one custom kernel and not back', async () => {
    const [alice, bob, carol] = principals
    const leafOf = (kernels: string[] | undefined): Grant => ({ ...withKernels(kernels), cmd: '/task/run' })
    const anyKernel = await issueGrant(alice, bob.id, withKernels(undefined))
    for (const kernels of [['wgsl'], ['custom:*'], [WASM]]) {
      await expect(issueGrant(bob, carol.id, leafOf(kernels), anyKernel)).rejects.toMatchObject({
        code: 'CAPABILITY_ESCALATION',
        message: expect.stringMatching(/runs code the caller sends, which its proof \(any kernel\) does not grant/),
      })
      // Signed anyway, the chain is refused where it is verified.
      const forged = await forgeGrant(bob, carol.id, leafOf(kernels), anyKernel)
      expect(await answers(forged, [kernels[0] === 'custom:*' ? WASM : kernels[0]])).toEqual({
        [kernels[0] === 'custom:*' ? WASM : kernels[0]]: 'CAPABILITY_ESCALATION',
      })
    }
    const anyWasm = await issueGrant(alice, bob.id, withKernels(['custom:*', 'wgsl']))
    const oneWasm = await issueGrant(bob, carol.id, leafOf([WASM]), anyWasm)
    expect(await answers(oneWasm, [WASM, OTHER_WASM, 'wgsl'])).toEqual({
      [WASM]: 'ok',
      [OTHER_WASM]: 'CAPABILITY_MISSING',
      wgsl: 'CAPABILITY_MISSING',
    })
    const onlyOne = await issueGrant(alice, bob.id, withKernels([WASM]))
    await expect(issueGrant(bob, carol.id, leafOf(['custom:*']), onlyOne)).rejects.toMatchObject({ code: 'CAPABILITY_ESCALATION' })
    await expect(issueGrant(bob, carol.id, leafOf(undefined), anyWasm)).rejects.toMatchObject({ code: 'CAPABILITY_ESCALATION' })
  })
})

describe('each kind of bad token is refused with its own code', () => {
  it('a good chain is accepted, and returns its links leaf first', async () => {
    const { alice, carol, root, leaf } = await aliceBobCarol()
    expect(outcome(await verifyCapability(encodeToken(leaf), requestBy(carol.id), trusting(alice.id)))).toEqual({
      ok: true,
      chain: [leaf.id, root.id],
    })
  })

  it('expired: from its expiry second on (CAPABILITY_EXPIRED)', async () => {
    const { alice, carol, leaf } = await aliceBobCarol({ exp: T0 + 60 })
    expect(await verifyCapability(leaf, requestBy(carol.id), trusting(alice.id, { now: T0 + 59 }))).toMatchObject({ ok: true })
    expect(await verifyCapability(leaf, requestBy(carol.id), trusting(alice.id, { now: T0 + 60 }))).toMatchObject({
      ok: false,
      code: 'CAPABILITY_EXPIRED',
    })
  })

  it('a proof that expired expires the chain (CAPABILITY_EXPIRED)', async () => {
    const { alice, carol, leaf } = await aliceBobCarol()
    expect(await verifyCapability(leaf, requestBy(carol.id), trusting(alice.id, { now: T0 + 3600 }))).toMatchObject({
      code: 'CAPABILITY_EXPIRED',
    })
  })

  it('not yet valid: before its not-before second (CAPABILITY_NOT_YET_VALID)', async () => {
    const { alice, carol, leaf } = await aliceBobCarol({ nbf: T0 + 60 })
    expect(await verifyCapability(leaf, requestBy(carol.id), trusting(alice.id, { now: T0 + 59 }))).toMatchObject({
      ok: false,
      code: 'CAPABILITY_NOT_YET_VALID',
    })
    expect(await verifyCapability(leaf, requestBy(carol.id), trusting(alice.id, { now: T0 + 60 }))).toMatchObject({ ok: true })
  })

  it('wrong audience: presented by a peer it was not granted to, or at a node it does not govern (CAPABILITY_WRONG_AUDIENCE)', async () => {
    const { alice, bob, carol, leaf } = await aliceBobCarol({ sub: principals[6].id })
    const context = trusting(alice.id)
    expect(await verifyCapability(leaf, requestBy(carol.id, { subject: principals[6].id }), context)).toMatchObject({ ok: true })
    expect(await verifyCapability(leaf, requestBy(bob.id, { subject: principals[6].id }), context)).toMatchObject({
      code: 'CAPABILITY_WRONG_AUDIENCE',
    })
    expect(await verifyCapability(leaf, requestBy(carol.id, { subject: principals[5].id }), context)).toMatchObject({
      code: 'CAPABILITY_WRONG_AUDIENCE',
    })
  })

  it('forged: any bit flipped in any link’s signature (CAPABILITY_BAD_SIGNATURE)', async () => {
    const { alice, carol, leaf } = await aliceBobCarol()
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1 }), fc.nat(63), fc.nat(7), async (index, byte, bit) => {
        const bytes = rebuild(leaf, index, (link) => ({ p: link.payloadBytes, s: flipBit(link.signature, byte, bit) }))
        const result = await verifyCapability(compact(bytes), requestBy(carol.id), trusting(alice.id))
        expect(outcome(result)).toEqual({ ok: false, code: 'CAPABILITY_BAD_SIGNATURE' })
      }),
      { numRuns: 40 },
    )
  })

  it('altered: any bit flipped in any link’s payload is a bad signature, or malformed where it breaks the CBOR', async () => {
    const { alice, carol, leaf } = await aliceBobCarol()
    const codes = new Set<string>()
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1 }), fc.nat(), fc.nat(7), async (index, byte, bit) => {
        const bytes = rebuild(leaf, index, (link) => ({ p: flipBit(link.payloadBytes, byte, bit), s: link.signature }))
        const result = outcome(await verifyCapability(compact(bytes), requestBy(carol.id), trusting(alice.id)))
        expect(result.ok).toBe(false)
        if (!result.ok) codes.add(result.code)
        expect(['CAPABILITY_BAD_SIGNATURE', 'CAPABILITY_MALFORMED']).toContain(result.ok ? 'ok' : result.code)
      }),
      { numRuns: 80 },
    )
    expect(codes).toContain('CAPABILITY_BAD_SIGNATURE')
  })

  it('altered: a proof whose audience is rewritten is a forgery (BAD_SIGNATURE), not an escalation', async () => {
    const { alice, carol, leaf } = await aliceBobCarol()
    const mallory = principals[5]
    const bytes = rebuild(leaf, 1, (link) => ({ p: payloadBytesOf({ ...link.payload, aud: mallory.id }), s: link.signature }))
    expect(outcome(await verifyCapability(compact(bytes), requestBy(carol.id), trusting(alice.id)))).toEqual({
      ok: false,
      code: 'CAPABILITY_BAD_SIGNATURE',
    })
  })

  it('revoked: revoking any one link of the chain revokes it, and nothing else does (CAPABILITY_REVOKED)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.gen(), fc.integer({ min: 1, max: 4 }), async (g, depth) => {
        const draw = new Draw(g)
        const holders = Array.from({ length: depth + 1 }, () => draw.pick(principals))
        let token = await issueGrant(holders[0], holders[1].id, { ...GRANT, sub: null })
        for (let i = 1; i < depth; i++) token = await issueGrant(holders[i], holders[i + 1].id, GRANT, token)
        const chain = chainOf(token)
        const revoked = draw.pick(chain).id
        const request = requestBy(holders[depth].id)
        const seen: string[] = []
        const context = trusting(holders[0].id, {
          isRevoked: (id, links) => {
            seen.push(id)
            expect(links).toEqual(chain)
            return id === revoked
          },
        })
        expect(outcome(await verifyCapability(token, request, context))).toEqual({ ok: false, code: 'CAPABILITY_REVOKED' })
        expect(seen).toContain(revoked)
        const unrelated = trusting(holders[0].id, { isRevoked: (id) => id === '00'.repeat(32) })
        expect(await verifyCapability(token, request, unrelated)).toMatchObject({ ok: true })
      }),
      { numRuns: 20 },
    )
  })

  it('untrusted root: a chain must end at a trusted root; trusting a delegate is not enough (CAPABILITY_UNTRUSTED_ROOT)', async () => {
    const { bob, carol, leaf } = await aliceBobCarol()
    for (const roots of [[], [bob.id], [carol.id, principals[7].id]]) {
      expect(await verifyCapability(leaf, requestBy(carol.id), { ...trusting(''), trustedRoots: new Set(roots) })).toMatchObject({
        ok: false,
        code: 'CAPABILITY_UNTRUSTED_ROOT',
      })
    }
  })

  it.each<[string, Partial<CapabilityRequest>]>([
    ['a command outside the grant', { command: '/task/cancel' }],
    ['a command that only shares a prefix', { command: '/task/runner' }],
    ['a kernel outside the grant', { kernel: 'conv2d' }],
    ['a level above the grant', { level: 'SECRET' }],
    ['a cost above the grant', { cost: 101 }],
    ['more CPU than granted', { resources: { cpu: 9 } }],
    ['more memory than granted', { resources: { memoryMB: 4097 } }],
    ['a GPU when none is granted', { resources: { gpu: true } }],
  ])('a request for more than the token grants is refused: %s (CAPABILITY_MISSING)', async (_what, extra) => {
    const { alice, carol, leaf } = await aliceBobCarol()
    expect(await verifyCapability(leaf, requestBy(carol.id, extra), trusting(alice.id))).toMatchObject({
      ok: false,
      code: 'CAPABILITY_MISSING',
    })
  })

  it('an issuer that is not an Ed25519 peer id is a bad signature', async () => {
    const [alice, bob] = principals
    const secp = peerIdFromPrivateKey(await generateKeyPair('secp256k1')).toString()
    for (const iss of [secp, 'not-a-peer-id']) {
      const forged = await forgeToken(alice.key, { ...payloadOf(alice, bob.id, GRANT), iss })
      expect(await verifyCapability(forged, requestBy(bob.id, { command: '/task' }), trusting(iss))).toMatchObject({
        ok: false,
        code: 'CAPABILITY_BAD_SIGNATURE',
      })
    }
  })

  it('malformed: anything that is not a token, in string or envelope form (CAPABILITY_MALFORMED)', async () => {
    const [alice, bob] = principals
    const good = payloadOf(alice, bob.id, GRANT)
    const valid = await forgeToken(alice.key, good)
    const signature = new Uint8Array(64)
    // A chain one link longer than the limit: each envelope wraps the one before.
    let deep: Uint8Array | undefined
    for (let i = 0; i <= MAX_CHAIN_DEPTH; i++) deep = await forgeEnvelope(alice.key, { ...good, aud: alice.id }, deep)
    const malformed: Array<[string, string]> = [
      ['empty', ''],
      ['not a token', 'hello'],
      ['another version prefix', valid.replace(/^nnt1\./, 'nnt2.')],
      ['no body', 'nnt1.'],
      ['not base64url', 'nnt1.abc+/def'],
      ['an impossible base64 length', 'nnt1.a'],
      ['truncated', valid.slice(0, -3)],
      ['trailing bytes', compact(Uint8Array.from([...decodeToken(valid).bytes, 0]))],
      ['too long', `nnt1.${'A'.repeat(MAX_TOKEN_LENGTH)}`],
      ['CBOR that is not an envelope', compact(encode(['p', 's']))],
      ['a 63-byte signature', compact(envelopeBytes(payloadBytesOf(good), new Uint8Array(63)))],
      ['an unknown envelope field', compact(encode({ p: payloadBytesOf(good), s: signature, x: 1 }))],
      ['a payload that is not CBOR', compact(envelopeBytes(Uint8Array.from([0xff, 0x00]), signature))],
      ['version 2', compact(envelopeBytes(payloadBytesOf({ ...good, v: 2 }), signature))],
      ['no nonce', compact(envelopeBytes(payloadBytesOf({ ...good, nonce: undefined }), signature))],
      ['a short nonce', compact(envelopeBytes(payloadBytesOf({ ...good, nonce: new Uint8Array(4) }), signature))],
      ['an unknown payload field', compact(envelopeBytes(payloadBytesOf({ ...good, admin: true }), signature))],
      ['an unknown level', compact(envelopeBytes(payloadBytesOf({ ...good, pol: { level: 'TOP' } }), signature))],
      ['a command in capitals', compact(envelopeBytes(payloadBytesOf({ ...good, cmd: '/Task' }), signature))],
      ['a fractional expiry', compact(envelopeBytes(payloadBytesOf({ ...good, exp: T0 + 0.5 }), signature))],
      ['a negative not-before', compact(envelopeBytes(payloadBytesOf({ ...good, nbf: -1 }), signature))],
      ['a proof that is not a token', compact(envelopeBytes(payloadBytesOf(good), signature, Uint8Array.from([1, 2, 3])))],
      [`a chain deeper than ${MAX_CHAIN_DEPTH}`, compact(deep as Uint8Array)],
    ]
    for (const [what, text] of malformed) {
      expect(() => decodeToken(text), what).toThrow(CapabilityError)
      const result = await verifyCapability(text, requestBy(bob.id), trusting(alice.id))
      expect(outcome(result), what).toEqual({ ok: false, code: 'CAPABILITY_MALFORMED' })
    }
    expect(await verifyCapability(valid, requestBy(bob.id, { command: '/task' }), trusting(alice.id))).toMatchObject({ ok: true })
  })
})

describe('bytes from the network', () => {
  const base64urlChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')

  /** What `decode` threw, checked to be a malformed-token CapabilityError; undefined when it returned. */
  function expectDecodedOrMalformed(decode: () => unknown): void {
    try {
      decode()
    } catch (err) {
      expect(err).toBeInstanceOf(CapabilityError)
      expect((err as CapabilityError).capabilityCode).toBe('CAPABILITY_MALFORMED')
    }
  }

  it('random strings: decodeToken throws only CapabilityError, verifyCapability resolves with a refusal', async () => {
    const [alice, bob] = principals
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.string({ unit: base64urlChar, maxLength: 400 }).map((body) => `nnt1.${body}`),
        ),
        async (text) => {
          expectDecodedOrMalformed(() => decodeToken(text))
          const result = await verifyCapability(text, requestBy(bob.id), trusting(alice.id))
          expect(result.ok).toBe(false)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('random bytes and random CBOR: decodeToken throws only CapabilityError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.jsonValue().map((value) => encode(value)),
          fc
            .dictionary(fc.constantFrom('p', 's', 'prf', 'x'), fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.jsonValue()))
            .map((value) => encode(value)),
        ),
        (bytes) => {
          expectDecodedOrMalformed(() => decodeToken(bytes))
          expectDecodedOrMalformed(() => decodeToken(compact(bytes)))
        },
      ),
      { numRuns: 500 },
    )
  })

  it('random payloads under random signatures are refused: malformed or a bad signature', async () => {
    const ids = () => fc.constantFrom(...principals.map((p) => p.id), 'x')
    const payload = fc.record(
      {
        v: fc.constantFrom(1, 2),
        iss: ids(),
        aud: ids(),
        sub: fc.option(ids()),
        cmd: fc.constantFrom(...COMMANDS, 'task', ''),
        pol: fc.record(
          { level: fc.constantFrom(...SECURITY_LEVELS, 'TOP'), kernels: fc.array(fc.string()), maxCost: fc.double() },
          { requiredKeys: [] },
        ),
        nbf: fc.integer(),
        exp: fc.option(fc.integer()),
        nonce: fc.uint8Array({ maxLength: 40 }),
      },
      { requiredKeys: [] },
    )
    await fc.assert(
      fc.asyncProperty(payload, fc.uint8Array({ minLength: 64, maxLength: 64 }), async (fields, signature) => {
        const text = compact(envelopeBytes(payloadBytesOf(fields), signature))
        expectDecodedOrMalformed(() => decodeToken(text))
        const result = outcome(await verifyCapability(text, requestBy(principals[1].id), trusting(principals[0].id)))
        expect(['CAPABILITY_MALFORMED', 'CAPABILITY_BAD_SIGNATURE']).toContain(result.ok ? 'ok' : result.code)
      }),
      { numRuns: 200 },
    )
  })

  it('a mutated token is refused with a capability code, or is still the very same token', async () => {
    const { alice, carol, leaf } = await aliceBobCarol()
    const original = encodeToken(leaf)
    const ids = chainOf(leaf).map((link) => link.id)
    const mutation = fc.oneof(
      fc.tuple(fc.nat(), base64urlChar).map(
        ([at, c]) =>
          (text: string) =>
            text.slice(0, at % text.length) + c + text.slice((at % text.length) + 1),
      ),
      fc.tuple(fc.nat(), fc.string({ maxLength: 3 })).map(
        ([at, s]) =>
          (text: string) =>
            text.slice(0, at % text.length) + s + text.slice(at % text.length),
      ),
      fc.tuple(fc.nat(), fc.integer({ min: 1, max: 8 })).map(
        ([at, n]) =>
          (text: string) =>
            text.slice(0, at % text.length) + text.slice((at % text.length) + n),
      ),
      fc.tuple(fc.nat(), fc.nat(7)).map(
        ([at, bit]) =>
          (_text: string) =>
            compact(flipBit(leaf.bytes, at, bit)),
      ),
    )
    await fc.assert(
      fc.asyncProperty(mutation, async (mutate) => {
        const text = mutate(original)
        expectDecodedOrMalformed(() => decodeToken(text))
        const result = outcome(await verifyCapability(text, requestBy(carol.id), trusting(alice.id)))
        if (result.ok) expect(result.chain).toEqual(ids)
        else expect(CODES).toContain(result.code)
      }),
      { numRuns: 300 },
    )
  })
})

describe('VerifiedChainCache', () => {
  class CountingCache extends VerifiedChainCache {
    hits = 0
    override get(key: string): CapabilityToken[] | undefined {
      const chain = super.get(key)
      if (chain !== undefined) this.hits++
      return chain
    }
  }

  it('a cached chain is still checked for time, revocation, audience, subject, trust and what is asked', async () => {
    const { alice, bob, carol, root, leaf } = await aliceBobCarol({ sub: principals[6].id, nbf: T0 })
    const cache = new CountingCache()
    const text = encodeToken(leaf)
    const context = trusting(alice.id, { cache })
    const request = requestBy(carol.id, { subject: principals[6].id })
    expect(await verifyCapability(text, request, context)).toMatchObject({ ok: true })
    expect(cache.size).toBe(1)
    const refusals: Array<[CapabilityRequest, VerifyContext, CapabilityCode]> = [
      [request, { ...context, now: T0 + 3600 }, 'CAPABILITY_EXPIRED'],
      [request, { ...context, now: T0 - 1 }, 'CAPABILITY_NOT_YET_VALID'],
      [request, { ...context, isRevoked: (id) => id === root.id }, 'CAPABILITY_REVOKED'],
      [{ ...request, requester: bob.id }, context, 'CAPABILITY_WRONG_AUDIENCE'],
      [{ ...request, subject: principals[5].id }, context, 'CAPABILITY_WRONG_AUDIENCE'],
      [request, { ...context, trustedRoots: new Set([bob.id]) }, 'CAPABILITY_UNTRUSTED_ROOT'],
      [{ ...request, command: '/task/cancel' }, context, 'CAPABILITY_MISSING'],
      [{ ...request, kernel: 'conv2d' }, context, 'CAPABILITY_MISSING'],
      [{ ...request, level: 'SECRET' }, context, 'CAPABILITY_MISSING'],
    ]
    for (const [req, ctx, code] of refusals) {
      expect(await verifyCapability(text, req, ctx), code).toMatchObject({ ok: false, code })
    }
    expect(await verifyCapability(text, request, context)).toMatchObject({ ok: true })
    expect(cache.hits).toBe(refusals.length + 1)
    expect(cache.size).toBe(1)
  })

  it('a decoded token is cached under its whole chain: the same leaf over a forged proof is checked afresh', async () => {
    const { alice, carol, root, leaf } = await aliceBobCarol()
    const cache = new VerifiedChainCache()
    const context = trusting(alice.id, { cache })
    expect(await verifyCapability(leaf, requestBy(carol.id), context)).toMatchObject({ ok: true })
    const forgedProof = envelopeBytes(root.payloadBytes, flipBit(root.signature, 0, 0))
    const sameLeaf = decodeToken(envelopeBytes(leaf.payloadBytes, leaf.signature, forgedProof))
    expect(sameLeaf.id).toBe(leaf.id)
    expect(await verifyCapability(sameLeaf, requestBy(carol.id), context)).toMatchObject({ ok: false, code: 'CAPABILITY_BAD_SIGNATURE' })
  })

  it('never changes an answer: with a shared cache or without, the same requests get the same results', async () => {
    const { alice, bob, carol, root, leaf } = await aliceBobCarol()
    const expired = (await aliceBobCarol({ exp: T0 + 10 })).leaf
    const escalated = await forgeGrant(bob, carol.id, { ...GRANT, pol: { ...GRANT.pol, level: 'CRITICAL' } }, root)
    const badSignature = decodeToken(rebuild(leaf, 0, (link) => ({ p: link.payloadBytes, s: flipBit(link.signature, 5, 3) })))
    const tokens = [leaf, root, expired, escalated, badSignature]
    const step = fc.record({
      token: fc.nat(tokens.length - 1),
      asString: fc.boolean(),
      requester: fc.constantFrom(bob.id, carol.id),
      command: fc.constantFrom('/task', '/task/run', '/peer'),
      level: fc.constantFrom(...SECURITY_LEVELS),
      now: fc.integer({ min: T0 - 5, max: T0 + 3605 }),
      revoke: fc.option(fc.nat(1)),
      trustAlice: fc.boolean(),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const cache = new VerifiedChainCache()
        for (const s of steps) {
          const token = tokens[s.token]
          const input = s.asString ? encodeToken(token) : token
          const request = requestBy(s.requester, { command: s.command, level: s.level })
          const revoked = s.revoke === null ? undefined : chainOf(token)[s.revoke]?.id
          const context = trusting(s.trustAlice ? alice.id : bob.id, { now: s.now, isRevoked: (id) => id === revoked })
          const fresh = outcome(await verifyCapability(input, request, context))
          const cached = outcome(await verifyCapability(input, request, { ...context, cache }))
          expect(cached).toEqual(fresh)
        }
      }),
      { numRuns: 25 },
    )
  })

  it('holds at most its capacity, dropping the oldest chain first', async () => {
    const { leaf } = await aliceBobCarol()
    const cache = new VerifiedChainCache(2)
    for (const key of ['a', 'b', 'c']) cache.set(key, [leaf])
    expect(cache.size).toBe(2)
    expect(cache.get('a')).toBeUndefined()
    expect(cache.get('c')).toEqual([leaf])
  })
})

describe('the token format', () => {
  it('the compact form is nnt1. and unpadded base64url of the CBOR envelope, and round-trips exactly', async () => {
    const { leaf } = await aliceBobCarol()
    const text = encodeToken(leaf)
    expect(text).toMatch(/^nnt1\.[A-Za-z0-9_-]+$/)
    expect(text).toBe(compact(leaf.bytes))
    const again = decodeToken(text)
    expect(toHex(again.bytes)).toBe(toHex(leaf.bytes))
    expect(encodeToken(again)).toBe(text)
    expect(decodeToken(` ${text}\n`).id).toBe(leaf.id)
  })

  it('issueToken signs the canonical CBOR of the payload after the domain prefix; the id is sha256(payload ‖ signature)', async () => {
    const { bob, leaf } = await aliceBobCarol()
    // Compared as hex: cborg and node:crypto hand back Buffers in Node, Uint8Arrays in the browser.
    expect(toHex(payloadBytesOf(leaf.payload))).toBe(toHex(leaf.payloadBytes))
    // Ed25519 signatures are deterministic: signing the same bytes again gives the same signature.
    expect(toHex(await signPayload(bob.key, leaf.payloadBytes))).toBe(toHex(leaf.signature))
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', Uint8Array.from([...leaf.payloadBytes, ...leaf.signature])))
    expect(leaf.id).toBe(toHex(digest))
  })

  it('a base64url string with non-zero trailing bits is refused, so a token has exactly one string form', async () => {
    const [alice, bob] = principals
    let checked = 0
    for (const nonceLength of [8, 9, 10]) {
      const text = await forgeToken(alice.key, { ...payloadOf(alice, bob.id, GRANT), nonce: new Uint8Array(nonceLength) })
      if ((text.length - 5) % 4 === 0) continue // no trailing bits in this length
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      const last = alphabet.indexOf(text.at(-1) as string)
      const variant = text.slice(0, -1) + alphabet[last ^ 1]
      expect(() => decodeToken(variant)).toThrow(/trailing bits/)
      checked++
    }
    expect(checked).toBeGreaterThan(0)
  })

  it('only Ed25519 keys issue tokens (KEY_INVALID)', async () => {
    const secp = await generateKeyPair('secp256k1')
    await expect(
      issueToken({ key: secp, audience: principals[1].id, command: '/task', policy: { level: 'PUBLIC' }, expires: T0 }),
    ).rejects.toMatchObject({ code: 'KEY_INVALID' })
  })
})
