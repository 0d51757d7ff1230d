// @noodlenet/shared: the isomorphic core. Platform-specific pieces come in through a Platform object.

export { CONFIG_ENV, type ConfigLayer, envLayer, parseConfigJson, resolveConfig, setPath } from './config/resolve.js'
export { ConfigSchema, HealthConfigSchema, type NoodleConfig, type NoodleConfigInput, PolicyRuleSchema } from './config/schema.js'
export { isNoodleError, NoodleError, type NoodleErrorCode } from './errors.js'
export {
  CpuExecutor,
  type CpuExecutorEvents,
  type CpuExecutorOptions,
  type ExecutorResult,
  type ExecutorRunOptions,
  type ExecutorStats,
  type ExecutorTask,
} from './exec/executor.js'
export * from './exec/kernels/index.js'
export { CpuTaskExecutor, type GpuTaskRunner } from './exec/task-executor.js'
export {
  CUSTOM_KERNEL_NAME,
  compileWasmKernel,
  isCustomKernel,
  WasmKernelCache,
  type WasmKernelCacheOptions,
  wasmKernelId,
} from './exec/wasm-kernel.js'
export {
  type HostToWorker,
  type KernelWorker,
  type KernelWorkerPort,
  transferablesOf,
  type WasmKernelRef,
  type WorkerError,
  type WorkerEvents,
  type WorkerPool,
  type WorkerToHost,
} from './exec/worker-pool.js'
export {
  FailureDetector,
  type FailureDetectorComponents,
  type FailureDetectorEvents,
  type PeerHealthChange,
  type PeerHealthReport,
} from './health/failure-detector.js'
export { PhiAccrualDetector, type PhiAccrualOptions, phiOf } from './health/phi-accrual.js'
export { PING_PROTOCOL, PingStreams } from './health/ping-streams.js'
export { LIMITS } from './limits.js'
export { libp2pMetricName, libp2pMetrics, unitScale } from './monitoring/libp2p-metrics.js'
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
export { MESH_SUMMARY_TTL_INTERVALS, MeshMetrics, type MeshPeerMetrics } from './monitoring/mesh-metrics.js'
export {
  Counter,
  DEFAULT_BUCKETS,
  escapeHelp,
  escapeLabelValue,
  formatNumber,
  Gauge,
  Histogram,
  type HistogramOptions,
  type Labels,
  type MetricOptions,
  type MetricSnapshot,
  MetricsRegistry,
  type MetricType,
  type SampleSnapshot,
  Summary,
} from './monitoring/metrics.js'
export {
  METRICS_SUMMARY_MAX_BYTES,
  type MetricsSummary,
  MetricsSummarySchema,
  percentileMs,
  type RecentTask,
  SummaryBuilder,
} from './monitoring/metrics-summary.js'
export { ALERT_SEVERITIES, kernelLabel, NodeMetrics, type NodeState } from './monitoring/node-metrics.js'
export { decodeFrame, encodeFrame, encodeFrameParts, type FrameSchema, validateFrame } from './net/codec.js'
export { FrameStream } from './net/frame-stream.js'
export { assembleLibp2p, type NoodleLibp2p, type NoodleServices } from './net/libp2p.js'
export { MeshMaintainer } from './net/mesh-maintainer.js'
export { type PeerSummary, summarizePeers, type TransportName, transportOf } from './net/peers.js'
export { PresenceService } from './net/presence.js'
export {
  ECHO_PROTOCOL,
  PROFILE_PROTOCOL,
  ROUTE_PROTOCOL,
  TASK_BATCH_PROTOCOL,
  TASK_PROTOCOL,
  type TaskBatch,
  type TaskBatchResults,
  type TaskResult,
  type TaskRun,
} from './net/protocols.js'
export {
  type Cancellable,
  defineProtocol,
  fromWireError,
  type HandlerAccess,
  RequestCut,
  type RequestOptions,
  type RoutedRequest,
  type RouteFallback,
  type RpcContext,
  type RpcHandler,
  type RpcProtocol,
  RpcService,
  toWireError,
} from './net/rpc.js'
export {
  DEFAULT_SIGNALING_ROOM,
  newSignalingNonce,
  SIGNALING_CLIENT_EVENTS,
  SIGNALING_DOMAIN,
  SIGNALING_ERROR_CODES,
  SIGNALING_NONCE_BYTES,
  SIGNALING_SERVICE,
  type SignalingChallenge,
  SignalingChallengeSchema,
  type SignalingClientEventName,
  type SignalingClientToServerEvents,
  type SignalingError,
  type SignalingErrorCode,
  SignalingErrorSchema,
  type SignalingJoin,
  type SignalingJoinAck,
  SignalingJoinAckSchema,
  SignalingJoinSchema,
  type SignalingLeave,
  type SignalingLeaveAck,
  SignalingLeaveSchema,
  type SignalingPeerEvent,
  SignalingPeerEventSchema,
  type SignalingRefusal,
  type SignalingRegister,
  type SignalingRegisterAck,
  SignalingRegisterAckSchema,
  SignalingRegisterSchema,
  type SignalingRelayedSignal,
  SignalingRelayedSignalSchema,
  SignalingRoomSchema,
  type SignalingServerToClientEvents,
  type SignalingSignal,
  SignalingSignalSchema,
  type SignalingVerdict,
  signalingChallengeBytes,
  signSignalingChallenge,
  verifySignalingRegistration,
} from './net/signaling.js'
export { TOPICS } from './net/topics.js'
export * from './net/wire-schemas.js'
export { NoodleNode, type NoodleNodeEvents, type NoodleNodeInit } from './orchestrator/noodle-node.js'
export type { PeerDiscoveryFactory, Platform, TransportFactory } from './orchestrator/platform.js'
export {
  type MapResult,
  type RunOptions,
  type TaskExecutor,
  type TaskExecutorRunOptions,
  type TaskOutcome,
  type TaskProgress,
  TaskService,
  type TaskServiceComponents,
} from './orchestrator/task-service.js'
export {
  type Adjacency,
  type CsrGraph,
  LinkStateService,
  linkCost,
  ReplayGuard,
  type Route,
  Router,
  type RouterComponents,
  RouteTable,
  shortestPaths,
  shortestPathsOver,
  type Topology,
  TopologyGraph,
} from './routing/index.js'
export * from './scheduler/index.js'
export {
  AUDIT_GENESIS,
  AuditChainVerifier,
  type AuditEntry,
  type AuditHead,
  AuditLog,
  type AuditLogOptions,
  type AuditRecord,
  type AuditStore,
  type AuditVerifyFailure,
  type AuditVerifyOptions,
  type AuditVerifyResult,
  auditHeadOf,
  MemoryAuditStore,
  parseAuditLine,
  verifyAuditLines,
} from './security/audit.js'
export {
  type CapabilityCode,
  CapabilityError,
  type CapabilityPayload,
  type CapabilityPolicy,
  type CapabilityRequest,
  type CapabilityToken,
  chainOf,
  commandCovers,
  decodeToken,
  encodeToken,
  type IssueOptions,
  issueToken,
  kernelsCover,
  MAX_CHAIN_DEPTH,
  MAX_TOKEN_LENGTH,
  narrowingViolation,
  runsCallersCode,
  TOKEN_PREFIX,
  VerifiedChainCache,
  type VerifyContext,
  type VerifyResult,
  verifyCapability,
  WGSL_KERNEL,
} from './security/capability.js'
export {
  type AuthorizationRequest,
  type GatedCommand,
  SecurityGate,
  type SecurityGateComponents,
} from './security/gate.js'
export { levelRank, SECURITY_LEVELS, type SecurityLevel } from './security/levels.js'
export {
  type PolicyCode,
  type PolicyDecision,
  PolicyEngine,
  type PolicyEngineOptions,
  type PolicyRequest,
  type PolicyRule,
  RateLimiter,
} from './security/policy.js'
export {
  MemoryRevocationStore,
  type Revocation,
  RevocationGossip,
  RevocationList,
  RevocationSchema,
  type RevocationStore,
  signRevocation,
  verifyRevocation,
} from './security/revocation.js'
export { NOODLENET_VERSION } from './version.js'
