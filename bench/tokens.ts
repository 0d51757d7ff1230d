// Capability token verification rate on one thread: cold (a fresh decode and every signature checked, no cache) and
// cached (a VerifiedChainCache hit: only time, revocation, audience and the request are checked), for chains of depth
// 1 and 4. The baseline, measured in the same run, is raw Ed25519 verification of the same signed bytes through
// @libp2p/crypto with the public keys already parsed: the floor that cold verification cannot beat.

import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  type CapabilityRequest,
  type CapabilityToken,
  chainOf,
  encodeToken,
  issueToken,
  VerifiedChainCache,
  type VerifyContext,
  verifyCapability,
} from '@noodlenet/shared'
import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { describeMachine, machineLine } from './support/machine.js'
import { formatTable } from './support/table.js'

/** Verifications per second a node must sustain: a cold depth-1 token, and any cached one. */
const TARGET_COLD_DEPTH1 = 5_000
const TARGET_CACHED = 500_000
const DEPTHS = [1, 4]
/** The signature domain of docs/SECURITY.md: what a token's signature covers, before the payload. */
const SIGNATURE_DOMAIN = new TextEncoder().encode('noodlenet/capability/v1\n')

interface Plan {
  /** Alternating blocks per path. */
  blocks: number
  /** Target length of one block. */
  blockMs: number
}

const FULL: Plan = { blocks: 12, blockMs: 150 }
const QUICK: Plan = { blocks: 3, blockMs: 40 }

type PathName = 'raw' | 'cold' | 'cached'

interface PathResult {
  depth: number
  path: PathName
  /** Median over blocks. */
  opsPerSecond: number
  minOpsPerSecond: number
  maxOpsPerSecond: number
  operations: number
}

export const tokensBenchmark: Benchmark = {
  name: 'tokens',
  summary: 'capability token verification per second, cold and cached, depth 1 and 4, vs raw Ed25519 verify',
  run,
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL
  const results: PathResult[] = []
  for (const depth of DEPTHS) {
    const setup = await chainOfDepth(depth)
    const paths: Record<PathName, () => Promise<unknown>> = {
      raw: setup.rawVerify,
      cold: () => verifyOrThrow(setup.token, setup.request, setup.coldContext),
      cached: () => verifyOrThrow(setup.token, setup.request, setup.cachedContext),
    }
    await paths.cached() // fills the cache
    const sizes = {} as Record<PathName, number>
    for (const name of Object.keys(paths) as PathName[]) sizes[name] = await calibrate(paths[name], plan.blockMs)
    const rates: Record<PathName, number[]> = { raw: [], cold: [], cached: [] }
    for (let block = 0; block < plan.blocks; block++) {
      // Rotate which path goes first, so drift (CPU frequency, GC) falls on all alike.
      const order = (['raw', 'cold', 'cached'] as const).map((_, i, all) => all[(i + block) % all.length])
      for (const name of order) rates[name].push(await measure(paths[name], sizes[name]))
    }
    for (const name of Object.keys(rates) as PathName[]) {
      const sorted = rates[name].toSorted((a, b) => a - b)
      results.push({
        depth,
        path: name,
        opsPerSecond: Math.round(sorted[Math.floor(sorted.length / 2)]),
        minOpsPerSecond: Math.round(sorted[0]),
        maxOpsPerSecond: Math.round(sorted[sorted.length - 1]),
        operations: sizes[name] * plan.blocks,
      })
    }
  }
  return report(results, plan, options)
}

interface ChainSetup {
  token: string
  request: CapabilityRequest
  coldContext: VerifyContext
  cachedContext: VerifyContext
  rawVerify: () => Promise<void>
}

/** root → p1 → … → p(depth): each link narrows a little; the leaf's audience makes the request. */
async function chainOfDepth(depth: number): Promise<ChainSetup> {
  const keys: PrivateKey[] = await Promise.all(Array.from({ length: depth + 1 }, () => generateKeyPair('Ed25519')))
  const ids = keys.map((key) => peerIdFromPrivateKey(key).toString())
  const expires = Math.floor(Date.now() / 1000) + 3600
  let token: CapabilityToken | undefined
  for (let i = 0; i < depth; i++) {
    token = await issueToken({
      key: keys[i],
      audience: ids[i + 1],
      command: i === 0 ? '/task' : '/task/run',
      policy: { level: 'CONFIDENTIAL', kernels: ['matmul', 'fft'], maxCost: 1000 - i },
      expires,
      proof: token,
    })
  }
  const leaf = token as CapabilityToken
  const request: CapabilityRequest = {
    requester: ids[depth],
    subject: ids[0],
    command: '/task/run',
    kernel: 'matmul',
    level: 'INTERNAL',
    cost: 10,
  }
  const context = { trustedRoots: new Set([ids[0]]), now: Math.floor(Date.now() / 1000), isRevoked: () => false }
  // The baseline checks the same signatures over the same bytes, with keys parsed once up front.
  const links = chainOf(leaf).map((link) => ({
    key: keys[ids.indexOf(link.payload.iss)].publicKey as PublicKey,
    signed: Uint8Array.from([...SIGNATURE_DOMAIN, ...link.payloadBytes]),
    signature: link.signature,
  }))
  const rawVerify = async (): Promise<void> => {
    for (const link of links) if (!(await link.key.verify(link.signed, link.signature))) throw new Error('raw verify failed')
  }
  return {
    token: encodeToken(leaf),
    request,
    coldContext: context,
    cachedContext: { ...context, cache: new VerifiedChainCache() },
    rawVerify,
  }
}

async function verifyOrThrow(token: string, request: CapabilityRequest, context: VerifyContext): Promise<void> {
  const result = await verifyCapability(token, request, context)
  if (!result.ok) throw new Error(`benchmark token refused: ${result.code} ${result.reason}`)
}

/** How many calls fill about `blockMs`. */
async function calibrate(fn: () => Promise<unknown>, blockMs: number): Promise<number> {
  let count = 16
  for (;;) {
    const ms = (await timeCalls(fn, count)) / 1e6
    if (ms >= 20) return Math.max(16, Math.round((count * blockMs) / ms))
    count *= 4
  }
}

async function measure(fn: () => Promise<unknown>, count: number): Promise<number> {
  return count / ((await timeCalls(fn, count)) / 1e9)
}

/** Nanoseconds for `count` sequential calls. */
async function timeCalls(fn: () => Promise<unknown>, count: number): Promise<number> {
  const start = process.hrtime.bigint()
  for (let i = 0; i < count; i++) await fn()
  return Number(process.hrtime.bigint() - start)
}

function report(results: PathResult[], plan: Plan, options: BenchOptions): BenchReport {
  const machine = describeMachine()
  const rate = (depth: number, path: PathName): number =>
    results.find((r) => r.depth === depth && r.path === path)?.opsPerSecond ?? Number.NaN
  const label: Record<PathName, string> = {
    raw: 'raw Ed25519 verify (baseline)',
    cold: 'verifyCapability, cold',
    cached: 'verifyCapability, cached',
  }
  const target = (r: PathResult): string => {
    const goal = r.path === 'cached' ? TARGET_CACHED : r.path === 'cold' && r.depth === 1 ? TARGET_COLD_DEPTH1 : undefined
    if (goal === undefined) return ''
    return `≥ ${goal.toLocaleString('en')} ${r.opsPerSecond >= goal ? 'met' : 'MISSED'}`
  }
  const rows = results.map((r) => [
    r.depth,
    r.path === 'raw' ? `${label.raw}${r.depth > 1 ? ` ×${r.depth}` : ''}` : label[r.path],
    r.opsPerSecond,
    r.minOpsPerSecond,
    r.maxOpsPerSecond,
    r.opsPerSecond / rate(r.depth, 'raw'),
    target(r),
  ])
  const table = [
    `${tokensBenchmark.name}: ${tokensBenchmark.summary}`,
    machineLine(machine),
    `one thread; ${plan.blocks} blocks of about ${plan.blockMs} ms per path and depth, in rotating order; ops/s is the median block${options.quick ? ' (--quick)' : ''}`,
    '',
    formatTable([['depth', 'path', 'ops/s', 'min', 'max', '× raw', 'target'], ...rows]),
  ].join('\n')
  const met = results.every((r) => !target(r).endsWith('MISSED'))
  return {
    table,
    json: {
      name: tokensBenchmark.name,
      summary: tokensBenchmark.summary,
      date: new Date().toISOString(),
      machine,
      quick: options.quick,
      plan,
      unit: 'operations per second',
      targets: { coldDepth1: TARGET_COLD_DEPTH1, cached: TARGET_CACHED },
      meetsTargets: met,
      results: results.map((r) => ({ ...r, ratioToRaw: r.opsPerSecond / rate(r.depth, 'raw') })),
    },
  }
}
