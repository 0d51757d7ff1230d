// Fuzzing a running peer's inbound surfaces (issue 8): the wire frames of every protocol it serves, the gossip of
// every topic it subscribes to, and every admin API endpoint. Inputs are random bytes and structure-aware mutations of
// valid requests (fast-check); the attacker holds a capability for every command, so mutated bodies get past the gate
// to the handlers. Nothing may crash or hang the peer: each bad input gets a typed error or a closed stream, and the
// peer keeps serving. The surfaces are discovered, not listed: a protocol, topic or endpoint added later is fuzzed
// too. Tokens, config files, signalling events and the codec have their own properties (docs/TESTING.md, Fuzzing).
// FUZZ_RUNS=N raises the cases per surface (default 20) for a longer run on demand.

import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeFrame, encodeToken, FrameStream, issueToken, NoodleNode, PROFILE_PROTOCOL, resolveConfig, TOPICS } from '@noodlenet/shared'
import fc from 'fast-check'
import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodePlatform } from '../src/platform.js'
import { eventually, type PeerProcess, type Ready, startPeer } from './support/peer-process.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 20)
const ANSWER_MS = 15_000
const FRAME_MAX = 1024 * 1024

let root: PrivateKey
let peer: PeerProcess
let ready: Ready
let attacker: NoodleNode
let connection: Connection
let token: string

beforeAll(async () => {
  root = await generateKeyPair('Ed25519')
  peer = startPeer(['--trusted-root', peerIdFromPrivateKey(root).toString()])
  ready = await peer.ready
  const config = resolveConfig([
    { source: 'test', values: { network: { mdns: false, listen: ['/ip4/127.0.0.1/tcp/0'] }, monitoring: { logLevel: 'ERROR' } } },
  ])
  attacker = await NoodleNode.create({ config, platform: nodePlatform({ logSink: { write: () => {} } }) })
  await attacker.start()
  connection = await attacker.libp2p.dial(multiaddr(ready.addrs[0]))
  // Every command at every level: the fuzzed bodies reach the handlers, not just the gate's refusal.
  const issued = await issueToken({
    key: root,
    audience: attacker.peerId.toString(),
    command: '/',
    policy: { level: 'CRITICAL' },
    expires: Math.floor(Date.now() / 1000) + 3600,
  })
  token = encodeToken(issued)
}, 60_000)

afterAll(async () => {
  await attacker?.stop()
  await peer?.kill()
})

/** Values the CBOR codec carries: JSON, bytes, numbers of every kind, nested a little. */
const wireValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.uint8Array({ maxLength: 256 }),
  fc.double(),
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.array(fc.uint8Array({ maxLength: 16 }), { maxLength: 4 }),
)

/** A valid object with one field replaced, removed, or one unknown field added. */
function mutated(seed: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(seed)
  const added = fc.record({ key: fc.string({ maxLength: 12 }), value: wireValue }).map(({ key, value }) => ({ ...seed, [key]: value }))
  if (keys.length === 0) return fc.oneof(added, fc.constant(seed), wireValue)
  return fc.oneof(
    fc.record({ key: fc.constantFrom(...keys), value: wireValue }).map(({ key, value }) => ({ ...seed, [key]: value })),
    fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(seed).filter(([k]) => k !== key))),
    added,
    wireValue,
  )
}

/** Valid request bodies of the protocols this test knows; any other protocol starts from an empty object. */
const SEEDS: Record<string, Record<string, unknown>> = {
  '/noodlenet/echo/1.0.0': { data: new Uint8Array([1, 2, 3]) },
  '/noodlenet/profile/1.0.0': {},
  '/noodlenet/task/1.0.0': { kernel: 'echo', input: 'fuzz', priority: 0 },
  '/noodlenet/task-batch/1.0.0': {
    kernel: 'echo',
    tasks: [
      { input: 'fuzz', priority: 0 },
      { input: new Uint8Array([1]), priority: 9 },
    ],
  },
  // A routed envelope from and to peers that are not this one: it reaches the relay's loop, TTL and route checks.
  '/noodlenet/route/1.0.0': {
    src: '12D3KooWKRc9muTX8ujCUUbydoVwyJrGsTs768MHpsEMF1WpDkcR',
    dst: '12D3KooWKRc9muTX8ujCUUbydoVwyJrGsTs768MHpsEMF1WpDkcR',
    ttl: 3,
    path: ['12D3KooWKRc9muTX8ujCUUbydoVwyJrGsTs768MHpsEMF1WpDkcR'],
    protocol: '/noodlenet/profile/1.0.0',
    nonce: new Uint8Array(16),
    sentAt: 0,
    body: new Uint8Array([0xa0]),
    sig: new Uint8Array(64),
  },
}

/** What one case sends on a fresh stream: raw bytes, or whole frames (an RPC envelope, mutated or around a mutated
 *  body), optionally cut short. */
function streamInput(protocol: string): fc.Arbitrary<{ bytes: Uint8Array; kind: string }> {
  const body = mutated(SEEDS[protocol] ?? {})
  const valid = (b: unknown) => ({ id: 1, timeoutMs: 5_000, cap: token, body: b })
  // Mostly a good envelope around a mutated body (it reaches the handler's checks), sometimes a mutated envelope.
  const envelope = fc.oneof({ weight: 3, arbitrary: body.map(valid) }, { weight: 1, arbitrary: body.chain((b) => mutated(valid(b))) })
  const frame = (value: unknown): Uint8Array | undefined => {
    try {
      return lengthPrefixed(encodeFrame(value, FRAME_MAX))
    } catch {
      return undefined // a value the codec refuses to send: not an input the peer can receive from us
    }
  }
  return fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 4096 }).map((bytes) => ({ bytes, kind: 'random bytes' })),
    envelope.map((value) => ({ bytes: frame(value) ?? new Uint8Array([0]), kind: 'mutated frame' })),
    fc.tuple(envelope, fc.nat()).map(([value, cut]) => {
      const bytes = frame(value) ?? new Uint8Array([0])
      return { bytes: bytes.subarray(0, 1 + (cut % bytes.length)), kind: 'truncated frame' }
    }),
  )
}

/** A frame as FrameStream sends it: its length as an unsigned varint, then the CBOR. */
function lengthPrefixed(cbor: Uint8Array): Uint8Array {
  const prefix: number[] = []
  for (let n = cbor.length; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      prefix.push(n)
      break
    }
    prefix.push((n % 128) | 0x80)
  }
  const out = new Uint8Array(prefix.length + cbor.length)
  out.set(prefix)
  out.set(cbor, prefix.length)
  return out
}

/** Sends one input on a new stream, closes our side, and collects the peer's answers until the stream ends. */
async function exchange(protocol: string, bytes: Uint8Array): Promise<unknown[]> {
  const stream = await connection.newStream(protocol, { signal: AbortSignal.timeout(ANSWER_MS) })
  const frames = new FrameStream(stream, FRAME_MAX)
  stream.send(bytes)
  await stream.close().catch(() => {})
  const answers: unknown[] = []
  const signal = AbortSignal.timeout(ANSWER_MS)
  for (;;) {
    const answer = await frames.read(v.unknown(), signal).catch(() => {
      // A reset or a frame we cannot read ends the exchange; a hang does not: that is the timeout's abort.
      if (signal.aborted) throw new Error(`${protocol}: no answer and no end within ${ANSWER_MS} ms`)
      return null
    })
    if (answer === null) return answers
    answers.push(answer)
  }
}

/** The peer's answers by error code ('ok' for a success), counted: proof that the inputs got past the framing to the checks. */
const codes = new Map<string, number>()

function expectTyped(answer: unknown): void {
  if (typeof answer !== 'object' || answer === null || !('ok' in answer)) return
  if (answer.ok === true) codes.set('ok', (codes.get('ok') ?? 0) + 1)
  if (answer.ok !== false) return
  const error = (answer as { error?: { code?: unknown; message?: unknown } }).error
  expect(error?.code).toMatch(/^[A-Z][A-Z0-9_]*$/)
  expect(typeof error?.message).toBe('string')
  codes.set(String(error?.code), (codes.get(String(error?.code)) ?? 0) + 1)
}

async function expectServing(): Promise<void> {
  const profile = await attacker.rpc.request(connection.remotePeer, PROFILE_PROTOCOL, {}, { timeoutMs: ANSWER_MS })
  expect(profile.peerId).toBe(ready.peerId)
  expect(await peer.api<{ status: string }>('/health')).toMatchObject({ status: 'ok' })
}

describe('fuzzing a running peer', () => {
  it('every protocol it serves: random bytes, mutated and truncated frames get a typed error or a closed stream', async () => {
    // Identify tells the attacker what the peer serves, shortly after the connection opens.
    let protocols: string[] = []
    await eventually(
      async () => {
        const known = await attacker.libp2p.peerStore.get(connection.remotePeer)
        protocols = known.protocols.filter((protocol) => protocol.startsWith('/noodlenet/'))
        return Object.keys(SEEDS).every((protocol) => protocols.includes(protocol))
      },
      30_000,
      'identify to list the peer protocols',
    )
    for (const protocol of protocols) {
      await fc.assert(
        fc.asyncProperty(streamInput(protocol), async ({ bytes }) => {
          for (const answer of await exchange(protocol, bytes)) expectTyped(answer)
        }),
        { numRuns: RUNS },
      )
      await expectServing()
    }
    expect(codes.size, 'the peer answered no fuzzed input with a typed error').toBeGreaterThan(0)
    console.log(`fuzz: ${protocols.length} protocols x ${RUNS} inputs; typed errors ${JSON.stringify(Object.fromEntries(codes))}`)
  }, 600_000)

  it('every gossip topic it subscribes to: random and mutated messages leave it serving and gossiping', async () => {
    const pubsub = attacker.libp2p.services.pubsub
    await eventually(
      async () => pubsub.getSubscribers(TOPICS.presence).some((id) => id.equals(connection.remotePeer)),
      30_000,
      'the peer to subscribe to presence',
    )
    const topics = Object.values(TOPICS).filter((topic) => pubsub.getSubscribers(topic).some((id) => id.equals(connection.remotePeer)))
    expect(topics).toContain(TOPICS.presence)
    const seed = { ...attacker.profile(), seq: 1, publishedAt: Date.now() }
    const message = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }),
      mutated(seed).map((value) => {
        try {
          return encodeFrame(value, FRAME_MAX)
        } catch {
          return new Uint8Array([0xff])
        }
      }),
    )
    for (const topic of topics) {
      await fc.assert(
        fc.asyncProperty(message, async (bytes) => {
          await pubsub.publish(topic, bytes).catch(() => {}) // gossipsub may refuse a duplicate; that is fine
        }),
        { numRuns: RUNS },
      )
    }
    // The peer is still gossiping its own presence after all of it.
    const heard = new Promise<void>((resolve) => {
      attacker.presence.addEventListener('presence:update', (evt) => {
        if (evt.detail.peerId === ready.peerId) resolve()
      })
    })
    await heard
    await expectServing()
  }, 600_000)

  it('every admin API endpoint: random paths, queries and bodies get a JSON error, never a 5xx', async () => {
    const { endpoints } = await peer.api<{ endpoints: string[] }>('/api')
    expect(endpoints).toContain('POST /api/tasks')
    const bodies = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
      fc.string({ unit: 'binary', maxLength: 512 }),
      mutated({ kernel: 'echo', input: 1, priority: 0 }).map((value) =>
        JSON.stringify(value, (_key, item) => (item instanceof Uint8Array ? { $bytes: Buffer.from(item).toString('base64') } : item)),
      ),
      fc.constant('x'.repeat(70 * 1024)),
    )
    const segment = fc.string({ minLength: 1, maxLength: 24 }).map(encodeURIComponent)
    const query = fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 3 })
    for (const endpoint of endpoints) {
      const [method, pattern] = endpoint.split(' ')
      await fc.assert(
        fc.asyncProperty(segment, query, bodies, async (param, params, body) => {
          const path = pattern.replace(/:[a-z]+/g, param)
          // ?wait would hold a task lookup open for up to a minute: a valid wait is not what this fuzzes.
          const search = new URLSearchParams(Object.entries(params).filter(([key]) => key !== 'wait')).toString()
          const res = await fetch(`${ready.api}${path}${search === '' ? '' : `?${search}`}`, {
            method,
            ...(method === 'POST' ? { body, headers: { 'content-type': 'application/json' } } : {}),
            signal: AbortSignal.timeout(ANSWER_MS),
          })
          const text = await res.text()
          expect(res.status, `${method} ${path}: ${text}`).toBeLessThan(500)
          if (res.status >= 400)
            expect(JSON.parse(text)).toMatchObject({ code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String) })
        }),
        { numRuns: RUNS },
      )
    }
    await expectServing()
  }, 600_000)
})
