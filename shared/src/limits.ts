// Every limit of the core in one place, with the reason beside it. docs/LIMITS.md lists them for operators;
// the config schema takes its defaults from here so the two cannot drift apart.

export const LIMITS = {
  /** Largest wire frame accepted or sent (bytes). Big enough for a 16 MB task input plus envelope; a peer that
   *  announces more is cut off before the bytes are buffered. Memory per stream is at most this. */
  frameMaxBytes: 32 * 1024 * 1024,
  /** Largest presence profile (bytes). A profile is a few hundred bytes; 16 KiB leaves room for many addresses. */
  presenceMaxBytes: 16 * 1024,
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
} as const
