// Routing between nodes in one realm (memory transport): A—B—C, where A and C deny each other. A request from A to
// C goes through B without the caller knowing; the destination's gate sees it as A's; relays refuse loops, spent
// TTLs and destinations they cannot reach, and the destination refuses envelopes a relay altered.

import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ECHO_PROTOCOL, encodeFrame, encodeToken, issueToken, NoodleNode, PROFILE_PROTOCOL, ROUTE_PROTOCOL } from '../src/index.js'
import type { RouteEnvelope } from '../src/net/wire-schemas.js'
import { signRequest } from '../src/routing/envelope.js'
import { eventually, testConfig, testPlatform } from './test-platform.js'

let a: NoodleNode
let b: NoodleNode
let c: NoodleNode
let aKey: PrivateKey
let rootKey: PrivateKey

async function start(key: PrivateKey, network: Record<string, unknown>, trustedRoots: string[] = []): Promise<NoodleNode> {
  const node = await NoodleNode.create({
    config: testConfig({ network, security: { trustedRoots } }),
    platform: testPlatform(),
    privateKey: key,
  })
  await node.start()
  return node
}

beforeAll(async () => {
  aKey = await generateKeyPair('Ed25519')
  const cKey = await generateKeyPair('Ed25519')
  rootKey = await generateKeyPair('Ed25519')
  const aId = peerIdFromPrivateKey(aKey).toString()
  const cId = peerIdFromPrivateKey(cKey).toString()
  b = await start(await generateKeyPair('Ed25519'), {})
  a = await start(aKey, { bootstrap: [b.addrs()[0]], denyPeers: [cId] })
  c = await start(cKey, { bootstrap: [b.addrs()[0]], denyPeers: [aId] }, [peerIdFromPrivateKey(rootKey).toString()])
  // A knows C's links (through B's gossip) once it has a route to it.
  await eventually(() => a.router.route(cId) !== undefined, 20_000, 'a route from A to C')
}, 30_000)

afterAll(async () => {
  await Promise.all([a, b, c].map((node) => node?.stop()))
})

describe('routing A—B—C', () => {
  it('A and C never link; A reaches C through B and C sees the request as A’s', async () => {
    expect(a.peers().map((peer) => peer.peerId)).not.toContain(c.peerId.toString())
    expect(a.router.route(c.peerId.toString())).toEqual({ nextHops: [b.peerId.toString()], cost: expect.any(Number), hops: 2 })
    const profile = await a.rpc.request(c.peerId, PROFILE_PROTOCOL, {})
    expect(profile.peerId).toBe(c.peerId.toString())
    const topology = a.topology()
    expect(topology.nodes).toEqual([a, b, c].map((node) => node.peerId.toString()).sort())
    expect(topology.routes[c.peerId.toString()]).toMatchObject({ nextHop: b.peerId.toString(), hops: 2 })
    expect(topology.links).toHaveLength(2)
  })

  it('a relay sees only ciphertext: the body is sealed for C’s route key, and the answer for A', async () => {
    // C's route key comes in C's own record (B's record alone already gives A a route to C).
    await eventually(() => a.router.linkState.get(c.peerId.toString())?.routeKey !== undefined, 20_000, 'C’s record at A')
    const seen: RouteEnvelope[] = []
    const original = b.rpc.request.bind(b.rpc)
    b.rpc.request = (async (peer, definition, body, options) => {
      if (definition.protocol === ROUTE_PROTOCOL.protocol) seen.push(body as RouteEnvelope)
      return original(peer, definition, body, options)
    }) as typeof b.rpc.request
    try {
      const profile = await a.rpc.request(c.peerId, PROFILE_PROTOCOL, {})
      expect(profile.peerId).toBe(c.peerId.toString())
    } finally {
      b.rpc.request = original
    }
    expect(seen).toHaveLength(1)
    expect(seen[0].epk).toHaveLength(32)
    // The request of a profile is {} in CBOR (0xa0); sealed, it is 1 byte of ciphertext plus a 16-byte tag.
    expect(seen[0].body).toHaveLength(17)
  })

  it('the gate at the destination is not skipped: a capability bound to A works, none is refused', async () => {
    const data = new Uint8Array([1, 2, 3])
    await expect(a.rpc.request(c.peerId, ECHO_PROTOCOL, { data })).rejects.toMatchObject({ code: 'CAPABILITY_MISSING' })
    const token = encodeToken(
      await issueToken({
        key: rootKey,
        audience: a.peerId.toString(),
        command: '/node/echo',
        policy: { level: 'INTERNAL' },
        expires: Math.floor(Date.now() / 1000) + 600,
      }),
    )
    expect(await a.rpc.request(c.peerId, ECHO_PROTOCOL, { data }, { capability: token })).toEqual({ data })
    // The same token presented by B (a relay that saw it) is B's request, not A's: refused.
    await expect(b.rpc.request(c.peerId, ECHO_PROTOCOL, { data }, { capability: token })).rejects.toMatchObject({
      code: 'CAPABILITY_WRONG_AUDIENCE',
    })
  })

  async function signed(overrides: Partial<RouteEnvelope> = {}, body: unknown = {}): Promise<RouteEnvelope> {
    const fields = {
      src: a.peerId.toString(),
      dst: c.peerId.toString(),
      protocol: PROFILE_PROTOCOL.protocol,
      nonce: crypto.getRandomValues(new Uint8Array(16)),
      sentAt: Date.now(),
      body: encodeFrame(body, 1024),
    }
    return { ...fields, ttl: 16, path: [fields.src], sig: await signRequest(aKey, fields), ...overrides }
  }

  it('a relay refuses a loop, a spent TTL and a destination it has no route to, each with a typed error', async () => {
    await expect(
      a.rpc.request(b.peerId, ROUTE_PROTOCOL, await signed({ path: [a.peerId.toString(), b.peerId.toString()] })),
    ).rejects.toMatchObject({
      code: 'ROUTE_LOOP',
    })
    await expect(a.rpc.request(b.peerId, ROUTE_PROTOCOL, await signed({ ttl: 0 }))).rejects.toMatchObject({ code: 'TTL_EXPIRED' })
    const nowhere = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const lost = a.rpc.request(b.peerId, ROUTE_PROTOCOL, await signed({ dst: nowhere }))
    await expect(lost).rejects.toMatchObject({ code: 'NO_ROUTE' })
    await expect(lost).rejects.toThrow(/no route/)
  })

  it('the destination refuses an envelope a relay altered, a forged one and a replayed one; bad frames are typed', async () => {
    const good = await signed()
    const tampered = { ...good, body: encodeFrame({ x: 1 }, 1024) }
    await expect(a.rpc.request(b.peerId, ROUTE_PROTOCOL, tampered)).rejects.toMatchObject({ code: 'ROUTE_FORGED' })
    const claimsB = { ...good, src: b.peerId.toString() }
    await expect(a.rpc.request(b.peerId, ROUTE_PROTOCOL, claimsB)).rejects.toMatchObject({ code: 'ROUTE_FORGED' })
    const reply = await a.rpc.request(b.peerId, ROUTE_PROTOCOL, good)
    expect(reply.ok).toBe(true)
    await expect(a.rpc.request(b.peerId, ROUTE_PROTOCOL, good)).rejects.toMatchObject({ code: 'ROUTE_REPLAYED' })
    const bad = { ...good, ttl: -1 } as unknown as RouteEnvelope
    await expect(a.rpc.request(b.peerId, ROUTE_PROTOCOL, bad)).rejects.toMatchObject({ code: 'FRAME_INVALID' })
    // Every node still serves after all that.
    expect((await a.rpc.request(c.peerId, PROFILE_PROTOCOL, {})).peerId).toBe(c.peerId.toString())
  })

  it('once C is gone, a request from A to C is PEER_UNREACHABLE, whether A’s table still routes via B or not', async () => {
    await c.stop()
    const gone = a.rpc.request(c.peerId, PROFILE_PROTOCOL, {}, { timeoutMs: 5_000 })
    await expect(gone).rejects.toMatchObject({ code: 'PEER_UNREACHABLE' })
    await eventually(() => a.router.route(c.peerId.toString()) === undefined, 20_000, 'the route to C to go')
  })
})

describe('routing over two equal-cost paths', () => {
  it('A—B—C and A—D—C: both relays are next hops, and when one stops a request still gets through', async () => {
    const keys = await Promise.all([0, 1, 2, 3].map(() => generateKeyPair('Ed25519')))
    const [aId, bId, cId, dId] = keys.map((key) => peerIdFromPrivateKey(key).toString())
    const nodes: NoodleNode[] = []
    try {
      const relayB = await start(keys[1], { denyPeers: [dId] })
      const relayD = await start(keys[3], { denyPeers: [bId] })
      nodes.push(relayB, relayD)
      const bootstrap = [relayB.addrs()[0], relayD.addrs()[0]]
      const source = await start(keys[0], { bootstrap, denyPeers: [cId] })
      const target = await start(keys[2], { bootstrap, denyPeers: [aId] })
      nodes.push(source, target)
      await eventually(() => source.router.route(cId)?.nextHops.length === 2, 20_000, 'two equal-cost next hops from A to C')
      expect(source.router.route(cId)).toMatchObject({ nextHops: [bId, dId].sort(), hops: 2 })
      const answers = await Promise.all([1, 2, 3, 4].map(() => source.rpc.request(target.peerId, PROFILE_PROTOCOL, {})))
      expect(answers.every((profile) => profile.peerId === cId)).toBe(true)
      // Four requests at once, spread by fewest in flight: each relay carried some.
      for (const relay of [relayB, relayD]) {
        expect(relay.metrics.render()).toMatch(/noodlenet_route_forwards_total\{role="relay",outcome="ok"\} [1-9]/)
      }

      await relayB.stop()
      const profile = await source.rpc.request(target.peerId, PROFILE_PROTOCOL, {})
      expect(profile.peerId).toBe(cId)
      await eventually(() => source.router.route(cId)?.nextHops.join() === dId, 20_000, 'the route through D alone')
    } finally {
      await Promise.all(nodes.map((node) => node.stop()))
    }
  })
})
