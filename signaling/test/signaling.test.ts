// The signalling protocol as a client meets it, over real sockets against a server in this process: registration
// only with the peer id's key, rooms and their announcements, the relay, typed errors for everything malformed (the
// server keeps serving the others), the rate limit and the other limits.

import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { createLogger, SIGNALING_CLIENT_EVENTS, SignalingJoinSchema, SignalingLeaveSchema, signSignalingChallenge } from '@noodlenet/shared'
import fc from 'fast-check'
import * as v from 'valibot'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createSignalingServer, type SignalingServer } from '../src/index.js'
import { eventually, TestClient } from './support/test-client.js'

let server: SignalingServer
const logLines: string[] = []
let clients: TestClient[] = []

beforeAll(async () => {
  const logger = createLogger({ level: 'DEBUG', component: 'signaling', sink: { write: (line) => void logLines.push(line) } })
  server = await createSignalingServer({ port: 0, staticDir: '/nonexistent', logger })
})
afterAll(async () => {
  await server.close()
})
afterEach(() => {
  for (const client of clients) client.close()
  clients = []
})

function connect(url = server.url): TestClient {
  const client = new TestClient(url)
  clients.push(client)
  return client
}

async function registered(key?: PrivateKey, url = server.url): Promise<TestClient> {
  const client = connect(url)
  const result = await client.register(key ?? (await generateKeyPair('Ed25519')))
  expect(result).toEqual({ ok: true })
  return client
}

async function health(url = server.url): Promise<{ status: string; peers: number; rooms: number }> {
  return (await fetch(`${url}/health`)).json()
}

describe('registration', () => {
  it('a peer registers its peer id by signing the challenge with its key', async () => {
    const key = await generateKeyPair('Ed25519')
    const client = connect()
    const challenge = await client.challenge
    expect(challenge.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(challenge.server).toBe(server.serverId)
    expect(await client.register(key)).toEqual({ ok: true })
    expect(server.stats().peers).toBeGreaterThanOrEqual(1)
    expect(client.count('error')).toBe(0)
  })

  it('every connection gets a fresh nonce', async () => {
    const nonces = await Promise.all([connect(), connect(), connect()].map((client) => client.challenge.then((c) => c.nonce)))
    expect(new Set(nonces).size).toBe(3)
  })

  it("claiming a peer id with another key's signature is refused, answered with an error and logged", async () => {
    const victim = await generateKeyPair('Ed25519')
    const attacker = await generateKeyPair('Ed25519')
    const client = connect()
    const challenge = await client.challenge
    const forged = await signSignalingChallenge(attacker, challenge)
    const victimId = (await signSignalingChallenge(victim, challenge)).peerId
    const result = await client.ack('register', { peerId: victimId, signature: forged.signature })
    expect(result).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' })
    expect(await client.next('error')).toMatchObject({ code: 'BAD_SIGNATURE', event: 'register' })
    // The refusal is in the log at WARNING, naming the peer id that was claimed.
    const record = logLines.map((line) => JSON.parse(line)).find((r) => r.msg === 'registration refused' && r.peerId === victimId)
    expect(record).toMatchObject({ level: 'WARNING', code: 'BAD_SIGNATURE' })
    // Still unregistered: nothing but register is accepted.
    client.socket.emit('join', {})
    expect(await client.next('error')).toMatchObject({ code: 'NOT_REGISTERED' })
  })

  it("a signature replayed from another connection's challenge is refused", async () => {
    const key = await generateKeyPair('Ed25519')
    const honest = connect()
    const eavesdropped = await signSignalingChallenge(key, await honest.challenge)
    const replayer = connect()
    expect(await replayer.ack('register', eavesdropped)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' })
    expect(await replayer.next('error')).toMatchObject({ code: 'BAD_SIGNATURE' })
    // The honest connection can still use it: the nonce was its own.
    expect(await honest.ack('register', eavesdropped)).toEqual({ ok: true })
  })

  it('a peer id that is not one, or does not embed its key, is refused with INVALID_PEER_ID', async () => {
    const client = connect()
    await client.challenge
    expect(await client.ack('register', { peerId: 'not-a-peer-id', signature: 'AAAA' })).toMatchObject({ code: 'INVALID_PEER_ID' })
    // An RSA-style peer id (a sha256 multihash, "Qm…") names a key it does not contain.
    const rsaStyle = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'
    expect(await client.ack('register', { peerId: rsaStyle, signature: 'AAAA' })).toMatchObject({ code: 'INVALID_PEER_ID' })
  })

  it('a connection registers once', async () => {
    const key = await generateKeyPair('Ed25519')
    const client = await registered(key)
    const again = await signSignalingChallenge(key, await client.challenge)
    expect(await client.ack('register', again)).toMatchObject({ ok: false, code: 'ALREADY_REGISTERED' })
  })

  it('a newer connection proving the same key replaces the older one, which is told and closed', async () => {
    const key = await generateKeyPair('Ed25519')
    const watcher = await registered()
    await watcher.join('replace')
    const old = await registered(key)
    await old.join('replace')
    expect(await watcher.next('peer:joined')).toEqual({ peerId: old.peerId })

    const fresh = await registered(key)
    expect(await old.next('error')).toMatchObject({ code: 'REPLACED' })
    expect(await old.disconnected).toBe('io server disconnect')
    expect(await watcher.next('peer:left')).toEqual({ peerId: old.peerId })
    await fresh.join('replace')
    expect(await watcher.next('peer:joined')).toEqual({ peerId: fresh.peerId })
    // Signals for the peer id now reach the new connection.
    watcher.socket.emit('signal', { to: fresh.peerId, data: 'hello' })
    expect(await fresh.next('signal')).toEqual({ from: watcher.peerId, data: 'hello' })
  })

  it('a connection that does not register in time is closed with REGISTER_TIMEOUT', async () => {
    const quick = await createSignalingServer({ port: 0, staticDir: '/nonexistent', limits: { registerTimeoutMs: 200 } })
    try {
      const idle = connect(quick.url)
      expect(await idle.next('error')).toMatchObject({ code: 'REGISTER_TIMEOUT' })
      expect(await idle.disconnected).toBe('io server disconnect')
      const prompt = await registered(undefined, quick.url)
      expect(prompt.socket.connected).toBe(true)
    } finally {
      await quick.close()
    }
  })
})

describe('rooms', () => {
  it('join answers with the peers present; joins and leaves are announced to the room only', async () => {
    const [a, b, c] = await Promise.all([registered(), registered(), registered()])
    expect(await a.join('lobby')).toEqual({ ok: true, peers: [] })
    expect(await b.join('lobby')).toEqual({ ok: true, peers: [a.peerId] })
    expect(await a.next('peer:joined')).toEqual({ peerId: b.peerId })
    expect(await c.join('elsewhere')).toEqual({ ok: true, peers: [] })

    expect(await b.ack('leave', { room: 'lobby' })).toEqual({ ok: true })
    expect(await a.next('peer:left')).toEqual({ peerId: b.peerId })
    expect(await c.join('lobby')).toEqual({ ok: true, peers: [a.peerId] })
    expect(await a.next('peer:joined')).toEqual({ peerId: c.peerId })
    c.close()
    expect(await a.next('peer:left')).toEqual({ peerId: c.peerId })
    // a heard about b and c only: nothing about c's other room, nothing twice.
    expect(a.log.filter((e) => e.event.startsWith('peer:')).map((e) => e.event)).toEqual([
      'peer:joined',
      'peer:left',
      'peer:joined',
      'peer:left',
    ])
  })

  it('join without a room joins "default"; joining twice changes nothing', async () => {
    const a = await registered()
    const b = await registered()
    await a.join()
    expect(await b.ack('join', { room: 'default' })).toMatchObject({ ok: true, peers: expect.arrayContaining([a.peerId]) })
    expect(await a.next('peer:joined')).toEqual({ peerId: b.peerId })
    expect(await b.join()).toMatchObject({ ok: true, peers: expect.arrayContaining([a.peerId]) })
    // The next announcement a receives is about a third peer, not b again.
    const c = await registered()
    await c.join()
    expect(await a.next('peer:joined')).toEqual({ peerId: c.peerId })
  })

  it('peers sharing several rooms are announced once: when they first share one and when they share none', async () => {
    const a = await registered()
    const b = await registered()
    await a.join('x')
    await a.join('y')
    await b.join('x')
    expect(await a.next('peer:joined')).toEqual({ peerId: b.peerId })
    await b.join('y')
    await b.ack('leave', { room: 'x' })
    // Still sharing y: the next event a sees is b leaving y, the last room they shared.
    await b.ack('leave', { room: 'y' })
    expect(await a.next('peer:left')).toEqual({ peerId: b.peerId })
    expect(a.count('peer:joined')).toBe(1)
    expect(a.count('peer:left')).toBe(1)
  })

  it('/health counts registered peers and rooms', async () => {
    const own = await createSignalingServer({ port: 0, staticDir: '/nonexistent' })
    try {
      expect(await health(own.url)).toEqual({ status: 'ok', service: 'noodlenet-signaling', peers: 0, rooms: 0 })
      const a = await registered(undefined, own.url)
      const b = await registered(undefined, own.url)
      await a.join('one')
      await b.join('two')
      expect(await health(own.url)).toEqual({ status: 'ok', service: 'noodlenet-signaling', peers: 2, rooms: 2 })
      b.close()
      await eventually(async () => (await health(own.url)).peers === 1, 5_000, 'b to be gone from /health')
      expect(await health(own.url)).toEqual({ status: 'ok', service: 'noodlenet-signaling', peers: 1, rooms: 1 })
    } finally {
      await own.close()
    }
  })

  it('a full room and too many rooms are refused with ROOM_FULL and TOO_MANY_ROOMS', async () => {
    const small = await createSignalingServer({ port: 0, staticDir: '/nonexistent', limits: { roomMaxPeers: 2, roomsPerConnection: 2 } })
    try {
      const [a, b, c] = await Promise.all([0, 1, 2].map(() => registered(undefined, small.url)))
      await a.join('r')
      await b.join('r')
      expect(await c.join('r')).toMatchObject({ ok: false, code: 'ROOM_FULL' })
      expect(await c.next('error')).toMatchObject({ code: 'ROOM_FULL', event: 'join' })
      await c.join('s')
      await c.join('t')
      expect(await c.join('u')).toMatchObject({ ok: false, code: 'TOO_MANY_ROOMS' })
    } finally {
      await small.close()
    }
  })
})

describe('relay', () => {
  it('relays signals between registered peers, with the sender proven by its registration', async () => {
    const a = await registered()
    const b = await registered()
    const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' }
    a.socket.emit('signal', { to: b.peerId, data: offer })
    expect(await b.next('signal')).toEqual({ from: a.peerId, data: offer })
    b.socket.emit('signal', { to: a.peerId, data: { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host' } })
    expect(await a.next('signal')).toMatchObject({ from: b.peerId })
  })

  it('peers need not share a room to signal: registration on this server is what counts', async () => {
    const a = await registered()
    const b = await registered()
    await a.join('one')
    await b.join('two')
    a.socket.emit('signal', { to: b.peerId, data: 1 })
    expect(await b.next('signal')).toEqual({ from: a.peerId, data: 1 })
  })

  it('a signal to a peer id not registered here is refused with PEER_NOT_FOUND naming it', async () => {
    const a = await registered()
    const absent = (await signSignalingChallenge(await generateKeyPair('Ed25519'), await a.challenge)).peerId
    a.socket.emit('signal', { to: absent, data: {} })
    expect(await a.next('error')).toMatchObject({ code: 'PEER_NOT_FOUND', event: 'signal', to: absent })
  })

  it('an unregistered connection cannot signal, nor be signalled', async () => {
    const a = await registered()
    const stranger = connect()
    await stranger.challenge
    stranger.socket.emit('signal', { to: a.peerId, data: 'hi' })
    expect(await stranger.next('error')).toMatchObject({ code: 'NOT_REGISTERED' })
    expect(a.count('signal')).toBe(0)
  })

  it('an oversize signal is refused with SIGNAL_TOO_LARGE; binary data with INVALID_PAYLOAD', async () => {
    const a = await registered()
    const b = await registered()
    a.socket.emit('signal', { to: b.peerId, data: 'x'.repeat(65 * 1024) })
    expect(await a.next('error')).toMatchObject({ code: 'SIGNAL_TOO_LARGE', to: b.peerId })
    a.socket.emit('signal', { to: b.peerId, data: new Uint8Array(16) })
    expect(await a.next('error')).toMatchObject({ code: 'INVALID_PAYLOAD', to: b.peerId })
    // A signal just under the cap goes through.
    a.socket.emit('signal', { to: b.peerId, data: 'y'.repeat(60 * 1024) })
    expect(((await b.next('signal')) as { data: string }).data).toHaveLength(60 * 1024)
    expect(b.count('signal')).toBe(1)
  })

  it('a message above the transport cap closes only that connection', async () => {
    const a = await registered()
    const b = await registered()
    a.socket.emit('signal', { to: b.peerId, data: 'z'.repeat(1024 * 1024) })
    expect(await a.disconnected).toBe('transport close')
    const c = await registered()
    c.socket.emit('signal', { to: b.peerId, data: 'still here' })
    expect(await b.next('signal')).toEqual({ from: c.peerId, data: 'still here' })
  })
})

describe('malformed events get an error event, and the server keeps serving others', () => {
  /** A registered pair that must keep working after each abuse. */
  async function wellBehavedPairStillWorks(): Promise<void> {
    const a = await registered()
    const b = await registered()
    await a.join('sanity')
    await b.join('sanity')
    a.socket.emit('signal', { to: b.peerId, data: 'ping' })
    expect(await b.next('signal')).toEqual({ from: a.peerId, data: 'ping' })
  }

  /** What the server receives: socket.io sends JSON, so undefined fields vanish and NaN becomes null. */
  const onTheWire = (value: unknown): unknown => JSON.parse(JSON.stringify(value) ?? 'null')

  it('random payloads to every event name (fast-check)', async () => {
    const registeredClient = await registered()
    const unregistered = connect()
    await unregistered.challenge
    const valid: Record<string, (value: unknown) => boolean> = {
      join: (value) => v.is(SignalingJoinSchema, value),
      leave: (value) => v.is(SignalingLeaveSchema, value),
      register: () => false, // every random register fails: its signature cannot be right
      signal: () => false, // every random signal fails: no random `to` is registered here
    }
    for (const event of Object.keys(SIGNALING_CLIENT_EVENTS)) {
      // 40 runs per name, 160 events in all: inside the rate limit's burst of 200.
      const client = event === 'register' ? unregistered : registeredClient
      await fc.assert(
        fc.asyncProperty(
          fc.anything().filter((payload) => !valid[event](onTheWire(payload))),
          async (payload) => {
            client.socket.emit(event, payload)
            const error = (await client.next('error')) as { code: string; event: string }
            expect(['INVALID_PAYLOAD', 'BAD_SIGNATURE', 'INVALID_PEER_ID', 'PEER_NOT_FOUND', 'SIGNAL_TOO_LARGE']).toContain(error.code)
            expect(error.event).toBe(event)
          },
        ),
        { numRuns: 40 },
      )
      expect(client.socket.connected).toBe(true)
    }
    await wellBehavedPairStillWorks()
  })

  it('wrong argument counts, unknown events (fast-check names) and events before register', async () => {
    const client = await registered()
    client.socket.emit('join')
    expect(await client.next('error')).toMatchObject({ code: 'INVALID_PAYLOAD', event: 'join' })
    client.socket.emit('join', {}, {})
    expect(await client.next('error')).toMatchObject({ code: 'INVALID_PAYLOAD', event: 'join' })
    client.socket.emit('error', { code: 'x' })
    expect(await client.next('error')).toMatchObject({ code: 'UNKNOWN_EVENT', event: 'error' })

    const reserved = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'])
    const names = fc
      .string({ minLength: 1, maxLength: 80 })
      .filter((name) => !reserved.has(name) && !Object.hasOwn(SIGNALING_CLIENT_EVENTS, name))
    const fuzzer = await registered()
    await fc.assert(
      fc.asyncProperty(names, fc.anything(), async (name, payload) => {
        fuzzer.socket.emit(name, payload)
        expect(await fuzzer.next('error')).toMatchObject({ code: 'UNKNOWN_EVENT' })
      }),
      { numRuns: 60 },
    )

    const early = connect()
    await early.challenge
    for (const [event, payload] of [
      ['join', {}],
      ['leave', { room: 'default' }],
      ['signal', { to: client.peerId, data: 1 }],
    ] as const) {
      early.socket.emit(event, payload)
      expect(await early.next('error')).toMatchObject({ code: 'NOT_REGISTERED', event })
    }
    await wellBehavedPairStillWorks()
  })

  it('a refused event that asked for an ack gets the refusal in its ack too', async () => {
    const client = await registered()
    expect(await client.ack('nonsense', 1)).toMatchObject({ ok: false, code: 'UNKNOWN_EVENT' })
    expect(await client.ack('join', { room: 'UPPER case' })).toMatchObject({ ok: false, code: 'INVALID_PAYLOAD' })
    expect(await client.ack('leave', {})).toMatchObject({ ok: false, code: 'INVALID_PAYLOAD' })
    expect(client.count('error')).toBe(3)
  })

  it('packets that are not socket.io at all close that connection only', async () => {
    const garbage = await registered()
    // An engine.io message whose content is no socket.io packet: the parser throws, socket.io closes the connection.
    garbage.socket.io.engine.send('2["unterminated', {})
    expect(await garbage.disconnected).toBe('transport close')
    const reserved = await registered()
    // A raw event named like one of socket.io's own.
    reserved.socket.io.engine.send('2["disconnect",{}]', {})
    expect(await reserved.disconnected).toBe('transport close')
    await wellBehavedPairStillWorks()
    expect((await health()).status).toBe('ok')
  })
})

describe('rate limit', () => {
  it('past the burst, events are dropped; the sender hears RATE_LIMITED about once a second, not once per event', async () => {
    const a = await registered()
    const b = await registered()
    const sentAt = performance.now()
    for (let i = 0; i < 400; i++) a.socket.emit('signal', { to: b.peerId, data: i })
    expect(await a.next('error')).toMatchObject({ code: 'RATE_LIMITED', event: 'signal' })
    // Once the bucket has refilled, a marker goes through; every signal b got before it was accepted.
    await eventually(
      async () =>
        (
          await a.socket
            .timeout(200)
            .emitWithAck('signal', { to: b.peerId, data: 'marker' })
            .catch(() => undefined)
        )?.ok === true,
      5_000,
      'the bucket to refill',
    )
    await b.next('signal') // wait until at least one arrived, then for the marker
    await eventually(
      () => b.log.some((e) => e.event === 'signal' && (e.args[0] as { data: unknown }).data === 'marker'),
      5_000,
      'the marker',
    )
    const relayed = b.log.filter((e) => e.event === 'signal' && typeof (e.args[0] as { data: unknown }).data === 'number')
    const numbers = relayed.map((e) => (e.args[0] as { data: number }).data)
    const delivered = numbers.length
    // The burst, plus what the bucket refilled (100/s) while the server worked through the 400.
    const refillMs = relayed[relayed.length - 1].at - sentAt
    expect(delivered).toBeGreaterThanOrEqual(200)
    expect(delivered).toBeLessThanOrEqual(200 + Math.ceil(refillMs / 10) + 1)
    expect(delivered).toBeLessThan(400)
    // The burst went through whole and in order; later ones only as the bucket refilled, still in order.
    expect(numbers.slice(0, 200)).toEqual(Array.from({ length: 200 }, (_, i) => i))
    expect(numbers.every((n, i) => i === 0 || n > numbers[i - 1])).toBe(true)
    expect(a.count('error')).toBeLessThanOrEqual(3)
  })

  it('a full server refuses new connections with SERVER_FULL', async () => {
    const full = await createSignalingServer({ port: 0, staticDir: '/nonexistent', limits: { maxConnections: 2 } })
    try {
      await registered(undefined, full.url)
      await registered(undefined, full.url)
      const third = connect(full.url)
      expect(await third.next('error')).toMatchObject({ code: 'SERVER_FULL' })
      expect(await third.disconnected).toBe('io server disconnect')
    } finally {
      await full.close()
    }
  })
})
