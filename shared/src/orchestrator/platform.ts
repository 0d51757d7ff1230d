// The Platform: everything platform-specific the core needs, passed in rather than imported, so shared/ runs
// unchanged in Node and in browsers. Node's implementation lives in node/src/platform.ts; the browser's in
// packages/noodlenet.

import type { ConnectionGater, PeerDiscovery, Transport } from '@libp2p/interface'
import type { NoodleConfig } from '../config/schema.js'
import type { GpuTaskRunner } from '../exec/task-executor.js'
import type { WorkerPool } from '../exec/worker-pool.js'
import type { Logger, LogSink } from '../monitoring/logger.js'
import type { HardwareProfile } from '../net/wire-schemas.js'
import type { AuditStore } from '../security/audit.js'
import type { RevocationStore } from '../security/revocation.js'
import type { TaskExecutor } from './task-service.js'

// libp2p's own option types take component factories of `any` components; so do we.
// biome-ignore lint/suspicious/noExplicitAny: libp2p's factory signature
export type TransportFactory = (components: any) => Transport
// biome-ignore lint/suspicious/noExplicitAny: libp2p's factory signature
export type PeerDiscoveryFactory = (components: any) => PeerDiscovery

export interface Platform {
  readonly name: 'node' | 'browser'
  /** libp2p transports this platform can use. */
  transports(config: NoodleConfig): TransportFactory[]
  /** Discovery beyond bootstrap and pubsub (mDNS on Node, when config.network.mdns). */
  peerDiscovery?(config: NoodleConfig): PeerDiscoveryFactory[]
  /** Listen addresses used when config.network.listen is empty. */
  defaultListen(): string[]
  /** Listen addresses always added (the WebRTC transport's signalling addresses for config.network.signaling). */
  extraListen?(config: NoodleConfig): string[]
  /** Full hardware probe; may be slow (subprocesses, adapters). Run once at start. */
  probeHardware(): Promise<HardwareProfile>
  /** Cheap sample of what changes: free memory and load. Run at every presence publish. */
  sampleLoad?(): { freeMB: number; load?: number }
  /** Where log lines go; the console when absent. */
  logSink?: LogSink
  /** Where the audit log is kept: a file on Node when security.auditLog is set, IndexedDB in browsers (packages/noodlenet);
   *  a bounded memory log if absent. */
  auditStore?(config: NoodleConfig): AuditStore | undefined
  /** Where revocations persist (security.revocationsFile on Node); memory if absent. */
  revocationStore?(config: NoodleConfig): RevocationStore | undefined
  /** A WebGPU device for the kernels with WGSL implementations (navigator.gpu in browsers); none when absent or when
   *  it resolves to undefined. Asked once, at start. */
  gpuRunner?(config: NoodleConfig): Promise<GpuTaskRunner | undefined>
  /** What runs tasks here (worker pool, WebGPU); without it the node submits tasks but runs none. */
  taskExecutor?(config: NoodleConfig, logger: Logger): TaskExecutor | undefined
  /** Workers for the CPU executor (worker_threads on Node, Web Workers in browsers); no executor when absent. */
  createWorkerPool?(): WorkerPool
  /** Whether this node runs throttled now (a hidden browser tab); gossiped in its profile so that others wait longer
   *  before suspecting it. Node peers never are. */
  isThrottled?(): boolean
  /** libp2p connection gater override (browsers in development allow loopback ws://). */
  connectionGater?: ConnectionGater
}
