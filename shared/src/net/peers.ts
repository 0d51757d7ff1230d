// What `/api/peers` and `window.noodle.peers()` show about each connected peer.

import type { Connection, Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type TransportName = 'tcp' | 'websocket' | 'webrtc' | 'memory' | 'other'

export interface PeerSummary {
  peerId: string
  transport: TransportName
  /** The connection encrypter, e.g. "/noise". */
  encryption: string | null
  multiplexer: string | null
  direction: 'inbound' | 'outbound'
  /** Round trip measured by libp2p's connection monitor; null until the first ping. */
  rttMs: number | null
  remoteAddr: string
  /** Connections to this peer (the first open one is described). */
  connections: number
}

export function transportOf(addr: Multiaddr): TransportName {
  const names = new Set(addr.getComponents().map((component) => component.name))
  if (names.has('webrtc') || names.has('webrtc-direct') || names.has('p2p-webrtc-star')) return 'webrtc'
  if (names.has('ws') || names.has('wss')) return 'websocket'
  if (names.has('memory')) return 'memory'
  if (names.has('tcp')) return 'tcp'
  return 'other'
}

/** Each open connection's peer; `rttMs` gives a peer's round trip (the failure detector's smoothed ping), else the
 *  connection's own measure, if any. */
export function summarizePeers(libp2p: Libp2p, rttMs?: (peerId: string) => number | undefined): PeerSummary[] {
  const byPeer = new Map<string, Connection[]>()
  for (const connection of libp2p.getConnections()) {
    if (connection.status !== 'open') continue
    const key = connection.remotePeer.toString()
    byPeer.set(key, [...(byPeer.get(key) ?? []), connection])
  }
  return [...byPeer.entries()].map(([peerId, connections]) => {
    const connection = connections[0]
    return {
      peerId,
      transport: transportOf(connection.remoteAddr),
      encryption: connection.encryption ?? null,
      multiplexer: connection.multiplexer ?? null,
      direction: connection.direction,
      rttMs: rttMs?.(peerId) ?? connection.rtt ?? null,
      remoteAddr: connection.remoteAddr.toString(),
      connections: connections.length,
    }
  })
}
