// Every limit of the core in one place, with the reason beside it. docs/LIMITS.md lists them for operators;
// the config schema takes its defaults from here so the two cannot drift apart.

export const LIMITS = {
  /** Largest wire frame accepted or sent (bytes). Big enough for a 16 MB task input plus envelope; a peer that
   *  announces more is cut off before the bytes are buffered. Memory per stream is at most this. */
  frameMaxBytes: 32 * 1024 * 1024,
  /** Largest presence profile (bytes). A profile is a few hundred bytes; 16 KiB leaves room for many addresses. */
  presenceMaxBytes: 16 * 1024,
  /** Longest run a task may ask of an executor (ms): an hour. Longer work is split into tasks, so that a lost peer
   *  costs at most this much and progress is visible. */
  taskRunTimeoutMaxMs: 3_600_000,
  /** Largest custom WebAssembly kernel module sent with a task (bytes); compiled once per executor and cached. */
  taskModuleMaxBytes: 4 * 1024 * 1024,
  /** Most tasks in one batch frame (`/noodlenet/task-batch/1.0.0`): a submitter sends the tasks it places on one
   *  peer in the same turn together, so the frame, stream, noise and gate costs are paid once for all of them. 64
   *  keeps a batch's inputs within a frame for small tasks and its wait for the slowest bounded; the frame cap
   *  (frameMaxBytes) bounds its bytes. */
  taskBatchMax: 64,
  /** Default time a request may take before the caller gives up (ms). */
  requestTimeoutMs: 10_000,
  /** Idle request streams kept open per (peer, protocol) for reuse: saves a protocol negotiation per request. */
  rpcIdleStreamsPerPeer: 8,
  /** Requests served concurrently on one node across all inbound RPC streams; beyond it streams wait. */
  rpcInboundStreamsPerConnection: 256,
  /** Mesh maintainer: connections it aims to keep. Each costs a few hundred KiB (yamux windows, noise). */
  targetDegree: 8,
  /** Upper bound on connections libp2p keeps (the connection manager prunes above it). */
  maxConnections: 128,
  /** New inbound connections per second per host before libp2p refuses them; raised from libp2p's 5 so that a
   *  burst of local peers (tests, `pnpm start`) can join. */
  inboundConnectionThreshold: 64,
  /** How often a node republishes its profile (ms); peers forget it after `presenceTtlIntervals` missed. */
  presenceIntervalMs: 5_000,
  presenceTtlIntervals: 3,
  /** Mesh maintainer tick (ms) and the backoff bounds for a peer whose dial failed. */
  meshTickMs: 2_000,
  dialBackoffMinMs: 1_000,
  dialBackoffMaxMs: 60_000,
  dialTimeoutMs: 10_000,
  /** Policy rules in security.rules. Every request is checked against them in order, so this bounds the work
   *  per request; a thousand rules is far more than any hand-written policy. */
  policyMaxRules: 1_000,
  /** Entries in one rule's list (commands, kernels, peers, issuers). */
  policyMaxListEntries: 10_000,
  /** Requesting peers a rate rule remembers. Each costs one Map entry (~100 B); beyond it the least recently
   *  seen peer is forgotten, which costs nothing when its allowance has refilled and at worst resets it. */
  policyRatePeers: 10_000,
  /** Audit records a MemoryAuditStore keeps (a ring: the oldest go first). About 400 B each, so ~4 MiB. */
  auditMemoryRecords: 10_000,
  /** How long the gate gathers audit records before hashing and writing them together (ms): one batch every few
   *  milliseconds under load keeps the chain's hashing warm instead of a cold record after every request. */
  auditFlushMs: 10,
  /** Audit records an IndexedDbAuditStore keeps (the oldest are deleted first). On disk, not in memory: ~400 B
   *  each, so ~20 MiB of the origin's storage, far below browsers' per-origin quota; more history than the memory
   *  ring because it survives reloads. lines() reads them all at once, ~20 MiB while verifying. */
  auditIndexedDbRecords: 50_000,
  /** Longest text kept in one audit field (characters); longer values (a reason, a command from a peer) are
   *  clipped, so one record cannot grow the log without bound. */
  auditFieldMaxChars: 1_024,
  /** Longest audit line read back (bytes). Clipped fields keep written lines far below it (worst case ~45 KiB,
   *  every character escaped); a longer line is not one we wrote. */
  auditLineMaxBytes: 64 * 1024,
  // Signalling (signaling/ and the client in packages/webrtc; docs/SIGNALING.md).
  /** Largest `data` of one signal, JSON-encoded (bytes). An SDP offer for data channels is 0.5–5 KB even with
   *  every candidate inline; a larger one is refused with SIGNAL_TOO_LARGE. */
  signalingSignalMaxBytes: 64 * 1024,
  /** Largest socket.io message the server reads (its `maxHttpBufferSize`, bytes): twice the signal cap plus room
   *  for the envelope, so an oversize signal gets a typed error; above this socket.io drops the connection before
   *  buffering the rest. Memory per connection is at most this while a message is read. */
  signalingMessageMaxBytes: 2 * 64 * 1024 + 4 * 1024,
  /** Events per second per connection (a token bucket, every event costs one) and the burst it allows. Setting up
   *  one WebRTC link takes an offer, an answer and a few ICE candidates each way; 200 covers a tab dialling dozens
   *  of peers at once. */
  signalingEventsPerSecond: 100,
  signalingEventBurst: 200,
  /** Connections one server holds; beyond it new ones get SERVER_FULL and are closed. */
  signalingMaxConnections: 10_000,
  /** Peers in one room. Bounds the join answer (~60 B per peer id) and the fan-out of each announcement. */
  signalingRoomMaxPeers: 1_000,
  /** Rooms one connection may be in at once. */
  signalingRoomsPerConnection: 8,
  /** Time a connection has to register after its challenge (ms); an idle unregistered socket is closed. */
  signalingRegisterTimeoutMs: 10_000,
  /** Client: how long it waits for the server to answer register or join (ms) before reconnecting. */
  signalingAckTimeoutMs: 10_000,
  /** Client: reconnect delay bounds (ms), doubling per failed attempt with ±50 % jitter. */
  signalingReconnectMinMs: 500,
  signalingReconnectMaxMs: 30_000,
  // The WebRTC transport (packages/webrtc; docs/decisions/0006-webrtc-transport.md).
  /** Largest data channel message sent (bytes). libp2p's own WebRTC transport uses 16 KiB for old browsers; every
   *  current engine takes 64 KiB (libwebrtc in Chromium and @roamhq/wrtc: 256 KiB, Firefox: 1 GiB), and 64 KiB
   *  messages move ~35 % more bytes per second than 16 KiB ones on loopback. */
  webrtcMaxMessageBytes: 64 * 1024,
  /** Send backpressure: a connection reports "full" once the channel's bufferedAmount (plus writes not yet handed
   *  to it) passes the high mark, and drains at the low one; the gap keeps the channel busy while the writer waits.
   *  Memory per connection: at most the high mark plus one turn's writes, on top of yamux's windows. */
  webrtcBufferedAmountHighBytes: 1024 * 1024,
  webrtcBufferedAmountLowBytes: 256 * 1024,
  /** How often bufferedAmount is polled while full (ms): @roamhq/wrtc has no `bufferedamountlow` event. Draining
   *  768 KiB takes ~15 ms at 50 MB/s, so a 1 ms poll costs little. Browsers use the event; the poll backs it up. */
  webrtcBufferedAmountPollMs: 1,
  /** Graceful close: how long to wait for the remote to confirm it read everything (ms) before tearing down. */
  webrtcCloseHandshakeTimeoutMs: 5_000,
  /** Incoming offers negotiated at once, over all signalling servers, and from one peer id. Each holds an
   *  RTCPeerConnection (ICE, DTLS: a few hundred KiB and threads in @roamhq/wrtc) until it connects or libp2p's
   *  inbound upgrade timeout fires; beyond them offers are refused (`bye: BUSY`). */
  webrtcMaxPendingInbound: 32,
  webrtcMaxPendingInboundPerPeer: 4,
  /** Largest SDP (characters) and ICE candidate line accepted in a signal: a data-channel-only offer is ~0.5–1 KB
   *  with trickle ICE, a candidate ~100–200 characters. */
  webrtcMaxSdpChars: 16 * 1024,
  webrtcMaxCandidateChars: 1024,
  /** Revocations kept. Anyone can sign a revocation with a fresh key, so the list needs a bound; when it is full,
   *  only revocations from trusted roots are still taken (a root can always revoke). ~200 bytes each. */
  revocationsMax: 100_000,
  // The scheduler (shared/src/scheduler; docs/SCHEDULER.md).
  /** Largest task input, as CBOR (bytes): one wire frame (frameMaxBytes) holds it with room for the envelope. A
   *  larger input is refused with TASK_INVALID before it is queued; split it into several tasks. */
  taskInputMaxBytes: 16 * 1024 * 1024,
  /** Deepest nesting of arrays and objects in a task input. The check walks the input recursively, so this bounds
   *  its stack, and an input that refers to itself is refused instead of looping. */
  taskInputMaxDepth: 64,
  /** Tasks a scheduler's queue holds while they wait for a peer (submitted, or handed back by a busy peer); a
   *  submission beyond it fails with TASK_BUSY. An entry costs ~200 B besides the input the app already holds. */
  schedulerQueueLimit: 10_000,
  /** Placement scores closer than this share are ties, broken at random (a score is multiplied by 1 + up to this):
   *  submitters that see the same gossiped loads then spread their tasks instead of all choosing one peer. */
  placementTieJitter: 0.05,
  /** How soon a task that found no peer for a passing reason (the peers that qualify are down, busy or full) is
   *  tried again (ms). A task is never dropped for such a reason; only its deadline ends the wait. */
  schedulerRetryMs: 1_000,
  /** Longest a peer's "busy, retry after N ms" keeps a task off that peer (ms). N is the peer's hint; capping it
   *  means a task pinned to that peer is tried again within a minute, whatever the peer said. */
  schedulerBusyExcludeMaxMs: 60_000,
  // Recovery (shared/src/scheduler/{lease,breaker,retry}.ts; docs/RECOVERY.md).
  /** A remote task's lease (ms; config scheduler.leaseMs's default): the executor sends a heartbeat frame on the
   *  task's stream every third of it, and a task whose executor stays silent this long is placed again elsewhere
   *  (the first result wins). Three heartbeats a lease: a live executor on a loaded 2-core machine went up to 3 s
   *  without a timer firing (bench/failure-detection.ts), and an expiry then costs a duplicate run, not a result. */
  taskLeaseMs: 3_000,
  /** Heartbeat frames an executor sends per lease. */
  taskHeartbeatsPerLease: 3,
  /** Shortest heartbeat interval a handler honours (ms): a caller cannot make a peer flood its own stream. */
  rpcHeartbeatMinMs: 100,
  /** Circuit breaker per peer (config scheduler.breaker*): open after this many failures in a row… */
  breakerFailures: 5,
  /** …or when at least this share of the last breakerWindow attempts on the peer failed. */
  breakerFailureRatio: 0.5,
  breakerWindow: 20,
  /** Open this long before one probe is let through (ms); doubled after each failed probe, up to the max. */
  breakerCooldownMs: 2_000,
  breakerCooldownMaxMs: 60_000,
  /** Backoff before a task is placed again after a failed attempt: full jitter on base * 2^(retry - 1) (ms). */
  retryBackoffBaseMs: 25,
  retryBackoffMaxMs: 2_000,
  /** Retries one task may make before it fails with RETRY_BUDGET_EXHAUSTED. */
  retryMaxPerTask: 8,
  /** Mesh-wide retry budget of a node (as Finagle's): retries within the window may be this share of the tasks
   *  sent in it, plus the floor, so a failing mesh does not multiply its own load. */
  retryBudgetPercent: 10,
  retryBudgetFloor: 10,
  retryBudgetWindowMs: 10_000,
  /** A task due a retry while the budget is spent waits for it this long (config scheduler.retryBudgetWaitMs),
   *  trying again every tenth of a window or so; only then does it fail with RETRY_BUDGET_EXHAUSTED. The budget
   *  limits how fast work is re-run, not how much of it is. */
  retryBudgetWaitMs: 300_000,
  /** Load shedding (config scheduler.shedQueueLength's default): with this many tasks waiting in a submitter's queue
   *  and its own executor full (or none), a new task is shed (TASK_SHED) unless a waiting one has a lower priority,
   *  which is shed instead. Below schedulerQueueLimit, so the top priorities still get in; above the 5,000-task
   *  map of bench/tasks.ts, which must not shed. */
  shedQueueLength: 8_192,
  /** Supervision (shared/src/orchestrator/supervisor.ts): a failed component restarts after this delay (ms), doubled
   *  per failure up to the max; one that ran for supervisorStableMs starts over from the base. */
  supervisorRestartBaseMs: 500,
  supervisorRestartMaxMs: 30_000,
  supervisorStableMs: 60_000,
  /** Most replicas one task may ask for (RunOptions.replicas): each is a full run on its own peer. */
  taskReplicasMax: 16,
  /** Entries the cost model keeps: (peer, kernel) timings, and link measurements per peer, each map at most this
   *  many, ~150 B an entry, so ≤ ~30 MiB together. The oldest entry goes first; a forgotten pair falls back to the
   *  kernel's mesh-wide average. */
  costModelEntries: 100_000,
  // Built-in kernels (shared/src/exec/kernels, packages/webgpu; docs/KERNELS.md). Inputs must also fit in one frame.
  /** Longest a `delay` task waits (ms): it exists to exercise deadlines, cancellation and placement, not to hold a
   *  worker. */
  kernelDelayMaxMs: 60_000,
  /** Elements in each matrix of a `matmul` (a, b and the result). 2^20 elements are ~9 MiB as CBOR float64, so both
   *  inputs fit in a frame; it also bounds the work: m·k·n ≤ (2^20)^1.5 = 2^30 multiply-adds, ~1–2 s on one core. */
  kernelMatmulMaxElements: 1 << 20,
  /** Longest side of a matmul matrix or a mandelbrot tile. A WGSL workgroup covers 64 (matmul) or 16 (mandelbrot)
   *  per side, so this is at most 1,024 workgroups per dimension, far inside the 65,535 every adapter allows. */
  kernelGridMaxSide: 16_384,
  /** Elements of saxpy's x and y: 2^21 f32 values are 8 MiB each as binary, both together half a frame; on WebGPU
   *  8,192 workgroups of 256. */
  kernelSaxpyMaxLength: 1 << 21,
  /** Pixels in one mandelbrot tile (2048×2048): the counts are at most 5 CBOR bytes each, ≤ 20 MiB, within a frame. */
  kernelMandelbrotMaxPixels: 1 << 22,
  /** Iterations per mandelbrot pixel. f32 (the arithmetic of every backend, for agreement) runs out of precision
   *  long before deeper zooms would need more. */
  kernelMandelbrotMaxIterations: 1 << 16,
  /** Leading zero bits a sha256-search may ask for: 2^40 expected digests are ~25 days on one core (~2 µs each),
   *  beyond any task deadline; a larger ask is a mistake, not a search. */
  kernelSha256MaxBits: 40,
  /** Nonces one sha256-search call tries (~2.4 h on one core); longer searches are split into (start, count) ranges
   *  across tasks. */
  kernelSha256MaxCount: 2 ** 32,
  /** Prefix length (bytes): hashed once (its full 64-byte blocks are reused for every nonce), so this bounds memory,
   *  not work. A block header is 80 bytes. */
  kernelSha256MaxPrefixBytes: 64 * 1024,
  /** Characters of a `wgsl` task's shader. Compute shaders are a few KiB; the device compiles whatever it is sent,
   *  so this bounds the compiler's work per task. */
  kernelWgslMaxCodeChars: 64 * 1024,
  /** Storage buffers of one `wgsl` task: 8 is what every WebGPU device allows per shader stage (the default of
   *  maxStorageBuffersPerShaderStage); a device that allows more is not asked for more. */
  kernelWgslMaxBuffers: 8,
  /** Bytes of a `wgsl` task's buffers together: its inputs arrive in one task input (taskInputMaxBytes) and its
   *  outputs leave in one frame; the device holds them all at once, plus a readback copy of the outputs. */
  kernelWgslMaxBytes: 16 * 1024 * 1024,
  /** Workgroups in one `wgsl` dispatch, x·y·z (each dimension also within the device's
   *  maxComputeWorkgroupsPerDimension, 65,535 by default). A dispatch cannot be stopped once submitted: this and the
   *  GPU's own watchdog are all that bound a shader's time. 2^22 workgroups of 256 are 2^30 invocations. */
  kernelWgslMaxWorkgroups: 1 << 22,
  /** Compiled `wgsl` pipelines a device keeps, by shader text and entry point (least recently used out first), so a
   *  map of many tasks over one shader compiles it once: ≤ 64 KiB of text each, plus the driver's compiled code. */
  kernelWgslCachedPipelines: 16,
  // Executors (shared/src/exec; docs/EXECUTORS.md).
  /** Tasks an executor holds waiting for a worker (config scheduler.queueLimit's default); beyond it a task is answered
   *  TASK_BUSY with a retry-after estimate, never dropped. An entry holds the task's input, which the frame cap bounds. */
  executorQueueLimit: 256,
  /** How long a task may run in a worker when it names no timeout (ms). A kernel still running then is stopped by
   *  terminating its worker (a synchronous loop cannot be asked to stop), and a fresh worker takes its place. */
  executorTaskTimeoutMs: 300_000,
  /** After a cancel, how long a worker has to wind its kernel down (ms) before it is terminated and replaced; the
   *  caller is answered TASK_ABORTED at once either way. Kernels that check their signal stop within ~20 ms. */
  executorAbortGraceMs: 1_000,
  /** How long a new worker may take to load its entry (ms) before it counts as crashed: a Node worker compiles the
   *  TypeScript sources on first use (~0.5–1 s; more on a loaded machine), a browser fetches a module script. */
  executorWorkerStartMs: 30_000,
  /** Least time between two progress messages a worker forwards for one task (ms); kernels may report far more
   *  often, and each message costs a structured clone and a wake-up of the node's thread. */
  executorProgressIntervalMs: 100,
  /** Least "retry after" a busy executor answers (ms): below it a retry would only meet the same full queue. */
  executorRetryAfterMinMs: 50,
  /** JavaScript heap of one Node worker (MB, worker_threads resourceLimits.maxOldGenerationSizeMb): a kernel that
   *  grows past it ends its worker with KERNEL_CRASHED rather than the node. Typed arrays are outside this heap; their
   *  size is bounded by the input and output caps. Browsers give workers no such knob. */
  executorWorkerHeapMb: 512,
  /** Most linear memory a custom WebAssembly kernel may declare (bytes; 4,096 pages of 64 KiB). A module must
   *  declare a maximum within it; memory.grow beyond it fails and the task ends with WASM_MEMORY_LIMIT. */
  wasmMemoryMaxBytes: 256 * 1024 * 1024,
  /** Compiled custom kernels an executor keeps by hash (least recently used out first), and their total size in
   *  bytes of module: compiled code takes a few times the module's size, so ≤ ~200 MiB at the cap. */
  wasmCacheModules: 64,
  wasmCacheBytes: 64 * 1024 * 1024,
  // Failure detection (shared/src/health; docs/HEALTH.md).
  /** How often a node pings each connected peer (ms; config health.heartbeatMs's default). With the pause and
   *  deviation floor below and the default phi thresholds, a silent peer is suspect after ~3.6 s and dead after
   *  ~4.0 s of silence (a regular 1 s rhythm): dead within 5 s of dying, at one ping per peer per second. */
  healthHeartbeatMs: 1_000,
  /** Silence tolerated on top of the mean interval, in heartbeat intervals. One was not enough: on a 2-core machine
   *  with both cores spinning and five noodlenet processes, a live peer went 2.7-3.0 s without a heartbeat
   *  (bench/failure-detection.ts). */
  healthAcceptablePauseHeartbeats: 2,
  /** Floor of the interval deviation, as a fraction of the heartbeat interval: a perfectly regular peer would
   *  otherwise be suspected at the first small delay. */
  healthMinStdDeviationFraction: 0.2,
  /** Pings over one direct link that fail in a row (each times out after 4 heartbeats) before the link is closed as
   *  dead, whatever gossip relayed through others says of the peer: 3, so a ping or two lost on a loaded host do not. */
  healthLinkDeadPings: 3,
  /** Longest a peer's kept ping stream is answered before the answerer resets it (ms; @libp2p/ping's `timeout`):
   *  the pinger opens a new one, so each link's ping stream is renewed every 10 minutes, and a stream a peer holds
   *  open (at most 8 a connection) is not held forever. */
  pingStreamMaxMs: 600_000,
  /** Phi at which a peer becomes suspect (1 in 1,000 that a live peer is this late) and dead (1 in 10^8). */
  healthSuspectPhi: 3,
  healthDeadPhi: 8,
  /** Acceptable pause multiplier for a peer whose profile says it is throttled (a hidden browser tab runs its timers
   *  at most once a second, then once a minute): dead after ~10 s of silence instead of ~4 s. */
  healthThrottledFactor: 4,
  /** Inter-arrival times kept per peer: 100 heartbeats, ~100 s at the default interval; 800 bytes a peer. */
  healthSampleSize: 100,
  /** Peers the detector tracks at once; beyond it the one heard from longest ago is forgotten. ~1 KiB each. */
  healthMaxPeers: 4_096,
  /** A dead peer is forgotten this long after it was declared dead (ms) unless it is heard from again. */
  healthForgetDeadMs: 60_000,
  // Routing (shared/src/routing; docs/ROUTING.md).
  /** Links one link-state record lists (the lowest-RTT ones first); a record is ~60 bytes a link, so 256 links stay
   *  under the record cap below. More than a node's maxConnections is never useful. */
  linkStateMaxLinks: 256,
  /** Largest link-state record (bytes). */
  linkStateMaxBytes: 32 * 1024,
  /** Link-state records a node keeps (one per peer); beyond it the least recently heard goes. A record costs about
   *  1 KiB in memory with ten links, so the topology of a 4,096-peer mesh is ~4 MiB. */
  linkStateMaxRecords: 4_096,
  /** A record not refreshed within this many publish intervals is dropped (its peer left or lost every link). */
  linkStateTtlIntervals: 3,
  /** Shortest time between two records published because a link changed (ms): a flapping link cannot flood the
   *  mesh, and the periodic publish still carries the last state. */
  linkStateMinGapMs: 500,
  /** Delay that coalesces topology changes into one route recomputation (ms). A lookup while changes are pending
   *  recomputes at once, so a route is never older than the graph it is asked of. */
  routeRecomputeDelayMs: 50,
  /** Hops a routed envelope may take (its initial TTL): far above any useful path, low enough to end a loop. */
  routeMaxHops: 16,
  /** How long a peer whose direct dial failed is reached through routes before dialling it again (ms). */
  routeDirectRetryMs: 30_000,
  /** How long a request waits for a dial to a peer it has no connection to before it takes a route instead (ms; at
   *  most a third of the request's deadline). A dial on loopback or a LAN takes milliseconds; one into a cut link,
   *  the OS's whole connect timeout. */
  routeDialBudgetMs: 3_000,
  /** A routed request older than this (by the source's clock), or whose nonce was seen within it, is refused: replay
   *  protection against relays. Clocks of peers must agree to within it. */
  routeReplayWindowMs: 300_000,
  /** Nonces a destination remembers for replay protection; beyond it the oldest go (16 bytes + overhead each). */
  routeReplayMaxNonces: 65_536,
} as const
