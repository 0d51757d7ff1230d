// Route computation and routed-envelope authentication as a specification: cheapest paths with every equal-cost
// next hop, the same costs as a Bellman-Ford reference on random graphs, load spread over parallel next hops, and
// envelopes that a relay altered, forged or replayed refused with typed errors.

import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { linkCost, ReplayGuard, RouteTable, shortestPaths, TopologyGraph } from '../src/index.js'
import type { RouteEnvelope } from '../src/net/wire-schemas.js'
import { signReply, signRequest, verifyReply, verifyRequest } from '../src/routing/envelope.js'
import { RouteCipher } from '../src/routing/route-cipher.js'

/** An undirected graph from [a, b, cost] triples. */
function graph(edges: Array<[string, string, number]>): Map<string, Map<string, number>> {
  const adjacency = new Map<string, Map<string, number>>()
  const link = (a: string, b: string, cost: number): void => {
    let links = adjacency.get(a)
    if (links === undefined) {
      links = new Map()
      adjacency.set(a, links)
    }
    links.set(b, cost)
  }
  for (const [a, b, cost] of edges) {
    link(a, b, cost)
    link(b, a, cost)
  }
  return adjacency
}

describe('shortestPaths', () => {
  it('finds the cheapest path, its cost and hops, and the neighbour that starts it', () => {
    //  A -1- B -1- C
    //  A ------5-- C   (direct but dearer)
    const routes = shortestPaths(
      'A',
      graph([
        ['A', 'B', 1],
        ['B', 'C', 1],
        ['A', 'C', 5],
      ]),
    )
    expect(routes.get('C')).toEqual({ nextHops: ['B'], cost: 2, hops: 2 })
    expect(routes.get('B')).toEqual({ nextHops: ['B'], cost: 1, hops: 1 })
    expect(routes.has('A')).toBe(false)
  })

  it('keeps every equal-cost next hop (ECMP) and the fewest hops among the cheapest paths', () => {
    //  A - B - D and A - C - D cost 2 each; A - E - F - D costs 3.
    const routes = shortestPaths(
      'A',
      graph([
        ['A', 'B', 1],
        ['B', 'D', 1],
        ['A', 'C', 1],
        ['C', 'D', 1],
        ['A', 'E', 1],
        ['E', 'F', 1],
        ['F', 'D', 1],
        ['D', 'G', 1],
      ]),
    )
    expect(routes.get('D')).toEqual({ nextHops: ['B', 'C'], cost: 2, hops: 2 })
    expect(routes.get('G')).toEqual({ nextHops: ['B', 'C'], cost: 3, hops: 3 })
    expect(routes.get('F')).toEqual({ nextHops: ['E'], cost: 2, hops: 2 })
  })

  it('leaves unreachable nodes out and follows links one way only when only one side lists them', () => {
    const adjacency = new Map([
      ['A', new Map([['B', 1]])],
      ['B', new Map<string, number>()],
      ['C', new Map([['A', 1]])],
    ])
    const routes = shortestPaths('A', adjacency)
    expect([...routes.keys()]).toEqual(['B'])
  })

  it('agrees with Bellman-Ford on random graphs: same reachable set, costs, hops and next-hop sets', () => {
    const arbitraryGraph = fc.integer({ min: 2, max: 9 }).chain((n) =>
      fc.tuple(
        fc.constant(n),
        fc.array(fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 1, max: 4 })), {
          maxLength: 30,
        }),
      ),
    )
    fc.assert(
      fc.property(arbitraryGraph, ([n, edges]) => {
        const names = Array.from({ length: n }, (_, i) => `n${i}`)
        const adjacency = new Map<string, Map<string, number>>(names.map((name) => [name, new Map()]))
        for (const [a, b, cost] of edges) if (a !== b) adjacency.get(names[a])?.set(names[b], cost)
        const routes = shortestPaths('n0', adjacency)
        const reference = bellmanFord('n0', adjacency)
        for (const name of names.slice(1)) {
          const expected = reference.get(name)
          expect(routes.get(name)).toEqual(expected)
        }
      }),
      { numRuns: 300 },
    )
  })
})

/** Costs by Bellman-Ford, hops as the fewest among cheapest paths, next hops as every neighbour n of the source with
 *  cost(source, n) + dist(n, destination) == dist(source, destination) — computed independently of Dijkstra. */
function bellmanFord(source: string, adjacency: Map<string, Map<string, number>>) {
  const distFrom = (start: string): Map<string, { cost: number; hops: number }> => {
    const dist = new Map<string, { cost: number; hops: number }>([[start, { cost: 0, hops: 0 }]])
    for (let round = 0; round < adjacency.size; round++) {
      for (const [u, links] of adjacency) {
        const du = dist.get(u)
        if (du === undefined) continue
        for (const [v, w] of links) {
          const dv = dist.get(v)
          const alt = { cost: du.cost + w, hops: du.hops + 1 }
          if (dv === undefined || alt.cost < dv.cost || (alt.cost === dv.cost && alt.hops < dv.hops)) dist.set(v, alt)
        }
      }
    }
    return dist
  }
  const fromSource = distFrom(source)
  const result = new Map<string, { nextHops: string[]; cost: number; hops: number }>()
  for (const [destination, { cost, hops }] of fromSource) {
    if (destination === source) continue
    const nextHops: string[] = []
    for (const [neighbour, w] of adjacency.get(source) ?? []) {
      if (neighbour === source) continue
      const rest = neighbour === destination ? 0 : distFrom(neighbour).get(destination)?.cost
      // A path back through the source is never cheapest (costs are positive), so excluding it changes nothing.
      if (rest !== undefined && w + rest === cost) nextHops.push(neighbour)
    }
    result.set(destination, { nextHops: nextHops.sort(), cost, hops })
  }
  return result
}

describe('linkCost', () => {
  it('is whole milliseconds of round trip, plus a loaded far end and lost requests, at least 1', () => {
    expect(linkCost({ rttMs: 0.3 }, 0)).toBe(1)
    expect(linkCost({ rttMs: 12.4 }, 0)).toBe(12)
    expect(linkCost({ rttMs: 12 }, 1)).toBe(22)
    expect(linkCost({ rttMs: 12, loss: 0.5 }, 0)).toBe(62)
    expect(linkCost({ rttMs: 5 }, 7)).toBe(15)
  })
})

describe('TopologyGraph', () => {
  const adjacencyOf = (self: string, own: ReturnType<typeof link>[], records: ReturnType<typeof record>[]) => {
    const graph = new TopologyGraph()
    graph.sync(self, records)
    graph.set(self, own)
    return graph.adjacency(self)
  }
  const link = (peer: string, rttMs = 3, load = 0) => ({ peer, rttMs, load })
  const record = (peerId: string, links: ReturnType<typeof link>[]) => ({ peerId, seq: 1, links, publishedAt: 0 })

  it('takes this node’s live links, and another peer’s link only when its far end lists it back', () => {
    const adjacency = adjacencyOf(
      'A',
      [link('B')],
      [
        record('B', [link('A'), link('C', 5, 0.5)]),
        // C lists B back; D says it links to C, but C's record does not list D: that link is gone on C's side.
        record('C', [link('B', 5, 0.5)]),
        record('D', [link('C'), link('E')]),
      ],
    )
    expect(adjacency.get('A')).toEqual(new Map([['B', 3]]))
    // B -> C costs C's round trip plus C's load (0.5 x 10 ms); C -> B the same with B's load (0).
    expect(adjacency.get('B')).toEqual(
      new Map([
        ['A', 3],
        ['C', 10],
      ]),
    )
    expect(adjacency.get('C')).toEqual(new Map([['B', 5]]))
    // E has no record: D's word is all there is.
    expect(adjacency.get('D')).toEqual(new Map([['E', 3]]))
  })

  it('sync keeps exactly the records given: a peer whose record expired loses its links', () => {
    const graph = new TopologyGraph()
    const b = record('B', [link('A'), link('C')])
    const c = record('C', [link('B')])
    graph.sync('A', [b, c])
    graph.set('A', [link('B')])
    expect(shortestPaths('A', graph.adjacency('A')).get('C')).toEqual({ nextHops: ['B'], cost: 6, hops: 2 })
    graph.sync('A', [b])
    expect(graph.size).toBe(2)
    // C has no record now: B's word for its link to C is all there is, so C stays reachable until B drops it.
    expect(graph.adjacency('A').get('B')).toEqual(
      new Map([
        ['A', 3],
        ['C', 3],
      ]),
    )
    graph.sync('A', [record('B', [link('A')])])
    expect(shortestPaths('A', graph.adjacency('A')).has('C')).toBe(false)
  })

  it('ignores what others say about this node’s links: a link this node lost is gone at once', () => {
    const adjacency = adjacencyOf('A', [], [record('B', [link('A')])])
    expect(adjacency.get('B')).toEqual(new Map())
    expect(shortestPaths('A', adjacency).size).toBe(0)
  })
})

describe('RouteTable', () => {
  it('spreads requests over equal-cost next hops by the fewest in flight, and skips the ones to avoid', () => {
    const table = new RouteTable()
    table.replace(new Map([['D', { nextHops: ['B', 'C'], cost: 2, hops: 2 }]]))
    const first = table.choose('D')
    const second = table.choose('D')
    expect(new Set([first, second])).toEqual(new Set(['B', 'C']))
    table.finished(first as string)
    expect(table.choose('D')).toBe(first)
    expect(table.choose('D', (hop) => hop === 'B')).toBe('C')
    expect(table.choose('D', () => true)).toBeUndefined()
    expect(table.choose('nowhere')).toBeUndefined()
  })
})

describe('routed envelopes', () => {
  async function envelope(overrides: Partial<RouteEnvelope> = {}) {
    const srcKey = await generateKeyPair('Ed25519')
    const dstKey = await generateKeyPair('Ed25519')
    const fields = {
      src: peerIdFromPrivateKey(srcKey).toString(),
      dst: peerIdFromPrivateKey(dstKey).toString(),
      protocol: '/noodlenet/echo/1.0.0',
      nonce: crypto.getRandomValues(new Uint8Array(16)),
      sentAt: Date.now(),
      cap: 'nnt1.token',
      body: new Uint8Array([1, 2, 3]),
    }
    const sig = await signRequest(srcKey, fields)
    return { srcKey, dstKey, envelope: { ...fields, ttl: 16, path: [fields.src], sig, ...overrides } as RouteEnvelope }
  }

  it('the destination accepts what the source signed, whatever relays did to ttl and path', async () => {
    const { envelope: e } = await envelope()
    const src = await verifyRequest({ ...e, ttl: 3, path: [e.src, 'relay'] })
    expect(src.toString()).toBe(e.src)
  })

  it('a relay that alters the body, the token, the protocol or the source is refused: ROUTE_FORGED', async () => {
    const { envelope: e } = await envelope()
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    for (const tampered of [
      { ...e, body: new Uint8Array([1, 2, 4]) },
      { ...e, cap: 'nnt1.other' },
      { ...e, protocol: '/noodlenet/task/1.0.0' },
      { ...e, src: other },
      { ...e, dst: other },
      { ...e, sig: new Uint8Array(64) },
    ]) {
      await expect(verifyRequest(tampered)).rejects.toMatchObject({ code: 'ROUTE_FORGED' })
    }
    await expect(verifyRequest({ ...e, src: 'not-a-peer-id' })).rejects.toMatchObject({ code: 'ROUTE_FORGED' })
  })

  it('only the destination can sign the answer, and only for this request', async () => {
    const { envelope: e, dstKey, srcKey } = await envelope()
    const reply = await signReply(dstKey, e, true, new Uint8Array([9]))
    await expect(verifyReply(e, reply)).resolves.toBeUndefined()
    await expect(verifyReply(e, { ...reply, body: new Uint8Array([8]) })).rejects.toMatchObject({ code: 'ROUTE_FORGED' })
    await expect(verifyReply(e, { ...reply, ok: false })).rejects.toMatchObject({ code: 'ROUTE_FORGED' })
    await expect(verifyReply({ ...e, nonce: new Uint8Array(16) }, reply)).rejects.toMatchObject({ code: 'ROUTE_FORGED' })
    const byRelay = await signReply(srcKey, e, true, new Uint8Array([9]))
    await expect(verifyReply(e, byRelay)).rejects.toMatchObject({ code: 'ROUTE_FORGED' })
  })

  it('a replayed request, or one far outside the window, is refused: ROUTE_REPLAYED', async () => {
    const { envelope: e } = await envelope()
    const guard = new ReplayGuard(60_000, 100)
    guard.check(e)
    expect(() => guard.check(e)).toThrow(expect.objectContaining({ code: 'ROUTE_REPLAYED' }))
    expect(() => guard.check({ ...e, nonce: new Uint8Array(16).fill(7), sentAt: Date.now() - 120_000 })).toThrow(
      expect.objectContaining({ code: 'ROUTE_REPLAYED' }),
    )
    guard.check({ ...e, nonce: new Uint8Array(16).fill(8) })
  })
})

describe('sealed bodies (RouteCipher)', () => {
  it('only the destination opens a body sealed for its route key, and only the source opens the reply', async () => {
    const identity = await generateKeyPair('Ed25519')
    const destination = (await RouteCipher.fromIdentity(identity)) as RouteCipher
    expect(destination.publicKey).toHaveLength(32)
    // The same identity gives the same route key (a restarted peer keeps it).
    expect((await RouteCipher.fromIdentity(identity))?.publicKey).toEqual(destination.publicKey)
    const context = { src: 'src', dst: 'dst', nonce: new Uint8Array(16).fill(1) }
    const secret = new TextEncoder().encode('a secret task input')
    const sealed = await RouteCipher.seal(destination.publicKey, context, secret)
    expect(new TextDecoder().decode(sealed.body)).not.toContain('secret')
    const opened = await destination.open(sealed.epk, context, sealed.body)
    expect(opened.body).toEqual(secret)
    const reply = await opened.exchange.sealReply(new TextEncoder().encode('the output'))
    expect(new TextDecoder().decode(await sealed.exchange.openReply(reply))).toBe('the output')

    const flipped = Uint8Array.from(sealed.body)
    flipped[0] ^= 1
    await expect(destination.open(sealed.epk, context, flipped)).rejects.toMatchObject({ code: 'ROUTE_FORGED' })
    await expect(destination.open(sealed.epk, { ...context, src: 'other' }, sealed.body)).rejects.toMatchObject({ code: 'ROUTE_FORGED' })
    const other = (await RouteCipher.fromIdentity(await generateKeyPair('Ed25519'))) as RouteCipher
    await expect(other.open(sealed.epk, context, sealed.body)).rejects.toMatchObject({ code: 'ROUTE_FORGED' })
    await expect(sealed.exchange.openReply(sealed.body)).rejects.toMatchObject({ code: 'ROUTE_FORGED' })
  })
})
