// What is particular to the signalled WebRTC transport, between libp2p nodes in one process (@roamhq/wrtc)
// signalled through an in-memory hub: its addresses, refusals, a signalling outage, and a signalling server that
// lies about who is who. Streams, transfers, backpressure, close and abort: transport-compliance.test.ts.

import type { Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { MemorySignalHub, type RelayedSignal, signalledListenAddress, type WebRTCSignalledInit, webRTCSignalled } from '../src/index.js'
import { ECHO, eventually, randomBytes, readAll, sendAll, sha256, startNode } from './support/nodes.js'

const running: Libp2p[] = []

async function webrtcNode(hub: MemorySignalHub, init: Partial<WebRTCSignalledInit> = {}, listen = true): Promise<Libp2p> {
  const listenAddrs = listen ? [signalledListenAddress(hub.address).toString()] : []
  const node = await startNode(webRTCSignalled({ signaling: [hub.connect], candidates: 'loopback', ...init }), listenAddrs)
  running.push(node)
  return node
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((node) => node.stop()))
})

describe('webRTCSignalled: dial and listen', () => {
  it('listens on <hub>/p2p-webrtc-star and dials a peer by that address, noise + yamux on top', async () => {
    const hub = new MemorySignalHub()
    const [a, b] = [await webrtcNode(hub), await webrtcNode(hub)]
    const addr = b.getMultiaddrs()[0]
    expect(addr.toString()).toBe(`${hub.address.toString()}/p2p-webrtc-star/p2p/${b.peerId.toString()}`)

    const connection = await a.dial(addr)
    expect(connection.remotePeer.equals(b.peerId)).toBe(true)
    expect(connection.encryption).toBe('/noise')
    expect(connection.multiplexer).toBe('/yamux/1.0.0')
    await eventually(() => b.getConnections(a.peerId).length === 1, 5_000, 'the inbound side of the connection')
    expect(b.getConnections(a.peerId)[0].remoteAddr.toString()).toBe(`/p2p-webrtc-star/p2p/${a.peerId.toString()}`)

    const stream = await connection.newStream(ECHO)
    const payload = randomBytes(1000)
    stream.send(payload)
    await stream.close()
    expect(sha256(await readAll(stream))).toBe(sha256(payload))
  })

  it('dials by peer id once the address is known, in both directions', async () => {
    const hub = new MemorySignalHub()
    const [a, b] = [await webrtcNode(hub), await webrtcNode(hub)]
    await a.peerStore.merge(b.peerId, { multiaddrs: b.getMultiaddrs() })
    const stream = await a.dialProtocol(b.peerId, ECHO)
    stream.send(new Uint8Array([1, 2, 3]))
    await stream.close()
    expect([...(await readAll(stream))]).toEqual([1, 2, 3])
    // b can open streams on the connection a made
    await eventually(() => b.getConnections(a.peerId).length === 1, 5_000, 'the inbound connection')
    const back = await b.dialProtocol(a.peerId, ECHO)
    back.send(new Uint8Array([4]))
    await back.close()
    expect([...(await readAll(back))]).toEqual([4])
  })

  it('refuses a dial to a peer that is registered but not listening, without waiting for a timeout', async () => {
    const hub = new MemorySignalHub()
    const a = await webrtcNode(hub)
    const b = await webrtcNode(hub, {}, false)
    const started = Date.now()
    await expect(a.dial(signalledListenAddress(hub.address).encapsulate(`/p2p/${b.peerId.toString()}`))).rejects.toThrow(/NOT_LISTENING/)
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('fails at once when the signalling server cannot reach the peer', async () => {
    const hub = new MemorySignalHub()
    const a = await webrtcNode(hub)
    const stranger = (await webrtcNode(new MemorySignalHub())).peerId // registered elsewhere, not on this hub
    const started = Date.now()
    await expect(a.dial(signalledListenAddress(hub.address).encapsulate(`/p2p/${stranger.toString()}`))).rejects.toThrow(/not registered/)
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('says which signalling server is missing when asked to dial through one it does not use', async () => {
    const hub = new MemorySignalHub()
    const other = new MemorySignalHub()
    const a = await webrtcNode(hub)
    const b = await webrtcNode(other)
    await expect(a.dial(b.getMultiaddrs()[0])).rejects.toThrow(/not connected to signalling server \/memory\//)
  })
})

describe('webRTCSignalled: an untrusted signalling server', () => {
  it('keeps established links carrying traffic while the signalling server is gone', async () => {
    let serverUp = true
    const hub = new MemorySignalHub({ route: (signal) => (serverUp ? signal : undefined) })
    const [a, b] = [await webrtcNode(hub), await webrtcNode(hub)]
    const connection = await a.dial(b.getMultiaddrs()[0])
    serverUp = false
    const payload = randomBytes(256 * 1024)
    const stream = await connection.newStream(ECHO)
    const [, echoed] = await Promise.all([sendAll(stream, payload).then(() => stream.close()), readAll(stream)])
    expect(sha256(echoed)).toBe(sha256(payload))
    // and a new dial fails (by the dial timeout) rather than hanging
    const c = await webrtcNode(hub)
    await expect(a.dial(c.getMultiaddrs()[0], { signal: AbortSignal.timeout(1_000) })).rejects.toThrow()
  })

  it('does not connect to the wrong peer when the server swaps signals (noise refuses it)', async () => {
    // The server sends a's signals for b to c instead, and labels c's answers to a as coming from b.
    const ids: Record<string, string> = {}
    const hub = new MemorySignalHub({
      route: (signal: RelayedSignal): RelayedSignal => {
        if (signal.from === ids.a && signal.to === ids.b) return { ...signal, to: ids.c }
        if (signal.from === ids.c && signal.to === ids.a) return { ...signal, from: ids.b }
        return signal
      },
    })
    const [a, b, c] = [await webrtcNode(hub), await webrtcNode(hub), await webrtcNode(hub)]
    Object.assign(ids, { a: a.peerId.toString(), b: b.peerId.toString(), c: c.peerId.toString() })

    await expect(a.dial(b.getMultiaddrs()[0])).rejects.toThrow()
    // The WebRTC link to c did come up (the swap worked): the hub carried c's answer to a.
    expect(hub.sent.some((s) => s.from === ids.c && s.to === ids.a)).toBe(true)
    expect(a.getConnections()).toHaveLength(0)
    // c never gets a usable connection to a either: a dropped the link during the handshake.
    await new Promise((resolve) => setTimeout(resolve, 200))
    await eventually(() => c.getConnections().length === 0, 5_000, 'c to have no connection')
    expect(b.getConnections()).toHaveLength(0)
  })

  it('refuses an inbound link whose noise identity is not the peer the server named as the sender', async () => {
    // The server relabels a's offer to b as coming from c; b expects c, noise proves a.
    const ids: Record<string, string> = {}
    const hub = new MemorySignalHub({
      route: (signal: RelayedSignal): RelayedSignal => {
        if (signal.from === ids.a && signal.to === ids.b) return { ...signal, from: ids.c }
        if (signal.from === ids.b && signal.to === ids.c) return { ...signal, to: ids.a }
        return signal
      },
    })
    const [a, b, c] = [await webrtcNode(hub), await webrtcNode(hub), await webrtcNode(hub)]
    Object.assign(ids, { a: a.peerId.toString(), b: b.peerId.toString(), c: c.peerId.toString() })
    // a's dial may get as far as its own side of the handshake; b must not accept the connection.
    await a.dial(b.getMultiaddrs()[0]).then(
      (connection) => eventually(() => connection.status !== 'open', 5_000, 'a to lose the refused connection'),
      () => undefined,
    )
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(b.getConnections()).toHaveLength(0)
    await eventually(() => a.getConnections().length === 0, 5_000, 'a to have no connection')
  })
})
