// Assembling a libp2p v3 node from config and a Platform: noise + yamux on every connection, identify, ping,
// gossipsub, bootstrap discovery, plus the platform's transports and discovery.

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { type Identify, identify } from '@libp2p/identify'
import type { ConnectionGater, Metrics, PeerId, PrivateKey } from '@libp2p/interface'
import { type Ping, ping } from '@libp2p/ping'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { NoodleConfig } from '../config/schema.js'
import { LIMITS } from '../limits.js'
import type { PeerDiscoveryFactory, Platform } from '../orchestrator/platform.js'

export interface NoodleServices {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  [key: string]: unknown
}

export type NoodleLibp2p = Libp2p<NoodleServices>

export async function assembleLibp2p(
  config: NoodleConfig,
  platform: Platform,
  privateKey: PrivateKey,
  /** libp2p's own metrics go here (monitoring/libp2p-metrics.ts); none collected when absent. */
  metrics?: () => Metrics,
): Promise<NoodleLibp2p> {
  const network = config.network
  // Gossip discovery is presence itself (orchestrator/noodle-node.ts discovered()): profiles carry addresses.
  const discovery: PeerDiscoveryFactory[] = [...(platform.peerDiscovery?.(config) ?? [])]
  if (network.bootstrap.length > 0) discovery.push(bootstrap({ list: network.bootstrap, timeout: 0 }))
  return createLibp2p({
    privateKey,
    start: false,
    addresses: {
      listen: [...(network.listen.length > 0 ? network.listen : platform.defaultListen()), ...(platform.extraListen?.(config) ?? [])],
    },
    transports: platform.transports(config),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: discovery,
    connectionGater: withDeniedPeers(platform.connectionGater, network.denyPeers),
    metrics,
    connectionManager: {
      // Peers on this machine are its operator's: exempt from the per-host rate limit and the pending-connection
      // cap, which on loopback count every local peer as one host (with 50 peers on one machine a newcomer's dials
      // were refused for minutes; bench mesh-scale).
      allow: ['/ip4/127.0.0.1', '/ip6/::1'],
      maxConnections: network.maxConnections,
      inboundConnectionThreshold: network.inboundConnectionThreshold,
      dialTimeout: network.dialTimeoutMs,
    },
    // libp2p's monitor opens a ping stream to every peer every few seconds to measure the round trip. The failure
    // detector already pings each peer every second, on one kept stream (health/ping-streams.ts), and its round trips
    // are what routes and GET /api/peers report; liveness is the detector's call too (on a loaded host a late ping is
    // a busy event loop, not a dead link). So the monitor is off.
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      // The detector keeps one ping stream per link (health/ping-streams.ts), and `libp2p.services.ping.ping()` (the
      // CLI, tools) opens its own: ping's defaults (1 outbound, 2 inbound streams a connection) made them collide
      // (TooManyOutboundProtocolStreamsError: missed heartbeats, false dead verdicts). The answerer ends a stream
      // after `timeout`, and the detector opens the next.
      ping: ping({ maxOutboundStreams: 4, maxInboundStreams: 8, timeout: LIMITS.pingStreamMaxMs }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // Gossipsub scores a peer down once more than 10 peers share its IP address (a Sybil defence) and drops
        // negative peers from its mesh: a node with over 10 links from peers on its own machine then relayed nothing
        // at all, and presence never crossed two hops (bench mesh-scale). Peers on this machine are its operator's.
        scoreParams: { IPColocationFactorWhitelist: new Set(['127.0.0.1', '::1']) },
        // Without a fast id gossipsub checks the signature of every copy of a message before it looks in its seen
        // cache, and each message reaches a node once per mesh neighbour (6-12 copies): signature checks were a sixth
        // of an idle node's CPU (a profile of ten idle peers). Origin and sequence number are what the message id is
        // under StrictSign anyway; only a message whose signature checked out enters the cache, so a forged copy
        // cannot shadow a real one.
        fastMsgIdFn: fastMessageId,
      }),
    },
  })
}

/** Gossipsub's de-duplication key: the origin's peer id and the message's sequence number, one character a byte,
 *  the origin's length first so that no two pairs give the same string. */
export function fastMessageId(message: { from?: Uint8Array; seqno?: Uint8Array }): string {
  const from = message.from ?? EMPTY
  let id = `${from.length}:`
  // A loop, not String.fromCharCode(...bytes): a peer controls these fields, and a spread of a huge one overflows
  // the stack.
  for (const byte of from) id += String.fromCharCode(byte)
  for (const byte of message.seqno ?? EMPTY) id += String.fromCharCode(byte)
  return id
}
const EMPTY = new Uint8Array(0)

/** The platform's gater, plus network.denyPeers: no dial to those peers and no connection from them, whichever side
 *  opens it (checked once the remote is authenticated by noise). */
function withDeniedPeers(gater: ConnectionGater | undefined, denyPeers: readonly string[]): ConnectionGater | undefined {
  if (denyPeers.length === 0) return gater
  const denied = new Set(denyPeers)
  const isDenied = (peer: PeerId): boolean => denied.has(peer.toString())
  return {
    ...gater,
    denyDialPeer: async (peer) => isDenied(peer) || ((await gater?.denyDialPeer?.(peer)) ?? false),
    denyInboundEncryptedConnection: async (peer, connection) =>
      isDenied(peer) || ((await gater?.denyInboundEncryptedConnection?.(peer, connection)) ?? false),
    denyOutboundEncryptedConnection: async (peer, connection) =>
      isDenied(peer) || ((await gater?.denyOutboundEncryptedConnection?.(peer, connection)) ?? false),
  }
}
