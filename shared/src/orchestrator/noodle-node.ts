// NoodleNode: one peer of the mesh. It owns its components, starts them in dependency order and stops them in
// reverse: libp2p, then request/response, presence gossip and the mesh maintainer. Everything it needs comes in
// through its init (config, platform, key, logger), so two nodes can live in one process.

import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import type { NoodleConfig } from '../config/schema.js'
import { CpuExecutor } from '../exec/executor.js'
import { CpuTaskExecutor } from '../exec/task-executor.js'
import { FailureDetector, type FailureDetectorEvents } from '../health/failure-detector.js'
import { PingStreams } from '../health/ping-streams.js'
import { LIMITS } from '../limits.js'
import { Alerting } from '../monitoring/alerting.js'
import { libp2pMetrics } from '../monitoring/libp2p-metrics.js'
import { componentLogger, createLogger, type Logger } from '../monitoring/logger.js'
import { MeshMetrics } from '../monitoring/mesh-metrics.js'
import { MetricsRegistry } from '../monitoring/metrics.js'
import { SummaryBuilder } from '../monitoring/metrics-summary.js'
import { NodeMetrics } from '../monitoring/node-metrics.js'
import { peerIdOfAddr } from '../net/addrs.js'
import { assembleLibp2p, type NoodleLibp2p } from '../net/libp2p.js'
import { MeshMaintainer } from '../net/mesh-maintainer.js'
import { type PeerSummary, summarizePeers, type TransportName } from '../net/peers.js'
import { PresenceService } from '../net/presence.js'
import { ECHO_PROTOCOL, PROFILE_PROTOCOL } from '../net/protocols.js'
import { RpcService } from '../net/rpc.js'
import type { HardwareProfile, NodeProfile } from '../net/wire-schemas.js'
import { Router } from '../routing/router.js'
import type { Topology } from '../routing/types.js'
import { AuditLog, MemoryAuditStore } from '../security/audit.js'
import { SecurityGate } from '../security/gate.js'
import { PolicyEngine } from '../security/policy.js'
import { MemoryRevocationStore, type Revocation, RevocationGossip, RevocationList } from '../security/revocation.js'
import { NOODLENET_VERSION } from '../version.js'
import type { Platform } from './platform.js'
import { SelfTuner, SelfTuning, TuningMetrics } from './self-tuning.js'
import { Supervisor } from './supervisor.js'
import { type MapResult, type RunOptions, type TaskExecutor, TaskService } from './task-service.js'

export interface NoodleNodeInit {
  config: NoodleConfig
  platform: Platform
  /** The node's identity; a fresh Ed25519 key when absent. */
  privateKey?: PrivateKey
  /** Root logger; one is made from config and the platform's sink when absent. */
  logger?: Logger
}

export interface NoodleNodeEvents {
  'peer:connect': CustomEvent<{ peerId: string }>
  'peer:disconnect': CustomEvent<{ peerId: string }>
  'presence:update': CustomEvent<NodeProfile>
  'presence:expire': CustomEvent<{ peerId: string }>
  /** The failure detector's verdicts (docs/HEALTH.md): a peer heard from again or for the first time, suspected,
   *  declared dead. */
  'peer:alive': FailureDetectorEvents['peer:alive']
  'peer:suspect': FailureDetectorEvents['peer:suspect']
  'peer:dead': FailureDetectorEvents['peer:dead']
}

type Status = 'stopped' | 'starting' | 'started' | 'stopping'

export class NoodleNode extends TypedEventEmitter<NoodleNodeEvents> {
  readonly config: NoodleConfig
  readonly platform: Platform
  readonly libp2p: NoodleLibp2p
  readonly logger: Logger
  readonly rpc: RpcService
  readonly presence: PresenceService
  readonly mesh: MeshMaintainer
  readonly gate: SecurityGate
  readonly audit: AuditLog
  readonly revocations: RevocationList
  readonly tasks: TaskService
  /** Phi-accrual failure detection over presence gossip and pings (docs/HEALTH.md). */
  readonly health: FailureDetector
  /** The failure detector's pings, each peer's on one kept stream (health/ping-streams.ts). */
  private readonly pings: PingStreams
  /** The address list each peer's profile last carried, joined (discovered()). */
  private readonly knownAddrs = new Map<string, string>()
  /** Restarts a failed component (the executor) with backoff instead of letting it take the node down. */
  readonly supervisor: Supervisor
  /** Link-state routing: topology, route table and hop-by-hop forwarding (docs/ROUTING.md). */
  readonly router: Router
  /** This node's metrics (docs/METRICS.md), libp2p's own included; empty when config monitoring.metrics is false. */
  readonly metrics: MetricsRegistry
  /** Metric history and alert rules, evaluated every monitoring interval (docs/ALERTING.md). */
  readonly alerting: Alerting
  /** This node's metrics summary on the metrics topic every monitoring interval, and the summaries heard from other
   *  peers (GET /api/metrics/mesh, the dashboard; docs/METRICS.md). */
  readonly meshMetrics: MeshMetrics
  /** Orchestrator self-tuning (config monitoring.selfTuning; docs/SCHEDULER.md); undefined while off or stopped. */
  selfTuning: SelfTuning | undefined
  /** The CPU executor this node made (the one self-tuning resizes), if any. */
  private cpuExecutor: CpuExecutor | undefined
  /** Capability tokens this node presents when it sends tasks to other peers (addCapability). */
  private readonly capabilities: string[] = []
  private readonly revocationGossip: RevocationGossip
  private hardware: HardwareProfile | undefined
  private status: Status = 'stopped'

  /** Builds a node (not yet started). */
  static async create(init: NoodleNodeInit): Promise<NoodleNode> {
    const privateKey = init.privateKey ?? (await generateKeyPair('Ed25519'))
    // Made before libp2p, which registers its own metrics in the same registry as it starts.
    const metrics = init.config.monitoring.metrics ? new NodeMetrics() : undefined
    const libp2p = await assembleLibp2p(init.config, init.platform, privateKey, metrics && libp2pMetrics(metrics.registry))
    const logger = init.logger ?? createLogger({ level: init.config.monitoring.logLevel, component: 'node', sink: init.platform.logSink })
    return new NoodleNode({ ...init, privateKey }, libp2p, logger.child({ peerId: libp2p.peerId.toString() }), metrics)
  }

  private constructor(init: NoodleNodeInit, libp2p: NoodleLibp2p, logger: Logger, metrics: NodeMetrics | undefined) {
    super()
    this.config = init.config
    this.metrics = metrics?.registry ?? new MetricsRegistry()
    this.platform = init.platform
    this.libp2p = libp2p
    this.logger = logger
    const network = this.config.network
    const meshLogger = componentLogger(logger, 'mesh')
    const securityLogger = componentLogger(logger, 'security')
    const trustedRoots = new Set(this.config.security.trustedRoots)
    this.revocations = new RevocationList(init.platform.revocationStore?.(this.config) ?? new MemoryRevocationStore(), trustedRoots)
    this.revocationGossip = new RevocationGossip(libp2p.services.pubsub, this.revocations, securityLogger)
    this.audit = new AuditLog(init.platform.auditStore?.(this.config) ?? new MemoryAuditStore())
    this.gate = new SecurityGate({
      self: libp2p.peerId.toString(),
      trustedRoots,
      revocations: this.revocations,
      policy: new PolicyEngine(this.config.security.rules),
      audit: this.audit,
      defaultLevel: this.config.security.level,
      logger: securityLogger,
      metrics,
    })
    this.rpc = new RpcService({
      gate: this.gate,
      libp2p,
      logger: componentLogger(logger, 'rpc'),
      frameMaxBytes: network.frameMaxBytes,
      requestTimeoutMs: network.requestTimeoutMs,
    })
    this.presence = new PresenceService({
      libp2p,
      pubsub: libp2p.services.pubsub,
      logger: componentLogger(logger, 'presence'),
      intervalMs: network.presenceIntervalMs,
      ttlIntervals: LIMITS.presenceTtlIntervals,
      // With self-tuning, peers may publish up to maxIntervalFactor times less often: expire them by that pace.
      ttlIntervalMs: this.config.monitoring.selfTuning.enabled
        ? network.presenceIntervalMs * this.config.monitoring.selfTuning.maxIntervalFactor
        : undefined,
      maxBytes: LIMITS.presenceMaxBytes,
      profile: async () => this.profile(),
    })
    const deniedPeers = new Set(network.denyPeers)
    this.mesh = new MeshMaintainer({
      libp2p,
      logger: meshLogger,
      targetDegree: network.targetDegree,
      tickMs: LIMITS.meshTickMs,
      dialTimeoutMs: network.dialTimeoutMs,
      backoffMinMs: LIMITS.dialBackoffMinMs,
      backoffMaxMs: LIMITS.dialBackoffMaxMs,
      pinned: network.bootstrap.map(bootstrapPeerId),
      denied: (peer) => deniedPeers.has(peer.toString()),
    })
    this.pings = new PingStreams(libp2p)
    this.health = new FailureDetector({
      config: this.config.health,
      logger: componentLogger(logger, 'health'),
      presence: this.presence,
      ping: { peers: () => libp2p.getPeers(), ping: (peer, options) => this.pings.ping(peer, options) },
      selfThrottled: () => init.platform.isThrottled?.() === true,
      metrics,
    })
    this.router = new Router({
      libp2p,
      pubsub: libp2p.services.pubsub,
      rpc: this.rpc,
      privateKey: init.privateKey as PrivateKey,
      logger: componentLogger(logger, 'routing'),
      intervalMs: network.presenceIntervalMs,
      frameMaxBytes: network.frameMaxBytes,
      denied: (peer) => deniedPeers.has(peer),
      health: this.health,
      load: () => init.platform.sampleLoad?.()?.load ?? 0,
      metrics,
    })
    for (const type of ['peer:alive', 'peer:suspect', 'peer:dead'] as const) {
      this.health.addEventListener(type, (evt) => this.safeDispatchEvent(type, { detail: evt.detail }))
    }
    // A peer declared dead, or a link whose pings fail in a row, is hung up on (libp2p's own monitor does not close a
    // link for one late ping: see net/libp2p.ts); if it was only stalled, the mesh maintainer or the peer dials again,
    // and requests meanwhile go through routes (routing/).
    for (const type of ['peer:dead', 'link:dead'] as const) {
      this.health.addEventListener(type, (evt) => {
        libp2p.hangUp(peerIdFromString(evt.detail.peerId)).catch(() => {})
      })
    }
    this.supervisor = new Supervisor({
      logger: componentLogger(logger, 'supervisor'),
      metrics,
      baseMs: LIMITS.supervisorRestartBaseMs,
      maxMs: LIMITS.supervisorRestartMaxMs,
      stableMs: LIMITS.supervisorStableMs,
    })
    const tasksLogger = componentLogger(logger, 'tasks')
    const intervalMs = this.config.monitoring.intervalSeconds * 1000
    const summary = new SummaryBuilder({
      peer: libp2p.peerId.toString(),
      platform: init.platform.name,
      intervalMs,
      neighbours: () => libp2p.getPeers().map((peer) => peer.toString()),
      taskDuration: metrics?.taskDuration,
      failedTasks: () => failedTasks(metrics),
      executorLoad: () => this.tasks.executor?.load(),
      alertsFiring: () => this.alerting.evaluator.firing().length,
    })
    this.tasks = new TaskService({
      rpc: this.rpc,
      presence: this.presence,
      logger: tasksLogger,
      profile: () => this.profile(),
      executor: () => this.createExecutor(tasksLogger),
      tokens: () => this.capabilities,
      metrics: metrics && {
        taskFinished: (kernel, outcome, seconds) => {
          metrics.taskFinished(kernel, outcome, seconds)
          summary.taskFinished(kernel, outcome, seconds)
        },
      },
      health: (peerId) => this.health.state(peerId),
      detector: this.health,
      recoveryMetrics: metrics,
      recovery: { ...this.config.scheduler, throttledFactor: this.config.health.throttledFactor },
      supervisor: this.supervisor,
    })
    this.alerting = new Alerting({
      config: this.config.monitoring,
      registry: this.metrics,
      pubsub: libp2p.services.pubsub,
      logger: componentLogger(logger, 'alerts'),
      peer: libp2p.peerId.toString(),
      firingGauge: metrics?.alertsFiring,
    })
    this.meshMetrics = new MeshMetrics({
      pubsub: libp2p.services.pubsub,
      logger: componentLogger(logger, 'metrics'),
      intervalMs,
      summarize: () => summary.build(),
    })
    metrics?.collectFrom({
      peersByTransport: () => this.peersByTransport(),
      profilesKnown: () => this.presence.profiles().length,
      executorLoad: () => this.tasks.executor?.load(),
      submitted: () => this.tasks.stats(),
    })
    // Guarded: a profile this cannot use is logged and counted, and the event still reaches the node's listeners.
    const discover = this.supervisor.guard('mesh.discovery', (profile: NodeProfile) => this.discovered(profile))
    this.presence.addEventListener('presence:update', (evt) => {
      discover(evt.detail)
      this.safeDispatchEvent('presence:update', { detail: evt.detail })
    })
    this.presence.addEventListener('presence:expire', (evt) => {
      this.knownAddrs.delete(evt.detail.peerId)
      this.safeDispatchEvent('presence:expire', { detail: evt.detail })
    })
    libp2p.addEventListener('peer:connect', (evt) => {
      meshLogger.info({ remotePeer: evt.detail.toString() }, 'peer connected')
      metrics?.peerConnects.inc()
      this.safeDispatchEvent('peer:connect', { detail: { peerId: evt.detail.toString() } })
    })
    libp2p.addEventListener('peer:disconnect', (evt) => {
      meshLogger.info({ remotePeer: evt.detail.toString() }, 'peer disconnected')
      metrics?.peerDisconnects.inc()
      this.safeDispatchEvent('peer:disconnect', { detail: { peerId: evt.detail.toString() } })
    })
  }

  get peerId(): PeerId {
    return this.libp2p.peerId
  }

  get isStarted(): boolean {
    return this.status === 'started'
  }

  async start(): Promise<void> {
    if (this.status !== 'stopped') return
    this.status = 'starting'
    this.logger.debug({ config: this.config }, 'effective configuration')
    this.hardware = await this.platform.probeHardware()
    // Bootstrap addresses go straight into the peer store so the maintainer can dial them from its first tick.
    for (const addr of this.config.network.bootstrap) {
      await this.libp2p.peerStore.merge(bootstrapPeerId(addr), { multiaddrs: [multiaddr(addr)] })
    }
    await this.libp2p.start()
    await this.rpc.start()
    await this.revocationGossip.start()
    await this.rpc.handle(PROFILE_PROTOCOL, { command: '/node/profile', level: 'PUBLIC', capability: 'optional' }, async () => ({
      ...this.profile(),
      seq: 0,
      publishedAt: Date.now(),
    }))
    await this.rpc.handle(ECHO_PROTOCOL, { command: '/node/echo', capability: 'required' }, async (request) => request)
    await this.presence.start()
    this.pings.start()
    this.health.start()
    await this.router.start()
    await this.tasks.start()
    this.startSelfTuning()
    await this.mesh.start()
    await this.alerting.start()
    await this.meshMetrics.start()
    this.status = 'started'
    this.logger.info({ addrs: this.addrs() }, 'node started')
  }

  async stop(): Promise<void> {
    if (this.status !== 'started') return
    this.status = 'stopping'
    this.selfTuning?.stop()
    this.selfTuning = undefined
    await this.meshMetrics.stop()
    await this.alerting.stop()
    await this.mesh.stop()
    await this.tasks.stop()
    await this.supervisor.stop()
    await this.router.stop()
    this.health.stop()
    this.pings.stop()
    await this.presence.stop()
    await this.revocationGossip.stop()
    await this.rpc.stop()
    // Decisions made up to now reach the audit log before the node reports stopped.
    await this.gate.flushAudit()
    await this.libp2p.stop()
    this.status = 'stopped'
    this.logger.info('node stopped')
  }

  /** The platform's own executor, else a CpuExecutor over its worker pool with scheduler.concurrency workers (0:
   *  one per core the probe found); none on a platform without workers. */
  private async createExecutor(logger: Logger): Promise<TaskExecutor | undefined> {
    if (!this.config.scheduler.execute) return undefined
    const own = this.platform.taskExecutor?.(this.config, logger)
    if (own !== undefined || this.platform.createWorkerPool === undefined) return own
    const { concurrency, queueLimit } = this.config.scheduler
    const cores = Math.max(1, this.hardware?.cpu.cores ?? 1)
    const cpu = new CpuExecutor({ pool: this.platform.createWorkerPool(), concurrency: concurrency > 0 ? concurrency : cores, queueLimit })
    this.cpuExecutor = cpu
    const gpu = await this.platform.gpuRunner?.(this.config).catch((err: unknown) => {
      logger.warn({ err }, 'no WebGPU device: GPU kernels will not run here')
      return undefined
    })
    // The profile says WebGPU exactly when this node can use it: the scheduler sends GPU tasks by it.
    if (this.hardware !== undefined) {
      if (gpu === undefined) this.hardware = { ...this.hardware, webgpu: undefined }
      else if (this.hardware.webgpu === undefined && gpu.adapter !== undefined) {
        this.hardware = { ...this.hardware, webgpu: { ...gpu.adapter, limits: WEBGPU_DEFAULT_LIMITS } }
      }
    }
    return new CpuTaskExecutor(cpu, { gpu })
  }

  /** Starts self-tuning when config monitoring.selfTuning.enabled: after the executor exists and the hardware is known. */
  private startSelfTuning(): void {
    const config = this.config.monitoring.selfTuning
    if (!config.enabled) return
    const tuner = new SelfTuner({
      config,
      presenceIntervalMs: this.config.network.presenceIntervalMs,
      heartbeatMs: this.config.health.heartbeatMs,
      cores: Math.max(1, this.hardware?.cpu.cores ?? 1),
    })
    this.selfTuning = new SelfTuning({
      tuner,
      logger: componentLogger(this.logger, 'tuning'),
      metrics: this.config.monitoring.metrics ? new TuningMetrics(this.metrics) : undefined,
      intervalMs: this.config.monitoring.intervalSeconds * 1000,
      node: {
        inputs: () => ({
          load: this.platform.sampleLoad?.()?.load,
          executor: this.cpuExecutor?.stats(),
          meshSize: this.presence.profiles().length + 1,
        }),
        state: () => ({
          concurrency: this.cpuExecutor?.concurrency,
          presenceIntervalMs: this.presence.interval,
          heartbeatMs: this.health.heartbeatInterval,
        }),
        setConcurrency: (value) => this.cpuExecutor?.setConcurrency(value),
        setPresenceIntervalMs: (value) => this.presence.setIntervalMs(value),
        setHeartbeatMs: (value) => this.health.setHeartbeatMs(value),
      },
    })
    this.selfTuning.start()
  }

  /** Runs `kernel` on `input` on the best peer for it (this one included) and resolves with the output. Remote
   *  peers need a capability token for `/task/run`: `options.token`, or one given to addCapability(). */
  run(kernel: string, input: unknown, options?: RunOptions): Promise<unknown> {
    return this.tasks.run(kernel, input, options)
  }

  /** Runs `kernel` on each input across the mesh; yields results as they complete. */
  map(
    kernel: string,
    inputs: Iterable<unknown>,
    options?: RunOptions & { onMapProgress?: (done: number, total: number) => void },
  ): AsyncGenerator<MapResult> {
    return this.tasks.map(kernel, inputs, options)
  }

  /** Registers a custom WebAssembly kernel (docs/KERNELS.md) and returns its name, `custom:<sha256>`, for run(). */
  registerKernel(module: Uint8Array): Promise<string> {
    return this.tasks.registerKernel(module)
  }

  /** Keeps a capability token (issued to this node) to present when sending tasks; the first one held is used. */
  addCapability(token: string): void {
    if (!this.capabilities.includes(token)) this.capabilities.push(token)
  }

  /** Revokes a capability token by id (the record is signed by the revoker) and gossips it to the mesh. */
  async revoke(record: Revocation): Promise<void> {
    await this.revocationGossip.publish(record)
  }

  /** Addresses others can dial this node on, each ending in /p2p/<peer id>. */
  addrs(): string[] {
    return this.libp2p.getMultiaddrs().map((addr) => addr.toString())
  }

  /** The topology this node knows from link-state gossip and its routes, as `/api/topology` shows them. */
  topology(): Topology {
    return this.router.topology()
  }

  /** Presence is discovery: a profile carries the peer's addresses (only the peer itself can publish its profile),
   *  so a new or changed address list goes into the peer store and the peer becomes a candidate for the mesh
   *  maintainer. A separate discovery topic (@libp2p/pubsub-peer-discovery) sent the same addresses again and was a
   *  third of an idle mesh's gossip (docs/decisions/0012-presence-is-discovery.md). */
  private discovered(profile: NodeProfile): void {
    const key = profile.addrs.join(' ')
    if (profile.addrs.length === 0 || this.knownAddrs.get(profile.peerId) === key) {
      this.mesh.discovered(profile.peerId)
      return
    }
    this.knownAddrs.set(profile.peerId, key)
    const addrs = profile.addrs.flatMap((addr) => {
      try {
        return [multiaddr(addr)]
      } catch {
        return []
      }
    })
    this.libp2p.peerStore
      .merge(peerIdFromString(profile.peerId), { multiaddrs: addrs })
      .then(() => this.mesh.discovered(profile.peerId))
      .catch((err: unknown) => this.logger.debug({ err, peer: profile.peerId }, 'could not store the addresses of a peer'))
  }

  /** Connected peers, one entry each, as `/api/peers` shows them. */
  peers(): PeerSummary[] {
    return summarizePeers(this.libp2p, (peerId) => this.health.rttMs(peerId))
  }

  /** Connected peers by the transport of their first open connection (noodlenet_peers_connected). */
  private peersByTransport(): Partial<Record<TransportName, number>> {
    const counts: Partial<Record<TransportName, number>> = {}
    for (const peer of summarizePeers(this.libp2p)) counts[peer.transport] = (counts[peer.transport] ?? 0) + 1
    return counts
  }

  /** This node's profile as it gossips it. */
  profile(): Omit<NodeProfile, 'seq' | 'publishedAt'> {
    const hardware = this.hardware ?? {
      cpu: { cores: 1 },
      memory: { totalMB: 0, freeMB: 0 },
      gpus: [],
      npus: [],
    }
    const sample = this.platform.sampleLoad?.()
    return {
      peerId: this.peerId.toString(),
      addrs: this.addrs().slice(0, 64),
      version: NOODLENET_VERSION,
      platform: this.platform.name,
      hardware: sample === undefined ? hardware : { ...hardware, memory: { ...hardware.memory, freeMB: sample.freeMB }, load: sample.load },
      load: { connections: this.libp2p.getConnections().length, tasksRunning: 0, queueLength: 0, ...this.tasks.executorLoad() },
      // A node without an executor lists no kernels, so no scheduler sends it work.
      kernels: this.tasks.kernels(),
      ...(this.platform.isThrottled?.() === true ? { throttled: true } : {}),
    }
  }
}

/** The limits every WebGPU adapter offers at least (the spec's defaults), for an adapter known only by its summary. */
const WEBGPU_DEFAULT_LIMITS = {
  maxBufferSize: 256 * 1024 * 1024,
  maxStorageBufferBindingSize: 128 * 1024 * 1024,
  maxComputeWorkgroupStorageSize: 16_384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
}

/** Tasks run here that failed (noodlenet_tasks_total with an outcome other than ok). */
function failedTasks(metrics: NodeMetrics | undefined): number {
  let failed = 0
  for (const sample of metrics?.tasks.snapshot().samples ?? []) {
    if ('value' in sample && sample.labels.outcome !== 'ok') failed += sample.value
  }
  return failed
}

function bootstrapPeerId(addr: string): PeerId {
  const id = peerIdOfAddr(addr)
  if (id === undefined) throw new Error(`bootstrap address ${addr} has no /p2p/ peer id`)
  return peerIdFromString(id)
}
