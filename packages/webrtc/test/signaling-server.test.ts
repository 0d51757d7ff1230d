// The transport through a real signalling server (signaling/, run as its own process) with the socket.io client:
// nodes that know only the server's URL find each other in its room and connect over WebRTC; the links outlive the
// server; after a restart, clients re-register and new links form.

import type { Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { SignalingProcess } from '../../../signaling/test/support/signaling-process.js'
import { signalingUrlToMultiaddr, signalledListenAddress, webRTCSignalled } from '../src/index.js'
import { ECHO, eventually, randomBytes, readAll, sendAll, sha256, startNode } from './support/nodes.js'

const running: Libp2p[] = []
const servers: SignalingProcess[] = []

async function server(args: string[] = ['--port', '0']): Promise<{ process: SignalingProcess; url: string }> {
  const process = new SignalingProcess(['--host', '127.0.0.1', ...args])
  servers.push(process)
  return { process, url: await process.url() }
}

async function nodeVia(url: string): Promise<Libp2p> {
  const listen = signalledListenAddress(signalingUrlToMultiaddr(url)).toString()
  const node = await startNode(webRTCSignalled({ signaling: [url], candidates: 'loopback' }), [listen])
  running.push(node)
  return node
}

async function echoes(node: Libp2p, peer: Libp2p): Promise<boolean> {
  const stream = await node.dialProtocol(peer.peerId, ECHO)
  const payload = randomBytes(128 * 1024)
  const [, echoed] = await Promise.all([sendAll(stream, payload).then(() => stream.close()), readAll(stream)])
  return sha256(echoed) === sha256(payload)
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((node) => node.stop()))
  await Promise.all(servers.splice(0).map((process) => process.kill()))
})

describe('webRTCSignalled through a signalling server', () => {
  it('finds the peers in the room (peer:discovery) and connects to them by peer id', async () => {
    const { url } = await server()
    const a = await nodeVia(url)
    const b = await nodeVia(url)
    expect(a.getMultiaddrs()[0].toString()).toBe(`${signalingUrlToMultiaddr(url).toString()}/p2p-webrtc-star/p2p/${a.peerId.toString()}`)
    // b joined after a: the server told a (peer:joined) and b (the room list); both stored the other's address.
    await eventually(async () => (await a.peerStore.has(b.peerId)) && (await b.peerStore.has(a.peerId)), 30_000, 'discovery')
    expect(await echoes(a, b)).toBe(true)
    expect(a.getConnections(b.peerId)[0].remoteAddr.toString()).toContain('/p2p-webrtc-star/')
  })

  it('keeps links up while the server is down, and makes new ones after it restarts', async () => {
    const first = await server()
    const port = new URL(first.url).port
    const a = await nodeVia(first.url)
    const b = await nodeVia(first.url)
    await eventually(async () => a.peerStore.has(b.peerId), 30_000, 'discovery')
    expect(await echoes(a, b)).toBe(true)

    await first.process.kill()
    expect(await echoes(a, b)).toBe(true)
    expect(await echoes(b, a)).toBe(true)

    // Same port, so the clients' URL still points at it; they reconnect with backoff and register again.
    const second = await server(['--port', port])
    expect(second.url).toBe(first.url)
    const c = await nodeVia(second.url)
    await eventually(async () => (await c.peerStore.has(a.peerId)) && (await c.peerStore.has(b.peerId)), 30_000, 'c to discover a and b')
    expect(await echoes(c, a)).toBe(true)
    expect(await echoes(b, c)).toBe(true)
  })
})
