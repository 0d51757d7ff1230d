// @noodlenet/shared: the isomorphic core. Platform-specific pieces come in through a Platform object.

export { type ConfigLayer, CONFIG_ENV, envLayer, parseConfigJson, resolveConfig, setPath } from './config/resolve.js'
export { ConfigSchema, type NoodleConfig, type NoodleConfigInput } from './config/schema.js'
export { isNoodleError, NoodleError, type NoodleErrorCode } from './errors.js'
export { LIMITS } from './limits.js'
export {
  componentLogger,
  createLogger,
  LOG_LEVELS,
  type Logger,
  type LogLevel,
  type LogSink,
  newTraceId,
  tracedLogger,
} from './monitoring/logger.js'
export { decodeFrame, encodeFrame, type FrameSchema, validateFrame } from './net/codec.js'
export { FrameStream } from './net/frame-stream.js'
export { assembleLibp2p, type NoodleLibp2p, type NoodleServices } from './net/libp2p.js'
export { MeshMaintainer } from './net/mesh-maintainer.js'
export { type PeerSummary, summarizePeers, type TransportName, transportOf } from './net/peers.js'
export { PresenceService } from './net/presence.js'
export { defineProtocol, type RequestOptions, type RpcContext, type RpcHandler, type RpcProtocol, RpcService, toWireError } from './net/rpc.js'
export { TOPICS } from './net/topics.js'
export * from './net/wire-schemas.js'
export { NoodleNode, type NoodleNodeEvents, type NoodleNodeInit } from './orchestrator/noodle-node.js'
export type { PeerDiscoveryFactory, Platform, TransportFactory } from './orchestrator/platform.js'
export { levelRank, SECURITY_LEVELS, type SecurityLevel } from './security/levels.js'
export { NOODLENET_VERSION } from './version.js'
