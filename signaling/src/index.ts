// @noodlenet/signaling: the signalling server (rendezvous and SDP/ICE relay for WebRTC links).

export { DEFAULT_SIGNALING_LIMITS, SignalingHub, type SignalingLimits } from './hub.js'
export { type JoinResult, PeerDirectory } from './peer-directory.js'
export { createSignalingServer, DEFAULT_STATIC_DIR, type SignalingServer, type SignalingServerOptions } from './server.js'
