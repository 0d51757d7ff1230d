// Multi-process mesh: real `noodlenet start` processes on loopback find each other, drop a killed peer, and take
// it back when it restarts with the same key.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type ApiPeer, eventually, PeerProcess, startPeer } from './support/peer-process.js'

let peers: PeerProcess[] = []
afterEach(async () => {
  await Promise.all(peers.map((peer) => peer.kill()))
  peers = []
})

async function peerIds(peer: PeerProcess): Promise<string[]> {
  return (await peer.api<ApiPeer[]>('/api/peers')).map((p) => p.peerId).sort()
}

describe('three noodlenet processes', () => {
  it('form a full noise-encrypted mesh, drop a killed peer, and take it back after a restart with the same key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'noodlenet-mesh-'))
    try {
      const a = startPeer()
      peers.push(a)
      const readyA = await a.ready
      const bootstrap = ['--bootstrap', readyA.addrs[0]]
      const keyC = join(dir, 'c.key')
      const b = startPeer(bootstrap)
      let c = startPeer([...bootstrap, '--key', keyC])
      peers.push(b, c)
      const [readyB, readyC] = await Promise.all([b.ready, c.ready])
      const ids = [readyA.peerId, readyB.peerId, readyC.peerId]

      const started = Date.now()
      await eventually(
        async () => {
          const lists = await Promise.all([a, b, c].map(peerIds))
          return lists.every(
            (list, i) =>
              list.join() ===
              ids
                .filter((_, j) => j !== i)
                .sort()
                .join(),
          )
        },
        10_000,
        'a full mesh of three',
      )
      expect(Date.now() - started).toBeLessThan(10_000)
      for (const peer of [a, b, c]) {
        for (const entry of await peer.api<ApiPeer[]>('/api/peers')) {
          expect(entry.encryption).toBe('/noise')
          expect(entry.transport).toBe('tcp')
          expect(['inbound', 'outbound']).toContain(entry.direction)
        }
      }

      await c.kill()
      await eventually(
        async () => !(await peerIds(a)).includes(readyC.peerId) && !(await peerIds(b)).includes(readyC.peerId),
        10_000,
        'a and b to drop the killed peer',
      )

      c = startPeer([...bootstrap, '--key', keyC])
      peers.push(c)
      const again = await c.ready
      expect(again.peerId).toBe(readyC.peerId)
      await eventually(
        async () => (await peerIds(a)).includes(readyC.peerId) && (await peerIds(b)).includes(readyC.peerId),
        15_000,
        'the restarted peer to rejoin a and b',
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('peers also connect over WebSockets, noise-encrypted', async () => {
    const a = new PeerProcess(['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--api-port', '0', '--no-mdns'])
    peers.push(a)
    const readyA = await a.ready
    expect(readyA.addrs[0]).toMatch(/\/ws\/p2p\//)
    const b = startPeer(['--bootstrap', readyA.addrs[0]])
    peers.push(b)
    const readyB = await b.ready
    await eventually(async () => (await peerIds(a)).includes(readyB.peerId), 10_000, 'a websocket link')
    const [link] = await b.api<ApiPeer[]>('/api/peers')
    expect(link).toMatchObject({ peerId: readyA.peerId, transport: 'websocket', encryption: '/noise', direction: 'outbound' })
  })
})
