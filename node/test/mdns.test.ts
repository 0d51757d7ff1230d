// mDNS discovery on a LAN, in a network namespace the test creates (its own loopback with multicast on), so no
// packet leaves the machine: two peers with no bootstrap list find and connect to each other.

import { afterAll, describe, expect, it } from 'vitest'
import { NetworkNamespace } from './support/netns.js'
import { PeerProcess } from './support/peer-process.js'

const namespace = NetworkNamespace.create('mdns', { multicast: true })
const skipReason = typeof namespace === 'string' ? namespace : undefined
if (skipReason !== undefined) console.warn(`mDNS test skipped: ${skipReason}`)

describe.skipIf(skipReason !== undefined)('mDNS discovery (in a private network namespace)', () => {
  const peers: PeerProcess[] = []
  afterAll(async () => {
    await Promise.all(peers.map((peer) => peer.kill()))
    ;(namespace as NetworkNamespace).remove()
  })

  it('two peers with no bootstrap list find each other on the LAN', async () => {
    const start = (): PeerProcess =>
      new PeerProcess(
        ['--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0'],
        { NOODLE_NET_LOG_LEVEL: 'INFO' },
        (namespace as NetworkNamespace).prefix,
      )
    const a = start()
    const b = start()
    peers.push(a, b)
    const [readyA, readyB] = await Promise.all([a.ready, b.ready])
    const connected = (peer: PeerProcess, other: string) =>
      peer.logRecord((record) => record.msg === 'peer connected' && record.remotePeer === other, 30_000)
    const [seenByA, seenByB] = await Promise.all([connected(a, readyB.peerId), connected(b, readyA.peerId)])
    expect(seenByA.component).toBe('mesh')
    expect(seenByB.component).toBe('mesh')
  })
})
