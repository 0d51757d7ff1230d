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
  /** Revocations kept. Anyone can sign a revocation with a fresh key, so the list needs a bound; when it is full,
   *  only revocations from trusted roots are still taken (a root can always revoke). ~200 bytes each. */
  revocationsMax: 100_000,
} as const
