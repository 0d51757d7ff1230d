// @noodlenet/webrtc: a libp2p v3 transport over WebRTC data channels (simple-peer), signalled through NoodleNet
// signalling servers. Addresses: `<server>/p2p-webrtc-star/p2p/<peer>` (addresses.ts); design and measurements:
// docs/decisions/0006-webrtc-transport.md.

export {
  multiaddrToSignalingUrl,
  parseSignalledAddress,
  SIGNALLED_PROTOCOL,
  type SignalledAddress,
  signalingUrlToMultiaddr,
  signalledListenAddress,
} from './addresses.js'
export { allowsCandidate, type CandidatePolicy, candidateAddress, filterSignal } from './candidates.js'
export { webRTCListenAddressesFor, webRTCTransportsFor } from './from-config.js'
export { MemorySignalHub, type MemorySignalHubInit, type RelayedSignal } from './memory-signal-hub.js'
export type { CreateRtcPeer, RtcPeer, RtcPeerOptions, WebRTCImplementation } from './rtc-peer.js'
export type {
  SignalChannel,
  SignalChannelContext,
  SignalChannelEvents,
  SignalChannelFactory,
  SignalMessage,
} from './signal-channel.js'
export {
  SignalingClient,
  type SignalingClientError,
  type SignalingClientEvents,
  type SignalingClientInit,
  type SignalingClientState,
} from './signaling-client.js'
export { SignalingServerChannel, type SignalingServerOptions, signalingServer } from './signaling-server-channel.js'
export { type WebRTCSignalledComponents, type WebRTCSignalledInit, WebRTCSignalledTransport, webRTCSignalled } from './transport.js'
