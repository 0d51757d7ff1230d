// Bad input never takes a peer down: garbage on its TCP port closes that connection only, and garbage on an open
// protocol stream gets a typed error and a closed stream while the connection keeps serving.

import { once } from 'node:events'
import { connect } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { FrameStream, NoodleNode, PROFILE_PROTOCOL, RpcResponseSchema, resolveConfig } from '@noodlenet/shared'
import { afterEach, describe, expect, it } from 'vitest'
import { nodePlatform } from '../src/platform.js'
import { type ApiPeer, eventually, type PeerProcess, startPeer } from './support/peer-process.js'

let peers: PeerProcess[] = []
let local: NoodleNode | undefined
afterEach(async () => {
  await local?.stop()
  local = undefined
  await Promise.all(peers.map((peer) => peer.kill()))
  peers = []
})

function tcpPort(addr: string): number {
  const port = multiaddr(addr)
    .getComponents()
    .find((component) => component.name === 'tcp')?.value
  return Number(port)
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i += 65_536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65_536)))
  return bytes
}

describe('garbage input', () => {
  it('garbage on the TCP listen port closes that socket; the peer stays up and keeps its other links', async () => {
    const a = startPeer()
    peers.push(a)
    const readyA = await a.ready
    const b = startPeer(['--bootstrap', readyA.addrs[0]])
    peers.push(b)
    const readyB = await b.ready
    await eventually(
      async () => (await a.api<ApiPeer[]>('/api/peers')).some((p) => p.peerId === readyB.peerId),
      10_000,
      'a and b to connect',
    )

    for (let round = 0; round < 3; round++) {
      const socket = connect(tcpPort(readyA.addrs[0]), '127.0.0.1')
      socket.on('error', () => {})
      await once(socket, 'connect')
      socket.write(randomBytes(64 * 1024))
      await new Promise((resolve) => socket.once('close', resolve))
    }

    expect(await a.api<{ status: string }>('/health')).toMatchObject({ status: 'ok', peerId: readyA.peerId })
    expect((await a.api<ApiPeer[]>('/api/peers')).map((p) => p.peerId)).toContain(readyB.peerId)
  })

  it('garbage on an open protocol stream is answered with a typed error and the stream closes; the connection keeps serving', async () => {
    const a = startPeer()
    peers.push(a)
    const readyA = await a.ready
    const config = resolveConfig([
      { source: 'test', values: { network: { mdns: false, listen: ['/ip4/127.0.0.1/tcp/0'] }, monitoring: { logLevel: 'ERROR' } } },
    ])
    local = await NoodleNode.create({ config, platform: nodePlatform({ logSink: { write: () => {} } }) })
    await local.start()
    const connection = await local.libp2p.dial(multiaddr(readyA.addrs[0]))

    const stream = await connection.newStream(PROFILE_PROTOCOL.protocol)
    const frames = new FrameStream(stream, 1024 * 1024)
    // A length prefix and CBOR that is not a request envelope, then raw junk.
    stream.send(new Uint8Array([5, 0xff, 0xff, 0xff, 0xff, 0xff]))
    stream.send(randomBytes(4096))
    const answer = await frames.read(RpcResponseSchema, AbortSignal.timeout(10_000))
    expect(answer).toMatchObject({ ok: false })
    expect(['FRAME_MALFORMED', 'FRAME_INVALID', 'FRAME_TOO_LARGE']).toContain(answer?.ok === false ? answer.error.code : '')
    // The peer ended the stream: the next read sees its end (or the reset), never another frame.
    const after = await frames.read(RpcResponseSchema, AbortSignal.timeout(10_000)).catch((err: Error) => err)
    expect(after === null || (after instanceof Error && 'code' in after && after.code === 'STREAM_CLOSED')).toBe(true)

    expect(connection.status).toBe('open')
    const profile = await local.rpc.request(connection.remotePeer, PROFILE_PROTOCOL, {})
    expect(profile.peerId).toBe(readyA.peerId)
    expect(await a.api<{ status: string }>('/health')).toMatchObject({ status: 'ok' })
  })
})
