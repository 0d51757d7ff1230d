// Assembling a libp2p v3 node from config and a Platform: noise + yamux on every connection, identify, ping,
// gossipsub, bootstrap and pubsub peer discovery, plus the platform's transports and discovery.

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { type GossipSub, gossipsub } from '@libp2p/gossipsub'
import { type Identify, identify } from '@libp2p/identify'
import type { Metrics, PrivateKey } from '@libp2p/interface'
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
    connectionGater: platform.connectionGater,
    metrics,
    connectionManager: {
      maxConnections: network.maxConnections,
      inboundConnectionThreshold: network.inboundConnectionThreshold,
      dialTimeout: network.dialTimeoutMs,
    },
    connectionMonitor: { pingInterval: Math.max(1_000, Math.min(network.presenceIntervalMs, 10_000)) },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
    },
  })
}
