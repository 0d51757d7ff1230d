// The WebRTC transport as a node's config asks for it: reachable through each of `network.signaling`, with the
// STUN/TURN servers and candidate policy of `network.iceServers` / `network.iceCandidates`. Node and browser
// platforms both build it from here.

import type { NoodleConfig, TransportFactory } from '@noodlenet/shared'
import { signalingUrlToMultiaddr, signalledListenAddress } from './addresses.js'
import { webRTCSignalled } from './transport.js'

/** The transport, or none when the config names no signalling server. */
export function webRTCTransportsFor(network: NoodleConfig['network']): TransportFactory[] {
  if (network.signaling.length === 0) return []
  return [webRTCSignalled({ signaling: network.signaling, iceServers: network.iceServers, candidates: network.iceCandidates })]
}

/** The listen addresses that make the node reachable through each signalling server. */
export function webRTCListenAddressesFor(network: NoodleConfig['network']): string[] {
  return network.signaling.map((url) => signalledListenAddress(signalingUrlToMultiaddr(url)).toString())
}
