// Assembling a libp2p v3 node from config and a Platform: noise + yamux on every connection, identify, ping,
// gossipsub, bootstrap and pubsub peer discovery, plus the platform's transports and discovery.

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { type Identify, identify } from '@libp2p/identify'
import type { ConnectionGater, Metrics, PeerId, PrivateKey } from '@libp2p/interface'
import { type Ping, ping } from '@libp2p/ping'
import { pubsubPeerDiscovery } from '@libp2p/pubsub-peer-discovery'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { NoodleConfig } from '../config/schema.js'
import type { PeerDiscoveryFactory, Platform } from '../orchestrator/platform.js'
import { TOPICS } from './topics.js'

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
  const discovery: PeerDiscoveryFactory[] = [
    pubsubPeerDiscovery({ topics: [TOPICS.discovery], interval: network.presenceIntervalMs }),
    ...(platform.peerDiscovery?.(config) ?? []),
  ]
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
    // libp2p's monitor measures each connection's round trip; it does not close one whose ping is late. Liveness is the
    // failure detector's call (health/): on a loaded host a late ping is a busy event loop, not a dead link, and
    // closing those links made a 100-peer mesh churn through thousands of reconnections (bench mesh-scale).
    connectionMonitor: { pingInterval: Math.max(1_000, Math.min(network.presenceIntervalMs, 10_000)), abortConnectionOnPingFailure: false },
    services: {
      identify: identify(),
      // Two pingers share the protocol on every link: libp2p's connection monitor and the failure detector. With
      // ping's defaults (1 outbound, 2 inbound streams a connection) they collided on loaded hosts and the
      // detector's pings failed with TooManyOutboundProtocolStreamsError: missed heartbeats, false dead verdicts.
      ping: ping({ maxOutboundStreams: 4, maxInboundStreams: 8 }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // Gossipsub scores a peer down once more than 10 peers share its IP address (a Sybil defence) and drops
        // negative peers from its mesh: a node with over 10 links from peers on its own machine then relayed nothing
        // at all, and presence never crossed two hops (bench mesh-scale). Peers on this machine are its operator's.
        scoreParams: { IPColocationFactorWhitelist: new Set(['127.0.0.1', '::1']) },
      }),
    },
  })
}

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
