// The SignalingClient (packages/webrtc) against real servers: it registers and joins, reports peers and signals as
// typed events, refuses to send while unregistered, and after the server process is killed and restarted on the
// same port it reconnects with backoff, registers and joins again by itself.

import { generateKeyPair } from '@libp2p/crypto/keys'
import { isNoodleError } from '@noodlenet/shared'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SignalingClient, type SignalingClientEvents } from '../../packages/webrtc/src/signaling-client.js'
import { createSignalingServer, type SignalingServer } from '../src/index.js'
import { SignalingProcess } from './support/signaling-process.js'
import { eventually } from './support/test-client.js'

let server: SignalingServer
let clients: SignalingClient[] = []
let processes: SignalingProcess[] = []

beforeAll(async () => {
  server = await createSignalingServer({ port: 0, staticDir: '/nonexistent' })
})
afterAll(async () => {
  await server.close()
})
afterEach(async () => {
  await Promise.all(clients.map((client) => client.close()))
  clients = []
  await Promise.all(processes.map((p) => p.kill()))
  processes = []
})

async function client(url = server.url, room?: string, key?: Awaited<ReturnType<typeof generateKeyPair>>): Promise<SignalingClient> {
  const made = new SignalingClient({
    url,
    room,
    privateKey: key ?? (await generateKeyPair('Ed25519')),
    reconnect: { minMs: 50, maxMs: 400 },
  })
  clients.push(made)
  return made
}

/** The next `name` event's detail. */
function next<K extends keyof SignalingClientEvents>(
  emitter: SignalingClient,
  name: K,
  timeoutMs = 10_000,
): Promise<SignalingClientEvents[K]['detail']> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${String(name)} event within ${timeoutMs} ms`)), timeoutMs)
    emitter.addEventListener(
      name,
      (event) => {
        clearTimeout(timer)
        resolve((event as CustomEvent).detail)
      },
      { once: true },
    )
  })
}

describe('SignalingClient', () => {
  it('registers, joins, hears peers come and go, and relays signals', async () => {
    const a = await client(server.url, 'meet')
    const aConnected = next(a, 'connected')
    a.start()
    expect(await aConnected).toEqual({ url: server.url, peers: [] })
    expect(a.state).toBe('ready')

    const b = await client(server.url, 'meet')
    const joined = next(a, 'peer:joined')
    const bConnected = next(b, 'connected')
    b.start()
    expect((await bConnected).peers).toEqual([a.peerId])
    expect(await joined).toEqual({ peerId: b.peerId })
    expect([...a.peers]).toEqual([b.peerId])

    const received = next(b, 'signal')
    a.sendSignal(b.peerId, { type: 'offer', sdp: 'v=0' })
    expect(await received).toEqual({ from: a.peerId, data: { type: 'offer', sdp: 'v=0' } })

    const left = next(a, 'peer:left')
    await b.close()
    expect(await left).toEqual({ peerId: b.peerId })
    expect(a.peers.size).toBe(0)
  })

  it('refuses to send while not registered, and above the signal cap; server refusals arrive as error events', async () => {
    // A trailing slash is no namespace: the URL's path is where the server is mounted (here: the root).
    const a = await client(`${server.url}/`)
    expect(a.address.toString()).toBe(`/ip4/127.0.0.1/tcp/${server.port}/http`)
    try {
      a.sendSignal('12D3KooWanybody', {})
      expect.unreachable()
    } catch (err) {
      expect(isNoodleError(err, 'SIGNALING_UNAVAILABLE')).toBe(true)
    }
    a.start()
    await a.whenReady()
    expect(() => a.sendSignal('12D3KooWanybody', 'x'.repeat(70 * 1024))).toThrow(/signal data is \d+ bytes/)
    const error = next(a, 'error')
    a.sendSignal('12D3KooWnobodyHere', { candidate: '' })
    expect(await error).toMatchObject({ code: 'PEER_NOT_FOUND', to: '12D3KooWnobodyHere' })
    expect(a.state).toBe('ready')
  })

  it('a second client with the same key takes the registration over; the first is told and stops', async () => {
    const key = await generateKeyPair('Ed25519')
    const first = await client(server.url, undefined, key)
    first.start()
    await first.whenReady()
    const replaced = next(first, 'error')
    const disconnected = next(first, 'disconnected')
    const second = await client(server.url, undefined, key)
    second.start()
    await second.whenReady()
    expect(await replaced).toMatchObject({ code: 'REPLACED' })
    expect(await disconnected).toMatchObject({ reason: 'closed' })
    expect(first.state).toBe('closed')
    expect(second.state).toBe('ready')
    await expect(first.whenReady()).rejects.toThrow(/closed/)
  })

  it('after the server process is killed and restarted on the same port, clients register and join again', async () => {
    const original = new SignalingProcess(['--port', '0'])
    processes.push(original)
    const url = await original.url()
    const port = new URL(url).port
    const a = await client(url, 'restart')
    const b = await client(url, 'restart')
    a.start()
    await a.whenReady()
    b.start()
    await b.whenReady()
    await eventually(() => a.peers.has(b.peerId), 5_000, 'a to see b')

    const aDown = next(a, 'disconnected')
    const bDown = next(b, 'disconnected')
    await original.kill()
    expect((await aDown).reason).toBe('transport close')
    await bDown
    expect(a.state).toBe('connecting')
    expect(() => a.sendSignal(b.peerId, 'lost')).toThrow(/not registered/)

    // Clients retry while nothing listens (connect errors, backoff growing), then find the new server.
    const aUp = next(a, 'connected')
    const bUp = next(b, 'connected')
    const restarted = new SignalingProcess(['--port', port])
    processes.push(restarted)
    expect(await restarted.url()).toBe(url)
    await Promise.all([aUp, bUp])
    await eventually(() => a.peers.has(b.peerId) && b.peers.has(a.peerId), 5_000, 'a and b to see each other again')
    expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: 'ok', service: 'noodlenet-signaling', peers: 2, rooms: 1 })

    const received = next(b, 'signal')
    a.sendSignal(b.peerId, 'after restart')
    expect(await received).toEqual({ from: a.peerId, data: 'after restart' })

    // A graceful restart (SIGTERM) is the same to the clients.
    const aAgain = next(a, 'connected')
    expect(await restarted.stop()).toBe(0)
    const third = new SignalingProcess(['--port', port])
    processes.push(third)
    await third.ready
    await aAgain
    expect(a.state).toBe('ready')
  })

  it('close() while reconnecting stops the retries', async () => {
    const doomed = new SignalingProcess(['--port', '0'])
    processes.push(doomed)
    const a = await client(await doomed.url())
    a.start()
    await a.whenReady()
    const down = next(a, 'disconnected')
    await doomed.kill()
    await down
    const waiting = a.whenReady()
    await a.close()
    await expect(waiting).rejects.toThrow(/closed/)
    expect(a.state).toBe('closed')
  })
})
