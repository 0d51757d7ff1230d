// The benchmark page: `window.bench` (harness-api.ts) for bench/webrtc-browser.ts, which drives two or more of these
// pages through Playwright. Every end it makes is kept under a numeric handle.

import { bulkTransfer, randomBytes, roundTrip, timeEach } from '../support/stream-bench.js'
import { type ConnEnd, connBulk, connRoundTrips, dialConn, listenConn } from './conn-link.js'
import type { BenchHarness, Layer } from './harness-api.js'
import { dialNode, type NodeEnd, startNode } from './libp2p-link.js'
import { dialRaw, listenRaw, type RawLink, rawBulk, rawRoundTrips } from './raw-channel.js'

type End = { layer: 'raw'; link?: RawLink } | { layer: 'conn'; end: ConnEnd | Promise<ConnEnd> } | { layer: 'libp2p'; end: NodeEnd }

const ends: End[] = []

function keep(end: End): number {
  ends.push(end)
  return ends.length - 1
}

function endOf<L extends Layer>(handle: number, layer: L): Extract<End, { layer: L }> {
  const end = ends[handle]
  if (end?.layer !== layer) throw new Error(`handle ${handle} is not a ${layer} end`)
  return end as Extract<End, { layer: L }>
}

const harness: BenchHarness = {
  async listen(layer, url, tuning = {}) {
    if (layer === 'raw') return { handle: keep({ layer }), address: await listenRaw(url) }
    if (layer === 'conn') {
      const { address, end } = await listenConn(url, tuning)
      return { handle: keep({ layer, end }), address }
    }
    const end = await startNode(url, true, tuning)
    return { handle: keep({ layer, end }), address: end.node.getMultiaddrs()[0].toString() }
  },

  async dial(layer, url, address, tuning = {}) {
    if (layer === 'raw') return keep({ layer, link: await dialRaw(url, address) })
    if (layer === 'conn') return keep({ layer, end: await dialConn(url, address, tuning) })
    const end = await startNode(url, false, tuning)
    await dialNode(end, address)
    return keep({ layer, end })
  },

  async roundTrips(handle, count, payloadBytes) {
    const end = ends[handle]
    if (end?.layer === 'raw' && end.link !== undefined) return rawRoundTrips(end.link, count, payloadBytes)
    if (end?.layer === 'conn') return connRoundTrips(await end.end, count, payloadBytes)
    const { echo } = endOf(handle, 'libp2p').end
    if (echo === undefined) throw new Error(`handle ${handle} did not dial`)
    const payload = randomBytes(payloadBytes)
    return timeEach(count, () => roundTrip(echo, payload))
  },

  async expect(handle, bytes) {
    // The listening end exists once the inbound connection is up, which can be just after the dial resolved.
    const end = await endOf(handle, 'conn').end
    end.expecting = bytes
  },

  async bulk(handle, bytes, chunkBytes, raw) {
    const end = ends[handle]
    if (end?.layer === 'raw' && end.link !== undefined) {
      if (raw === undefined) throw new Error('a raw bulk transfer needs its pacing')
      return rawBulk(end.link, bytes, raw)
    }
    if (end?.layer === 'conn') return connBulk(await end.end, bytes, chunkBytes)
    const { connection } = endOf(handle, 'libp2p').end
    if (connection === undefined) throw new Error(`handle ${handle} did not dial`)
    return bulkTransfer(connection, bytes, chunkBytes)
  },

  async iceAddresses() {
    const pairs: Array<{ local: string; remote: string }> = []
    for (const pc of recorded()) {
      if (pc.connectionState !== 'connected') continue
      const stats = await pc.getStats()
      stats.forEach((report) => {
        if (report.type !== 'transport' || report.selectedCandidatePairId === undefined) return
        const pair = stats.get(report.selectedCandidatePairId)
        pairs.push({
          local: String(stats.get(pair.localCandidateId)?.address),
          remote: String(stats.get(pair.remoteCandidateId)?.address ?? ''),
        })
      })
    }
    return pairs
  },
}

/** Every peer connection the page made: web/test/support/browser.ts's recordPeerConnections keeps them. */
function recorded(): RTCPeerConnection[] {
  return (window as unknown as { __peerConnections?: RTCPeerConnection[] }).__peerConnections ?? []
}

window.bench = harness
