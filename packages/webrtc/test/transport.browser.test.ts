// The transport in Chromium: two libp2p nodes in one page connect over the browser's own RTCPeerConnection
// (@thaunknown/simple-peer, picked by the `browser` condition of #rtc-peer-factory), signalled through an in-page
// hub, with noise and yamux on top.

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { MemorySignalHub, signalledListenAddress, webRTCSignalled } from '../src/index.js'

const ECHO = '/test/echo/1.0.0'
const running: Libp2p[] = []

async function browserNode(hub: MemorySignalHub): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: [signalledListenAddress(hub.address).toString()] },
    transports: [webRTCSignalled({ signaling: [hub.connect] })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // The browser's default gater refuses "private" addresses; /memory/… counts as one.
    connectionGater: { denyDialMultiaddr: () => false },
  })
  await node.handle(ECHO, async (stream) => {
    for await (const chunk of stream) if (!stream.send(chunk)) await stream.onDrain()
    await stream.close()
  })
  running.push(node)
  return node
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((node) => node.stop()))
})

describe('webRTCSignalled in Chromium', () => {
  // One retry: on a cold Vite cache the first run once (1 in ~7) stalled past the noise handshake timeout while
  // modules were still loading; a real failure fails twice. Noted as open in the issue.
  it('connects two in-page nodes over the native RTCPeerConnection and echoes 1 MiB', { retry: 1 }, async () => {
    const hub = new MemorySignalHub()
    const [a, b] = [await browserNode(hub), await browserNode(hub)]
    const connection = await a.dial(b.getMultiaddrs()[0])
    expect(connection.remotePeer.equals(b.peerId)).toBe(true)
    expect(connection.encryption).toBe('/noise')
    const stream = await connection.newStream(ECHO)
    const payload = new Uint8Array(1024 * 1024)
    for (let i = 0; i < payload.length; i += 65_536) crypto.getRandomValues(payload.subarray(i, i + 65_536))
    const echoed: Uint8Array[] = []
    const reading = (async () => {
      for await (const chunk of stream) echoed.push(chunk.subarray())
    })()
    for (let i = 0; i < payload.length; i += 65_536) if (!stream.send(payload.subarray(i, i + 65_536))) await stream.onDrain()
    await stream.close()
    await reading
    const joined = new Uint8Array(echoed.reduce((n, c) => n + c.byteLength, 0))
    let offset = 0
    for (const chunk of echoed) {
      joined.set(chunk, offset)
      offset += chunk.byteLength
    }
    expect(joined.byteLength).toBe(payload.byteLength)
    expect(joined.every((byte, i) => byte === payload[i])).toBe(true)
  })
})
