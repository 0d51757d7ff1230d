// Node peers over WebRTC: two `noodlenet start --signaling URL` processes with no bootstrap list meet in the
// signalling server's room and link over WebRTC data channels with noise, seen from both admin APIs.

import { afterAll, describe, expect, it } from 'vitest'
import { SignalingProcess } from '../../signaling/test/support/signaling-process.js'
import { type ApiPeer, eventually, type PeerProcess, startPeer } from './support/peer-process.js'

const peers: PeerProcess[] = []
let signaling: SignalingProcess | undefined

afterAll(async () => {
  await Promise.all(peers.map((peer) => peer.kill()))
  await signaling?.stop()
})

describe('noodlenet start --signaling', () => {
  it('two peers that only share a signalling server link over WebRTC with noise', async () => {
    signaling = new SignalingProcess(['--port', '0'])
    const url = await signaling.url()
    const a = startPeer(['--signaling', url, '--ice-candidates', 'loopback'])
    const b = startPeer(['--signaling', url, '--ice-candidates', 'loopback'])
    peers.push(a, b)
    const [readyA, readyB] = await Promise.all([a.ready, b.ready])
    expect(readyA.addrs.some((addr) => addr.includes('/p2p-webrtc-star/'))).toBe(true)

    const link = async (peer: PeerProcess, other: string) =>
      (await peer.api<ApiPeer[]>('/api/peers')).find((entry) => entry.peerId === other)
    await eventually(
      async () => (await link(a, readyB.peerId)) !== undefined && (await link(b, readyA.peerId)) !== undefined,
      30_000,
      'a WebRTC link',
    )
    expect(await link(a, readyB.peerId)).toMatchObject({ transport: 'webrtc', encryption: '/noise' })
    expect(await link(b, readyA.peerId)).toMatchObject({ transport: 'webrtc', encryption: '/noise' })
  })
})
