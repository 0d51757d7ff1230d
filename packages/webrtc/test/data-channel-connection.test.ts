// A data channel as a MultiaddrConnection, below noise and yamux: two simple-peers over @roamhq/wrtc in one
// process, wrapped directly. Backpressure from bufferedAmount, the close handshake that delivers the tail, resets.

import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { DataChannelConnection } from '../src/data-channel-connection.js'
import { type BufferedAmountMarks, EarlyMessages, type RtcPeer } from '../src/rtc-peer.js'
import { createRtcPeer } from '../src/rtc-peer-factory.js'
import { eventually, randomBytes, sha256 } from './support/nodes.js'

const HIGH = 512 * 1024
const LOW = 128 * 1024
const peers: RtcPeer[] = []

afterEach(() => {
  for (const peer of peers.splice(0)) peer.destroy()
})

async function connectedPair(marks?: BufferedAmountMarks): Promise<[DataChannelConnection, DataChannelConnection, RtcPeer]> {
  const a = await createRtcPeer({ initiator: true, config: {} })
  const b = await createRtcPeer({ initiator: false, config: {} })
  peers.push(a, b)
  a.on('signal', (signal) => b.signal(signal))
  b.on('signal', (signal) => a.signal(signal))
  await Promise.all([new Promise<void>((resolve) => a.on('connect', resolve)), new Promise<void>((resolve) => b.on('connect', resolve))])
  const log = defaultLogger().forComponent('test:data-channel')
  const options = {
    ...(marks === undefined ? { bufferedAmountHighBytes: HIGH, bufferedAmountLowBytes: LOW } : { marks }),
    closeHandshakeTimeoutMs: 2_000,
    log,
  }
  return [
    new DataChannelConnection({ ...options, peer: a, remoteAddr: multiaddr('/p2p-webrtc-star'), direction: 'outbound' }),
    new DataChannelConnection({ ...options, peer: b, remoteAddr: multiaddr('/p2p-webrtc-star'), direction: 'inbound' }),
    a,
  ]
}

function collect(connection: DataChannelConnection): { chunks: Uint8Array[]; bytes: () => number; all: () => Uint8Array } {
  const chunks: Uint8Array[] = []
  connection.addEventListener('message', (event) => chunks.push(event.data.subarray()))
  return {
    chunks,
    bytes: () => chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0),
    all: () => Buffer.concat(chunks),
  }
}

describe('DataChannelConnection', () => {
  it('reports full above the high-water mark and drains below the low one, keeping bufferedAmount bounded', async () => {
    const [a, b, rawA] = await connectedPair()
    const received = collect(b)
    const payload = randomBytes(8 * 1024 * 1024)
    let fullCount = 0
    let maxBuffered = 0
    for (let offset = 0; offset < payload.byteLength; offset += 16 * 1024) {
      if (!a.send(payload.subarray(offset, offset + 16 * 1024))) {
        fullCount++
        maxBuffered = Math.max(maxBuffered, rawA._channel?.bufferedAmount ?? 0)
        await a.onDrain()
        expect(rawA._channel?.bufferedAmount ?? 0).toBeLessThanOrEqual(LOW)
      }
    }
    await eventually(() => received.bytes() === payload.byteLength, 20_000, 'all bytes to arrive')
    expect(sha256(received.all())).toBe(sha256(payload))
    expect(fullCount).toBeGreaterThan(0)
    // what waits in the channel never exceeds the mark by more than one turn's writes
    expect(maxBuffered).toBeLessThanOrEqual(HIGH + 16 * 1024)
  })

  it('takes a write far above the high-water mark in pieces, never putting much more than the mark into the channel', async () => {
    // What a writer that ignores backpressure causes: @libp2p/utils' onDrain() resolves at once after the first
    // drain, so the base class hands over everything written since in one call.
    const [a, b, rawA] = await connectedPair()
    const received = collect(b)
    const payload = randomBytes(8 * 1024 * 1024)
    let maxBuffered = 0
    const sampler = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, rawA._channel?.bufferedAmount ?? 0)
    }, 1)
    try {
      expect(a.send(payload)).toBe(false)
      await eventually(() => received.bytes() === payload.byteLength, 20_000, 'all bytes to arrive')
    } finally {
      clearInterval(sampler)
    }
    expect(sha256(received.all())).toBe(sha256(payload))
    expect(maxBuffered).toBeGreaterThan(0)
    // pieces are cut at message boundaries (64 KiB), so one may pass the mark by less than a message
    expect(maxBuffered).toBeLessThan(HIGH + 64 * 1024)
  })

  it('keeps a new connection to the start marks for its first bytes, then to the full ones', async () => {
    // Browsers start short (rtc-peer-factory.browser.ts): a long queue makes Chromium drop packets in slow start.
    const START_HIGH = 64 * 1024
    const START_BYTES = 2 * 1024 * 1024
    const CHUNK = 16 * 1024
    const [a, b] = await connectedPair({
      highBytes: HIGH,
      lowBytes: LOW,
      start: { highBytes: START_HIGH, lowBytes: 16 * 1024, bytes: START_BYTES },
    })
    const received = collect(b)
    const payload = randomBytes(8 * 1024 * 1024)
    // How much the connection takes between two "full"s, before and after the start phase.
    const taken = { start: 0, full: 0 }
    let sinceFull = 0
    for (let offset = 0; offset < payload.byteLength; offset += CHUNK) {
      sinceFull += CHUNK
      if (a.send(payload.subarray(offset, offset + CHUNK))) continue
      if (offset < START_BYTES - START_HIGH) taken.start = Math.max(taken.start, sinceFull)
      else if (offset > START_BYTES + HIGH) taken.full = Math.max(taken.full, sinceFull)
      sinceFull = 0
      await new Promise((resolve) => a.addEventListener('drain', resolve, { once: true }))
    }
    await eventually(() => received.bytes() === payload.byteLength, 20_000, 'all bytes to arrive')
    expect(sha256(received.all())).toBe(sha256(payload))
    expect(taken.start).toBeGreaterThan(0)
    expect(taken.start).toBeLessThanOrEqual(START_HIGH + CHUNK)
    expect(taken.full).toBeGreaterThan(START_HIGH + CHUNK)
    expect(taken.full).toBeLessThanOrEqual(HIGH + CHUNK)
  })

  it('a close delivers every byte written before it, then both sides are closed', async () => {
    const [a, b] = await connectedPair()
    const received = collect(b)
    const payload = randomBytes(8 * 1024 * 1024)
    for (let offset = 0; offset < payload.byteLength; offset += 64 * 1024) {
      if (!a.send(payload.subarray(offset, offset + 64 * 1024))) await a.onDrain()
    }
    await a.close()
    expect(a.status).toBe('closed')
    await eventually(() => b.status === 'closed', 5_000, 'the remote to close')
    expect(received.bytes()).toBe(payload.byteLength)
    expect(sha256(received.all())).toBe(sha256(payload))
  })

  it('a close from the remote side ends ours after what it sent, and confirms', async () => {
    const [a, b] = await connectedPair()
    const received = collect(a)
    const payload = randomBytes(1024 * 1024)
    b.send(payload)
    await b.close()
    expect(b.status).toBe('closed')
    await eventually(() => a.status === 'closed', 5_000, 'our side to close')
    expect(sha256(received.all())).toBe(sha256(payload))
  })

  it('an abort is a reset on the other side', async () => {
    const [a, b] = await connectedPair()
    a.abort(new Error('test'))
    expect(a.status).toBe('aborted')
    await eventually(() => b.status === 'reset', 5_000, 'the remote to see a reset')
  })

  it('keeps bytes the remote sends before our side reports connect, once each and in order', async () => {
    const log = defaultLogger().forComponent('test:data-channel')
    for (let attempt = 0; attempt < 5; attempt++) {
      const a = await createRtcPeer({ initiator: true, config: {} })
      const b = await createRtcPeer({ initiator: false, config: {} })
      peers.push(a, b)
      const early = new EarlyMessages(b) // as Negotiation does, right after the peer is made
      a.on('signal', (signal) => b.signal(signal))
      b.on('signal', (signal) => a.signal(signal))
      // a talks the moment its channel opens, before either side's simple-peer reports connect
      a._channel?.addEventListener('open', () => {
        for (let i = 0; i < 10; i++) a._channel?.send(new Uint8Array([i]))
      })
      await new Promise<void>((resolve) => b.on('connect', resolve))
      const connection = new DataChannelConnection({ peer: b, early, remoteAddr: multiaddr('/p2p-webrtc-star'), direction: 'inbound', log })
      const received = collect(connection)
      await eventually(() => received.bytes() >= 10, 5_000, 'the ten bytes')
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect([...received.all()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      connection.abort(new Error('done'))
    }
  })

  it('a text message that is not the close handshake is a protocol error', async () => {
    const [a, b, rawA] = await connectedPair()
    rawA._channel?.send('hello')
    await eventually(() => b.status === 'aborted', 5_000, 'the receiver to abort')
    await eventually(() => a.status === 'reset', 5_000, 'the sender to see the reset')
  })
})
