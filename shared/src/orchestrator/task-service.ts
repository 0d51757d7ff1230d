// Tasks on a node, both ways. Submitting: `run()` declares a task, the scheduler (../scheduler) places it on the best
// peer it knows from presence gossip (or on this node), sends it over TASK_PROTOCOL with a capability token, and
// settles with the result; a peer that answers "busy, retry after" or drops the connection gets the task back in
// line for another peer, never a lost task. Executing: with an executor, the node serves TASK_PROTOCOL behind the
// security gate (command `/task/run`, the kernel and its level in the request) and reports its queue in its profile.
// A task on another peer holds a lease (../scheduler/lease.ts) that the executor's heartbeats renew: when they stop,
// or the failure detector declares the peer dead, the task is placed again at once, and the caller gets the first
// result that comes back, exactly once (docs/RECOVERY.md).

import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { setMaxListeners } from 'main-event'
import { isNoodleError, NoodleError, type NoodleErrorCode } from '../errors.js'
import { compileWasmKernel, wasmKernelId } from '../exec/wasm-kernel.js'
import type { FailureDetectorEvents } from '../health/failure-detector.js'
import { LIMITS } from '../limits.js'
import type { Logger } from '../monitoring/logger.js'
import { kernelLabel, type NodeMetrics } from '../monitoring/node-metrics.js'
import type { PresenceService } from '../net/presence.js'
import {
  TASK_BATCH_PROTOCOL,
  TASK_PROTOCOL,
  type TaskBatch,
  type TaskBatchResults,
  type TaskResult,
  type TaskRun,
} from '../net/protocols.js'
import { fromWireError, RequestCut, type RpcContext, type RpcService, toWireError } from '../net/rpc.js'
import type { NodeProfile } from '../net/wire-schemas.js'
import { BreakerBoard, type BreakerState } from '../scheduler/breaker.js'
import { type Candidate, candidateFromProfile, hostsKernel, type PeerHealth, withHealth } from '../scheduler/candidates.js'
import { CostModel } from '../scheduler/cost-model.js'
import { type DispatchOptions, dispatchNext } from '../scheduler/dispatch.js'
import { LeaseTable, type TaskLease } from '../scheduler/lease.js'
import { backoffMs, RetryBudget } from '../scheduler/retry.js'
import { breakTies, type ScoringStrategy, StrategyRegistry } from '../scheduler/strategies.js'
import { parseTask, type TaskDeclaration, type TaskDeclarationInput } from '../scheduler/task.js'
import { type QueuedTask, TaskQueue } from '../scheduler/task-queue.js'
import { levelRank, type SecurityLevel } from '../security/levels.js'
import { outputHash, QuorumVote, type ReplicaGroup, replicaPlan } from './replicas.js'
import type { Supervised, Supervisor } from './supervisor.js'

/** What runs kernels on this node: the platform's CPU worker pool and WebGPU runner behind one admission queue. */
export interface TaskExecutor {
  /** Kernel names it runs (gossiped in the profile so submitters place only what it can do). */
  kernels(): string[]
  /** The kernel's own security level; undefined when it does not run that kernel. */
  levelOf(kernel: string): SecurityLevel | undefined
  /** Runs one task; throws NoodleError (TASK_BUSY with retryAfterMs when its queue is full). `owned`: the input
   *  was decoded for this call and nothing else holds it, so its buffers may be moved to a worker, not copied. */
  run(task: TaskRun, options: TaskExecutorRunOptions): Promise<TaskResult>
  load(): { running: number; queueLength: number; queueLimit: number }
  /** Counters for operators (completed, failed, rejected as busy, …). */
  stats?(): Record<string, number>
  stop?(): Promise<void>
}

export interface TaskExecutorRunOptions {
  signal: AbortSignal
  /** Whether the task is cancelled already, without reading `signal` (see ExecutorRunOptions.aborted). */
  aborted?: () => boolean
  onProgress?: (fraction: number) => void
  owned?: boolean
}

/** Where a submitted task is; `run()`'s onProgress hears each change. */
export type TaskProgress =
  | { stage: 'queued' }
  | { stage: 'placed'; peer: string; attempt: number }
  | { stage: 'retry'; peer: string; code: NoodleErrorCode; message: string }
  | { stage: 'done'; peer: string; durationMs: number }

export interface RunOptions extends Omit<TaskDeclarationInput, 'kernel' | 'input'> {
  /** Capability token (`nnt1.…`) issued to this node for `/task/run`; the service's default tokens when absent. */
  token?: string
  /** How long the kernel may run on the executor (ms). */
  timeoutMs?: number
  /** The task's level; the kernel's own when absent (an executor raises it to the kernel's level). */
  level?: SecurityLevel
  /** A custom kernel's WebAssembly module (the kernel name is `custom:<its sha256>`); registerKernel() saves
   *  passing it every time. */
  module?: Uint8Array<ArrayBuffer>
  /** A scoring function (or registered name) instead of the task's `placement`. */
  strategy?: ScoringStrategy | string
  signal?: AbortSignal
  onProgress?: (progress: TaskProgress) => void
  /** Run it on this many distinct peers (at most LIMITS.taskReplicasMax) and accept the output `quorum` of them
   *  agree on (by hash); QUORUM_FAILED when none does. For untrusted volunteers (docs/RECOVERY.md). */
  replicas?: number
  /** Replicas that must return the same output; a majority of `replicas` by default. */
  quorum?: number
}

/** A finished task: its output, the peer that ran it, the backend it ran on and for how long (ms). */
export interface TaskOutcome {
  output: unknown
  peer: string
  backend: TaskResult['backend']
  durationMs: number
  /** With replicas: the peers whose outputs agreed. */
  agreedBy?: string[]
}

/** One result of `map()`, in completion order. */
export type MapResult = { index: number; ok: true; output: unknown; peer: string } | { index: number; ok: false; error: NoodleError }

export interface TaskServiceComponents {
  rpc: RpcService
  presence: PresenceService
  logger: Logger
  /** This node's current profile (for the local candidate). */
  profile: () => Omit<NodeProfile, 'seq' | 'publishedAt'>
  /** Makes what runs tasks here, at start (after the hardware probe); without one this node only submits. */
  executor?: () => TaskExecutor | undefined | Promise<TaskExecutor | undefined>
  /** Tokens this node holds for `/task/run` on other peers (used when a run names none). */
  tokens?: () => readonly string[]
  /** Counts the tasks this node executes (noodlenet_tasks_total, noodlenet_task_duration_seconds). */
  metrics?: Pick<NodeMetrics, 'taskFinished'>
  /** Counts what recovery did: tasks placed again, duplicate results dropped. */
  recoveryMetrics?: Pick<
    NodeMetrics,
    'tasksReplaced' | 'taskDuplicates' | 'taskRetries' | 'peerBreakers' | 'tasksShed' | 'quorumDisagreements'
  >
  /** The failure detector's verdict on a peer (health/): suspect peers cost more, dead ones are never chosen. */
  health?: (peerId: string) => PeerHealth
  /** The failure detector itself: its `peer:dead` revokes the leases held on that peer, and task-stream heartbeats
   *  count as evidence that a peer lives. */
  detector?: HealthEvents
  /** Restarts the executor, with backoff, when it breaks (throws something other than a task's NoodleError). */
  supervisor?: Supervisor
  /** Leases, breakers and the retry budget (config scheduler.*; LIMITS' defaults for what is left out). */
  recovery?: Partial<RecoverySettings>
}

/** The recovery knobs of config `scheduler` (docs/CONFIG.md). */
export interface RecoverySettings {
  /** A remote task's lease (ms); 0 turns leases and heartbeats off. */
  leaseMs: number
  /** Failures in a row that open a peer's circuit breaker, and the first cool-down before a probe (ms). */
  breakerFailures: number
  breakerCooldownMs: number
  /** Retries allowed per 100 tasks sent in the budget's window, plus the floor. */
  retryBudgetPercent: number
  retryBudgetFloor: number
  /** How long a task due a retry waits for a spent budget before it fails (ms); 0: it fails at once. */
  retryBudgetWaitMs: number
  /** Tasks waiting here (with this node's executor full) beyond which the lowest priorities are shed. */
  shedQueueLength: number
  /** A peer whose profile says it runs throttled (a hidden tab) gets leases this many times longer, as the failure
   *  detector widens its window (config health.throttledFactor). */
  throttledFactor: number
}

/** What TaskService needs of the failure detector. */
export interface HealthEvents {
  addEventListener(type: 'peer:dead', listener: (event: FailureDetectorEvents['peer:dead']) => void): void
  removeEventListener(type: 'peer:dead', listener: (event: FailureDetectorEvents['peer:dead']) => void): void
  heartbeat(peerId: string): void
}

interface Pending {
  kernel: string
  options: RunOptions
  token: string | undefined
  resolve: (value: TaskOutcome) => void
  reject: (err: NoodleError) => void
  /** Cancelled when the task is cancelled, settled or answered by another attempt (cancel()): it cuts the task's lone
   *  requests to other peers, and says whether the task is cancelled and why. */
  cut: RequestCut
  /** The same as a signal, for runs here and in batches: made when one first needs it (signalOf), as Node's
   *  AbortController costs ~5 µs, more than the rest of a task's bookkeeping on this side. */
  controller?: AbortController
  /** Attempts running now: more than one after a lease lapsed and the task went elsewhere too. */
  live: number
  /** Times it was placed again after an attempt failed or lapsed (not counting "busy, retry after"). */
  retries: number
  /** Resolved or rejected: whatever answers later is a duplicate, dropped. */
  settled: boolean
  /** Since when it has waited for the node's retry budget (queue time), while it is due a retry the budget could not
   *  give yet: the retry is taken when it is next placed. */
  budgetWaitSince?: number
  /** A replica of a task run on several peers: its siblings and the peers they took. */
  group?: ReplicaGroup
}

/** One attempt of a task on one peer, from its placement to its answer. */
interface Attempt {
  entry: QueuedTask<Pending>
  peer: Candidate
  task: TaskRun
  lease: TaskLease<QueuedTask<Pending>> | undefined
  /** The custom kernel's module, when the task runs one registered here. */
  registered: { holders: Set<string> } | undefined
}

/** How long a peer that dropped a task is skipped for that task (ms). */
const LOST_PEER_PAUSE_MS = 5_000

export class TaskService {
  private readonly components: TaskServiceComponents
  executor: TaskExecutor | undefined
  private readonly log: Logger
  readonly model = new CostModel()
  /** Placement strategies by name: the built-ins, and an app's own (`strategies.register(name, fn)`), which a run
   *  then names with `strategy`. */
  readonly strategies = new StrategyRegistry()
  /** A run's own scoring function (options.strategy), by its task. */
  private readonly taskStrategies = new WeakMap<object, ScoringStrategy>()
  /** The strategy of the task being placed: looked up once per task, not once per candidate. */
  private placing: { task: object; strategy: ScoringStrategy } | undefined
  private readonly scorePlacement: ScoringStrategy = (task, candidate, estimate) => {
    if (this.placing?.task !== task) {
      this.placing = { task, strategy: this.taskStrategies.get(task) ?? this.strategies.get(task.placement) }
    }
    return breakTies(this.placing.strategy(task, candidate, estimate))
  }
  private readonly queue: TaskQueue<Pending>
  /** Remote peers by id, from presence gossip. */
  private readonly remote = new Map<string, Candidate>()
  /** Their ids parsed once: peerIdFromString (base58, then the key) and the string it gives back cost ~10 µs each
   *  time, a few percent of a small task's round trip. */
  private readonly peerIds = new Map<string, PeerId>()
  /** Tasks this node has handed to each peer and not yet heard back about. */
  private readonly inFlight = new Map<string, number>()
  /** Custom WebAssembly kernels registered here, by name, and the peers known to have each one cached. */
  private readonly modules = new Map<string, { bytes: Uint8Array<ArrayBuffer>; holders: Set<string> }>()
  /** The capability token each queued task carries, for the placement's authorisation check. */
  private readonly tokens = new WeakMap<object, string | undefined>()
  /** What every placement passes to dispatchNext: made once, as a closure made per placement costs more than the
   *  placement (tsx, which runs the CLI, names every such function with a defineProperty). */
  private readonly dispatching: DispatchOptions = {
    model: this.model,
    inFlight: this.inFlight,
    strategy: this.scorePlacement,
    // A remote peer needs a capability token; whether it honours the one we hold is its gate's call. A task
    // pinned to a peer goes there regardless, so that the peer's own refusal (CAPABILITY_MISSING) is the answer.
    authorize: (candidate, task) => candidate.local || task.peer !== undefined || this.tokens.get(task) !== undefined,
  }
  /** A circuit breaker per peer: an open one keeps tasks off that peer until a probe succeeds. */
  readonly breakers: BreakerBoard
  private readonly retryBudget: RetryBudget
  private readonly retryBudgetWaitMs: number
  /** When the last "retry budget spent" warning was logged (one per budget window at most). */
  private budgetWarnedAt = Number.NEGATIVE_INFINITY
  private readonly shedQueueLength: number
  private readonly throttledFactor: number
  /** Replica outputs each peer returned that the others outvoted (or that matched no majority). */
  readonly disagreements = new Map<string, number>()
  /** Leases on the tasks running on other peers, swept every quarter lease. */
  private readonly leases: LeaseTable<QueuedTask<Pending>> | undefined
  private sweeper: ReturnType<typeof setInterval> | undefined
  private readonly onPeerDead = (event: FailureDetectorEvents['peer:dead']): void => {
    const revoked = this.leases?.revoke(event.detail.peerId) ?? []
    for (const lease of revoked) this.replace(lease, 'dead')
    if (revoked.length > 0) this.pump()
  }
  /** The executor under the supervisor, when there is one, and its kernels while it restarts. */
  private executorSlot: Supervised<TaskExecutor> | undefined
  private restartingKernels: string[] = []
  private wake: ReturnType<typeof setTimeout> | undefined
  private wakeAt = Number.POSITIVE_INFINITY
  private pumpQueued = false
  private pumpedThisTurn = false
  /** Peers that get one task per request: they do not serve TASK_BATCH_PROTOCOL, or rate-limited a batch. */
  private readonly unbatched = new Set<string>()
  private started = false
  private readonly onUpdate = (event: CustomEvent<NodeProfile>): void => {
    this.remote.set(event.detail.peerId, candidateFromProfile(event.detail))
    this.pump()
  }
  private readonly onExpire = (event: CustomEvent<{ peerId: string }>): void => {
    this.remote.delete(event.detail.peerId)
    this.peerIds.delete(event.detail.peerId)
  }

  constructor(components: TaskServiceComponents) {
    this.components = components
    this.log = components.logger
    const supervisor = components.supervisor
    if (supervisor !== undefined) {
      // Gossip and health events are the outside world's input: a profile or verdict that trips a bug here is
      // logged and counted, never an uncaught exception in the emitter (which ends a Node process).
      this.onUpdate = supervisor.guard('tasks.presence', this.onUpdate)
      this.onExpire = supervisor.guard('tasks.presence', this.onExpire)
      this.onPeerDead = supervisor.guard('tasks.health', this.onPeerDead)
    }
    this.queue = new TaskQueue<Pending>({
      onExpired: (entry, error) => this.settle(entry, error),
    })
    const recovery = components.recovery ?? {}
    const now = (): number => this.queue.now()
    const leaseMs = recovery.leaseMs ?? LIMITS.taskLeaseMs
    if (leaseMs > 0) this.leases = new LeaseTable({ leaseMs, now })
    this.breakers = new BreakerBoard({
      failures: recovery.breakerFailures ?? LIMITS.breakerFailures,
      failureRatio: LIMITS.breakerFailureRatio,
      window: LIMITS.breakerWindow,
      cooldownMs: recovery.breakerCooldownMs ?? LIMITS.breakerCooldownMs,
      cooldownMaxMs: LIMITS.breakerCooldownMaxMs,
      now,
    })
    this.breakers.onChange = (peer, state, previous) => this.breakerChanged(peer, state, previous)
    this.shedQueueLength = recovery.shedQueueLength ?? LIMITS.shedQueueLength
    this.throttledFactor = recovery.throttledFactor ?? LIMITS.healthThrottledFactor
    this.retryBudget = new RetryBudget({
      percent: recovery.retryBudgetPercent ?? LIMITS.retryBudgetPercent,
      floor: recovery.retryBudgetFloor ?? LIMITS.retryBudgetFloor,
      windowMs: LIMITS.retryBudgetWindowMs,
      now,
    })
    this.retryBudgetWaitMs = recovery.retryBudgetWaitMs ?? LIMITS.retryBudgetWaitMs
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    for (const profile of this.components.presence.profiles()) this.remote.set(profile.peerId, candidateFromProfile(profile))
    this.components.presence.addEventListener('presence:update', this.onUpdate)
    this.components.presence.addEventListener('presence:expire', this.onExpire)
    this.components.detector?.addEventListener('peer:dead', this.onPeerDead)
    if (this.leases !== undefined) {
      const sweepMs = Math.max(10, this.leases.leaseMs / 4)
      this.sweeper = setInterval(() => this.sweepLeases(sweepMs), sweepMs)
      ;(this.sweeper as { unref?: () => void }).unref?.()
    }
    const make = async (): Promise<TaskExecutor | undefined> => this.components.executor?.()
    const supervisor = this.components.supervisor
    if (supervisor === undefined) this.executor = await make()
    else {
      this.executorSlot = await supervisor.supervise('executor', make, (current) => {
        this.restartingKernels = current === undefined ? (this.executor?.kernels() ?? []) : []
        this.executor = current
        if (current !== undefined) this.pump()
      })
    }
    const executor = this.executor
    if (executor !== undefined) {
      await this.components.rpc.handle(
        TASK_PROTOCOL,
        {
          command: '/task/run',
          capability: 'required',
          // A task is at least as sensitive as its kernel: a token for PUBLIC tasks cannot run an INTERNAL kernel.
          describe: (task) => ({ kernel: task.kernel, level: higherLevel(task.level, executor.levelOf(task.kernel)) }),
        },
        async (task, context) => this.execute(this.executor ?? this.restarting(), task, new ServedRun(context)),
      )
      // The same command and check for a batch: one kernel and level under one token, so one decision covers all of
      // its tasks (rate rules count each).
      await this.components.rpc.handle(
        TASK_BATCH_PROTOCOL,
        {
          command: '/task/run',
          capability: 'required',
          describe: (batch) => ({
            kernel: batch.kernel,
            level: higherLevel(batch.level, executor.levelOf(batch.kernel)),
            count: batch.tasks.length,
          }),
        },
        async (batch, context) => this.executeBatch(this.executor ?? this.restarting(), batch, context),
      )
    }
  }

  /** Runs every task of a batch as if each had come alone (its turn in the queue, TASK_BUSY, counters), answering
   *  each by its index: those done within a timer tick of each other in one part, the last ones in the answer. */
  private executeBatch(executor: TaskExecutor, batch: TaskBatch, context: RpcContext): Promise<TaskBatchResults> {
    const { kernel, level, timeoutMs } = batch
    const sendPart = context.sendPart
    // Every task of the batch runs under the request's one signal, and each listens on it while it waits in the
    // executor's queue: up to a batch's worth of listeners at once by design, which Node would take for a leak
    // (MaxListenersExceededWarning beyond 10, printed by peers under load).
    setMaxListeners(batch.tasks.length + DEFAULT_MAX_LISTENERS, context.signal)
    return new Promise((resolve) => {
      let ready: TaskBatchResults['results'] = []
      let left = batch.tasks.length
      let timer: ReturnType<typeof setTimeout> | undefined
      const sendReady = (): void => {
        timer = undefined
        const results = ready
        ready = []
        // A failed write means the caller is gone: the tasks' signal fires and the answer's write fails too.
        if (results.length > 0) sendPart?.({ results }).catch(() => {})
      }
      const done = (result: TaskBatchResults['results'][number]): void => {
        ready.push(result)
        if (--left === 0) {
          clearTimeout(timer)
          resolve({ results: ready })
        } else if (sendPart !== undefined && timer === undefined) timer = setTimeout(sendReady, 0)
      }
      for (let i = 0; i < batch.tasks.length; i++) {
        const { input, priority, gpu } = batch.tasks[i]
        const task: TaskRun = {
          kernel,
          input,
          priority,
          ...(level === undefined ? {} : { level }),
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
          ...(gpu === undefined ? {} : { gpu }),
        }
        this.execute(executor, task, { signal: context.signal, owned: true }).then(
          (result) => done({ i, ok: true, ...result }),
          (err: unknown) => done({ i, ok: false, error: toWireError(err) }),
        )
      }
    })
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    clearTimeout(this.wake)
    clearInterval(this.sweeper)
    this.components.detector?.removeEventListener('peer:dead', this.onPeerDead)
    this.components.presence.removeEventListener('presence:update', this.onUpdate)
    this.components.presence.removeEventListener('presence:expire', this.onExpire)
    for (let entry = this.queue.take(); entry !== undefined; entry = this.queue.take()) {
      this.settle(entry, new NoodleError('NOT_STARTED', 'the node stopped before the task ran', 'submit it again once the node runs'))
    }
    if (this.executorSlot !== undefined) await this.executorSlot.stop()
    else await this.executor?.stop?.()
    this.executor = undefined
  }

  /** Registers a custom kernel (a WebAssembly module following docs/KERNELS.md's ABI) and returns its name,
   *  `custom:<sha256>`. Tasks for that name then carry the module to each peer the first time it gets one; the
   *  peer checks, compiles and caches it by hash. */
  async registerKernel(module: Uint8Array): Promise<string> {
    const bytes = new Uint8Array(module)
    const name = await wasmKernelId(bytes)
    // Checked here as every executor will check it (valid, no imports, bounded memory): a bad module fails now.
    if (!this.modules.has(name)) await compileWasmKernel(name, bytes)
    this.modules.set(name, this.modules.get(name) ?? { bytes, holders: new Set() })
    return name
  }

  /** Runs `kernel` on `input` wherever the scheduler places it and resolves with its output. */
  async run(kernel: string, input: unknown, options: RunOptions = {}): Promise<unknown> {
    return (await this.submit(kernel, input, options)).output
  }

  /** Like run(), and says which peer ran it and on what. */
  submit(kernel: string, input: unknown, options: RunOptions = {}): Promise<TaskOutcome> {
    if (options.replicas !== undefined || options.quorum !== undefined) return this.submitReplicated(kernel, input, options)
    return this.enqueue(kernel, input, options, undefined)
  }

  private enqueue(kernel: string, input: unknown, options: RunOptions, group: ReplicaGroup | undefined): Promise<TaskOutcome> {
    if (!this.started) return Promise.reject(new NoodleError('NOT_STARTED', 'the node is not running', 'start it first'))
    const { token, strategy, signal, onProgress } = options
    // Bad input rejects, like every other failure: a map of many inputs reports the bad one and goes on.
    let task: TaskDeclaration
    try {
      signal?.throwIfAborted()
      task = parseTask(declarationOf(kernel, input, options))
    } catch (err) {
      return Promise.reject(isNoodleError(err) ? err : new NoodleError('TASK_ABORTED', 'the task was cancelled before it was queued', ''))
    }
    if (this.queue.size >= this.shedQueueLength && this.executorFull()) {
      const shed = this.shed(task.priority)
      if (shed !== undefined) return Promise.reject(shed)
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        kernel,
        options,
        token: token ?? this.components.tokens?.()[0],
        resolve,
        reject,
        cut: new RequestCut(),
        live: 0,
        retries: 0,
        settled: false,
        group,
      }
      this.tokens.set(task, pending.token)
      if (strategy !== undefined) {
        this.taskStrategies.set(task, typeof strategy === 'function' ? strategy : this.strategies.get(strategy))
      }
      const entry = this.queue.push(task, pending)
      if (group !== undefined) {
        // Never on a peer a sibling replica took.
        for (const peer of group.peers) entry.exclude(peer, Number.POSITIVE_INFINITY)
        group.entries.add(entry)
      }
      if (signal !== undefined) {
        const onAbort = (): void => {
          cancel(pending, signal.reason)
          this.settle(entry, new NoodleError('TASK_ABORTED', 'the task was cancelled', ''))
        }
        signal.addEventListener('abort', onAbort, { once: true })
        const cleanup = (): void => signal.removeEventListener('abort', onAbort)
        pending.resolve = (value) => {
          cleanup()
          resolve(value)
        }
        pending.reject = (err) => {
          cleanup()
          reject(err)
        }
      }
      onProgress?.({ stage: 'queued' })
      this.pumpSoon()
    })
  }

  /** A task on `replicas` distinct peers, settled by the vote (replicas.ts): the output `quorum` of them agree on,
   *  the first agreeing peer's outcome; QUORUM_FAILED when every replica has answered and none did. Outvoted peers
   *  take a strike on their breaker and are counted. */
  private async submitReplicated(kernel: string, input: unknown, options: RunOptions): Promise<TaskOutcome> {
    const { replicas = 1, quorum, signal, ...rest } = options
    const plan = replicaPlan(replicas, quorum)
    if (rest.peer !== undefined) {
      throw new NoodleError('TASK_INVALID', 'a task with replicas cannot be pinned to one peer', 'Leave out peer, or replicas.')
    }
    const able = this.candidates().filter((candidate) => hostsKernel(candidate, kernel) && candidate.health !== 'dead').length
    if (able < plan.replicas) {
      throw new NoodleError(
        'TASK_UNPLACEABLE',
        `the ${kernel} task needs ${plan.replicas} distinct peers that run it; ${able} known`,
        'Ask for fewer replicas, or wait for more peers to join.',
      )
    }
    const vote = new QuorumVote(plan)
    const group: ReplicaGroup = { peers: new Set(), entries: new Set() }
    const controller = new AbortController()
    const onAbort = (): void => controller.abort(signal?.reason)
    signal?.throwIfAborted()
    signal?.addEventListener('abort', onAbort, { once: true })
    const outcomes = new Map<string, TaskOutcome>()
    const errors: NoodleError[] = []
    try {
      return await new Promise<TaskOutcome>((resolve, reject) => {
        let decided = false
        const finish = (): void => {
          if (decided || !vote.complete) return
          decided = true
          if (signal?.aborted === true) {
            reject(new NoodleError('TASK_ABORTED', 'the task was cancelled', ''))
            return
          }
          if (outcomes.size === 0 && errors.length > 0) {
            reject(errors[0])
            return
          }
          this.dissent(kernel, vote.dissenters())
          reject(
            new NoodleError(
              'QUORUM_FAILED',
              `no ${plan.quorum} of the ${plan.replicas} replicas of the ${kernel} task agreed (outputs by hash: ${vote.describe()})`,
              'Some peers may be faulty or lying, or the kernel is not deterministic: run it again, ask for more replicas, or check the peers GET /api/health/peers counts disagreements for',
            ),
          )
        }
        for (let i = 0; i < plan.replicas; i++) {
          this.enqueue(kernel, input, { ...rest, signal: controller.signal }, group).then(
            async (outcome) => {
              const hash = await outputHash(outcome.output)
              if (decided) return
              if (!outcomes.has(hash)) outcomes.set(hash, outcome)
              const winner = vote.cast({ peer: outcome.peer, hash })
              if (winner === undefined) return finish()
              decided = true
              this.dissent(kernel, vote.dissenters(winner))
              // The remaining replicas are not needed.
              controller.abort(new NoodleError('TASK_ABORTED', 'the quorum was reached'))
              const agreedBy = vote.ballots.filter((ballot) => ballot.hash === winner).map((ballot) => ballot.peer)
              resolve({ ...(outcomes.get(winner) as TaskOutcome), agreedBy })
            },
            (err: NoodleError) => {
              if (decided) return
              errors.push(err)
              vote.cast({ peer: 'failed', hash: undefined })
              finish()
            },
          )
        }
      })
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Peers outvoted in a replica vote: a strike on their breaker, counted and logged. */
  private dissent(kernel: string, peers: string[]): void {
    for (const peer of peers) {
      this.disagreements.set(peer, (this.disagreements.get(peer) ?? 0) + 1)
      this.components.recoveryMetrics?.quorumDisagreements.inc()
      this.breakers.failure(peer)
      this.log.warning({ peer, kernel }, 'a replica disagreed with the others')
    }
  }

  /** Runs `kernel` on every input and yields each result as it completes (failures included, as values). */
  async *map(
    kernel: string,
    inputs: Iterable<unknown>,
    options: RunOptions & { onMapProgress?: (done: number, total: number) => void } = {},
  ): AsyncGenerator<MapResult> {
    const { onMapProgress, ...runOptions } = options
    const settled: MapResult[] = []
    let notify: (() => void) | undefined
    let total = 0
    for (const input of inputs) {
      const index = total++
      this.submit(kernel, input, runOptions)
        .then(
          ({ output, peer }) => settled.push({ index, ok: true, output, peer }),
          (err: NoodleError) => settled.push({ index, ok: false, error: err }),
        )
        .finally(() => notify?.())
    }
    let done = 0
    while (done < total) {
      if (settled.length === 0) await new Promise<void>((resolve) => (notify = resolve))
      notify = undefined
      for (const result of settled.splice(0)) {
        done++
        onMapProgress?.(done, total)
        yield result
      }
    }
  }

  /** Overload (the queue past shedQueueLength, this node's executor full): gives up the lowest-priority task, the
   *  new one (returned) or a waiting one of lower priority (rejected here). */
  private shed(priority: number): NoodleError | undefined {
    const lowest = this.queue.lowest()
    const victim = lowest === undefined || priority <= lowest.task.priority ? undefined : lowest
    const shedPriority = victim?.task.priority ?? priority
    this.components.recoveryMetrics?.tasksShed.inc({ priority: String(shedPriority) })
    const error = new NoodleError(
      'TASK_SHED',
      `the mesh is overloaded: ${this.queue.size} tasks wait here for a peer and a priority-${shedPriority} task was shed`,
      'Retry later, or give the task a higher priority',
    )
    if (victim === undefined) return error
    this.log.info({ kernel: victim.task.kernel, priority: shedPriority, queued: this.queue.size }, 'overloaded: a waiting task was shed')
    this.settle(victim, error)
    return undefined
  }

  private executorFull(): boolean {
    const load = this.executor?.load()
    return load === undefined || load.queueLength >= load.queueLimit
  }

  /** Tasks waiting for a peer, and handed out but not yet back. */
  stats(): { queued: number; inFlight: number } {
    let inFlight = 0
    for (const n of this.inFlight.values()) inFlight += n
    return { queued: this.queue.size, inFlight }
  }

  /** The executor's queue for this node's profile (nothing when it runs no tasks; full while it restarts, so that
   *  schedulers wait instead of sending work). */
  executorLoad(): Partial<NodeProfile['load']> {
    const load = this.executor?.load()
    if (load === undefined) return this.restartingKernels.length > 0 ? { queueLength: 1, queueLimit: 1 } : {}
    return { tasksRunning: load.running, queueLength: load.queueLength, queueLimit: load.queueLimit }
  }

  /** The kernels for this node's profile: the executor's, and still its last ones while it restarts (a task for
   *  them waits for the restart rather than failing as one nobody runs). */
  kernels(): string[] {
    return this.executor?.kernels() ?? this.restartingKernels
  }

  /** The peers a task may go to right now, this node first (when it executes). */
  private candidates(): Candidate[] {
    const list: Candidate[] = []
    if (this.executor !== undefined) {
      list.push(this.withInFlight(candidateFromProfile({ ...this.components.profile(), seq: 0, publishedAt: 0 }, { local: true })))
    }
    const health = this.components.health
    for (const candidate of this.remote.values()) {
      // An open breaker counts as dead for placement: nothing goes there (a pinned task waits) until its probe.
      const verdict = !this.breakers.allows(candidate.peerId) ? 'dead' : health?.(candidate.peerId)
      list.push(this.withInFlight(verdict === undefined ? candidate : withHealth(candidate, verdict)))
    }
    return list
  }

  /** What this node sent a peer counts against the queue it advertised, so a full peer gets no more. */
  private withInFlight(candidate: Candidate): Candidate {
    const ours = this.inFlight.get(candidate.peerId) ?? 0
    if (ours === 0 && candidate.queueLimit !== undefined) return candidate
    const queueLimit = candidate.queueLimit ?? candidate.cores * 2
    const queueLength = Math.max(candidate.queueLength + candidate.tasksRunning, ours) - candidate.cores
    return { ...candidate, queueLimit, queueLength: Math.max(0, queueLength) }
  }

  /** Places what can be placed now, and arranges to be called again when something may change. The tasks placed
   *  go out together at the end (flush): those for one peer may share a frame. */
  private pump(): void {
    // Nothing waits (size counts deferred tasks too): nothing to place. Every answer pumps, and a task awaited alone
    // would otherwise pay for a look at every peer on its way back to its caller.
    if (!this.started || this.queue.size === 0) return
    const placed: Attempt[] = []
    this.place(placed)
    if (placed.length > 0) this.flush(placed)
  }

  /** After a submit: the first task of a turn is placed at once (one awaited alone goes out before anything else
   *  runs); the ones that follow in the same turn (a map() queueing its inputs) are placed together a microtask later,
   *  once, so that those for one peer can share frames. */
  private pumpSoon(): void {
    if (!this.pumpedThisTurn) {
      this.pumpedThisTurn = true
      queueMicrotask(() => {
        this.pumpedThisTurn = false
      })
      this.pump()
      return
    }
    if (this.pumpQueued) return
    this.pumpQueued = true
    queueMicrotask(() => {
      this.pumpQueued = false
      this.pump()
    })
  }

  private place(placed: Attempt[]): void {
    for (;;) {
      const candidates = this.candidates()
      // Every peer's queue is full, with tasks of ours among them: the next completion pumps again (send()), so the
      // waiting tasks stay in line. Handed to the scheduler now, each would be deferred by schedulerRetryMs (1 s)
      // however soon room comes: a map larger than the peers' queues would run one queueful per second.
      if (this.inFlight.size > 0 && candidates.length > 0 && candidates.every(isFull)) {
        this.queue.expire()
        const wakeAt = this.queue.nextWakeAt()
        if (wakeAt !== undefined) this.wakeUpAt(wakeAt)
        return
      }
      const step = dispatchNext(this.queue, candidates, this.dispatching)
      if (step.kind === 'idle') {
        if (step.wakeAt !== undefined) this.wakeUpAt(step.wakeAt)
        return
      }
      if (step.kind === 'failed') {
        this.settle(step.entry, step.error)
        continue
      }
      if (step.entry.data.budgetWaitSince !== undefined && !this.takeOwedRetry(step.entry)) continue
      placed.push(this.begin(step.entry, step.decision.peer))
      // Nothing else waits to be placed: send now, before the loop's last look at the peers (a task awaited alone
      // should not wait for it).
      if (this.queue.size === 0) this.flush(placed.splice(0))
    }
  }

  private wakeUpAt(at: number): void {
    if (at >= this.wakeAt) return
    clearTimeout(this.wake)
    this.wakeAt = at
    this.wake = setTimeout(
      () => {
        this.wakeAt = Number.POSITIVE_INFINITY
        this.pump()
      },
      Math.max(0, at - this.queue.now()),
    )
  }

  /** Starts an attempt of `entry` on `peer` now (what it counts against the peer, its lease, progress); its request
   *  goes out at the end of this pump, alone or in a batch with the other tasks placed on the peer in it. */
  private begin(entry: QueuedTask<Pending>, peer: Candidate): Attempt {
    const pending = entry.data
    const { options } = pending
    const registered = this.modules.get(entry.task.kernel)
    // A registered module goes along until the peer has run the kernel once (it caches modules by hash).
    const module = options.module ?? (registered !== undefined && !registered.holders.has(peer.peerId) ? registered.bytes : undefined)
    const task: TaskRun = {
      kernel: entry.task.kernel,
      input: entry.task.input,
      priority: entry.task.priority,
      ...(entry.task.requires.gpu === true ? { gpu: true } : {}),
      ...(options.level === undefined ? {} : { level: options.level }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(module === undefined ? {} : { module }),
    }
    this.inFlight.set(peer.peerId, (this.inFlight.get(peer.peerId) ?? 0) + 1)
    options.onProgress?.({ stage: 'placed', peer: peer.peerId, attempt: entry.attempts })
    const group = pending.group
    if (group !== undefined) {
      // Before any await: the next placement in this pump already keeps the siblings off this peer.
      group.peers.add(peer.peerId)
      for (const sibling of group.entries) if (sibling !== entry) sibling.exclude(peer.peerId, Number.POSITIVE_INFINITY)
    }
    pending.live++
    if (entry.attempts === 1) this.retryBudget.sent()
    const lease = peer.local ? undefined : this.leases?.grant(peer.peerId, entry, this.leaseMsFor(peer.peerId))
    if (!peer.local) this.breakers.sending(peer.peerId)
    return { entry, peer, task, lease, registered }
  }

  /** One attempt on its own request (TASK_PROTOCOL, or this node's executor). */
  private async send(attempt: Attempt): Promise<void> {
    const { entry, peer, task, lease } = attempt
    try {
      const result = peer.local ? await this.runHere(task, entry.data) : await this.runThere(task, peer.peerId, entry.data, lease)
      this.succeeded(attempt, result)
    } catch (err) {
      this.attemptFailed(attempt, err)
    } finally {
      this.end(attempt)
      this.pump()
    }
  }

  private succeeded(attempt: Attempt, result: TaskResult): void {
    const { entry, peer, task, registered } = attempt
    const pending = entry.data
    this.model.observe(peer, task.kernel, result.durationMs, entry.inputBytes, { work: entry.work, gpu: result.backend === 'webgpu' })
    registered?.holders.add(peer.peerId)
    if (!peer.local) this.breakers.success(peer.peerId)
    if (pending.settled) {
      // Another attempt answered first (this one's lease had lapsed): the caller already has its result.
      this.components.recoveryMetrics?.taskDuplicates.inc()
      this.log.debug({ peer: peer.peerId, kernel: task.kernel }, 'duplicate result dropped')
    } else {
      pending.options.onProgress?.({ stage: 'done', peer: peer.peerId, durationMs: result.durationMs })
      this.queue.done(entry)
      pending.settled = true
      // Other attempts of this task are now wasted work: cancel them.
      if (pending.live > 1) cancel(pending, new NoodleError('TASK_ABORTED', 'another peer answered first'))
      pending.resolve({ output: result.output, peer: peer.peerId, backend: result.backend, durationMs: result.durationMs })
    }
  }

  private attemptFailed(attempt: Attempt, err: unknown): void {
    // A lapsed attempt was already replaced (and struck against its peer): its failure changes nothing.
    if (attempt.lease?.lapsed !== true) this.failed(attempt.entry, attempt.peer, err)
  }

  /** The attempt is over, answered or not: what it counted against its peer is freed. */
  private end(attempt: Attempt): void {
    const { entry, peer, lease } = attempt
    entry.data.live--
    if (lease !== undefined) this.leases?.release(lease)
    const left = (this.inFlight.get(peer.peerId) ?? 1) - 1
    if (left <= 0) this.inFlight.delete(peer.peerId)
    else this.inFlight.set(peer.peerId, left)
  }

  /** Whether an attempt may share a frame with others (TASK_BATCH_PROTOCOL): remote, no module to carry, and a peer
   *  that serves batches. The key groups those one gate decision covers: peer, kernel, level, deadline, token. */
  private batchKey(attempt: Attempt): string | undefined {
    const { peer, task, entry } = attempt
    if (peer.local || task.module !== undefined || this.unbatched.has(peer.peerId)) return undefined
    return `${peer.peerId} ${task.kernel} ${task.level ?? ''} ${task.timeoutMs ?? ''} ${entry.data.token ?? ''}`
  }

  /** Sends the attempts begun in this pump: alone, or several for one peer in batches of up to LIMITS.taskBatchMax. */
  private flush(placed: Attempt[]): void {
    if (placed.length === 1) {
      void this.send(placed[0])
      return
    }
    const batches = new Map<string, Attempt[]>()
    for (const attempt of placed) {
      const key = this.batchKey(attempt)
      if (key === undefined) {
        void this.send(attempt)
        continue
      }
      let batch = batches.get(key)
      if (batch === undefined || batch.length >= LIMITS.taskBatchMax) {
        if (batch !== undefined) this.sendBatch(batch)
        batch = []
        batches.set(key, batch)
      }
      batch.push(attempt)
    }
    for (const batch of batches.values()) this.sendBatch(batch)
  }

  /** Several attempts for one peer in one TASK_BATCH_PROTOCOL request, each settled by its own result as the parts
   *  arrive. Each keeps its lease (the batch's heartbeats renew them all); the request is cancelled once every task in
   *  it was. A peer that does not serve batches, or rate-limits them, gets these and later tasks one by one. */
  private sendBatch(attempts: Attempt[]): void {
    if (attempts.length === 1) {
      void this.send(attempts[0])
      return
    }
    void this.runBatch(attempts)
  }

  private async runBatch(attempts: Attempt[]): Promise<void> {
    const { peer, task: first, entry } = attempts[0]
    const open = new Set(attempts)
    const controller = new AbortController()
    const onAbort = (): void => {
      if (open.size > 0 && [...open].every((attempt) => attempt.entry.data.cut.cancelled))
        controller.abort(new NoodleError('TASK_ABORTED', 'every task of the batch was cancelled'))
    }
    for (const attempt of attempts) signalOf(attempt.entry.data).addEventListener('abort', onAbort, { once: true })
    const settle = (part: TaskBatchResults): void => {
      for (const result of part.results) {
        const attempt = attempts[result.i]
        // An index out of range or answered before: the peer broke the protocol; the task's end is settled below.
        if (attempt === undefined || !open.delete(attempt)) continue
        // A task cancelled (or answered elsewhere) while its batch ran ends as its own request would have: aborted.
        const cancelled = attempt.entry.data.cut
        if (result.ok && !cancelled.cancelled) this.succeeded(attempt, result)
        else this.attemptFailed(attempt, result.ok ? cancelled.reason : fromWireError(result.error))
        this.end(attempt)
      }
      this.pump()
    }
    const lease = attempts.find((attempt) => attempt.lease !== undefined)?.lease
    try {
      const final = await this.components.rpc.request(
        this.peerIdOf(peer.peerId),
        TASK_BATCH_PROTOCOL,
        {
          kernel: first.kernel,
          ...(first.level === undefined ? {} : { level: first.level }),
          ...(first.timeoutMs === undefined ? {} : { timeoutMs: first.timeoutMs }),
          tasks: attempts.map(({ task }) => ({ input: task.input, priority: task.priority, ...(task.gpu === true ? { gpu: true } : {}) })),
        },
        {
          timeoutMs: (first.timeoutMs ?? LIMITS.requestTimeoutMs) + LIMITS.requestTimeoutMs,
          signal: controller.signal,
          capability: entry.data.token,
          onPart: settle,
          ...(lease === undefined
            ? {}
            : {
                heartbeatMs: Math.max(LIMITS.rpcHeartbeatMinMs, Math.floor(lease.leaseMs / LIMITS.taskHeartbeatsPerLease)),
                onHeartbeat: () => {
                  for (const attempt of open) if (attempt.lease !== undefined) this.renew(attempt.lease)
                },
                // As for a single task (runThere): the leases count from the request on the stream.
                onSent: () => {
                  for (const attempt of open) if (attempt.lease !== undefined) this.leases?.renew(attempt.lease)
                },
              }),
        },
      )
      settle(final)
      if (open.size > 0) {
        throw new NoodleError(
          'FRAME_INVALID',
          `${peer.peerId} left ${open.size} tasks of a batch unanswered`,
          'The peer must speak this protocol version.',
        )
      }
    } catch (err) {
      const code = isNoodleError(err) ? err.code : undefined
      if (code === 'PROTOCOL_UNSUPPORTED' || code === 'RATE_LIMITED') {
        // An older peer, or a rate rule that the whole batch does not fit: these tasks and later ones go one per
        // request, each with its own answer (within the rate, some run).
        this.unbatched.add(peer.peerId)
        for (const attempt of open) void this.send(attempt)
        open.clear()
      }
      for (const attempt of open) {
        this.attemptFailed(attempt, err)
        this.end(attempt)
      }
      this.pump()
    } finally {
      for (const attempt of attempts) signalOf(attempt.entry.data).removeEventListener('abort', onAbort)
    }
  }

  private peerIdOf(peer: string): PeerId {
    let peerId = this.peerIds.get(peer)
    if (peerId === undefined) {
      peerId = peerIdFromString(peer)
      this.peerIds.set(peer, peerId)
    }
    return peerId
  }

  private runHere(task: TaskRun, pending: Pending): Promise<TaskResult> {
    return this.execute(this.executor as TaskExecutor, task, { signal: signalOf(pending) })
  }

  /** Runs a task on this node's executor, counted for metrics by kernel and outcome. An error that is not a task's
   *  NoodleError means the executor itself broke: the supervisor restarts it, and the task fails HANDLER_FAILED. */
  private async execute(executor: TaskExecutor, task: TaskRun, options: TaskExecutorRunOptions): Promise<TaskResult> {
    const metrics = this.components.metrics
    const started = metrics === undefined ? 0 : performance.now()
    let outcome: 'ok' | NoodleErrorCode = 'ok'
    try {
      return await executor.run(task, options)
    } catch (err) {
      if (isNoodleError(err)) {
        outcome = err.code
        throw err
      }
      outcome = 'HANDLER_FAILED'
      this.executorSlot?.fail(executor, err)
      throw new NoodleError('HANDLER_FAILED', `the executor failed: ${(err as Error)?.message ?? err}`, 'Retry; the node restarts it', {
        cause: err,
      })
    } finally {
      if (metrics !== undefined) {
        const kernel = kernelLabel(task.kernel, executor.levelOf(task.kernel) !== undefined)
        metrics.taskFinished(kernel, outcome, (performance.now() - started) / 1000)
      }
    }
  }

  /** The answer while the executor restarts: busy, come back when it should be up. */
  private restarting(): never {
    const at = this.executorSlot?.restartAt
    throw new NoodleError('TASK_BUSY', 'the executor is restarting', 'Retry shortly', {
      retryAfterMs: at === undefined ? LIMITS.schedulerRetryMs : Math.max(0, at - Date.now()),
    })
  }

  private runThere(task: TaskRun, peer: string, pending: Pending, lease: TaskLease<QueuedTask<Pending>> | undefined): Promise<TaskResult> {
    const timeoutMs = (task.timeoutMs ?? LIMITS.requestTimeoutMs) + LIMITS.requestTimeoutMs
    return this.components.rpc.request(this.peerIdOf(peer), TASK_PROTOCOL, task, {
      timeoutMs,
      cut: pending.cut,
      capability: pending.token,
      // One shape with or without a lease (no spread): absent and undefined mean the same to request().
      heartbeatMs:
        lease === undefined ? undefined : Math.max(LIMITS.rpcHeartbeatMinMs, Math.floor(lease.leaseMs / LIMITS.taskHeartbeatsPerLease)),
      // Bound, not arrow functions: see `dispatching`.
      onHeartbeat: lease === undefined ? undefined : this.renew.bind(this, lease),
      // The lease counts from the request on the stream, not from before a dial that may take seconds on a loaded
      // host (bench mesh-scale: leases of live executors lapsed before their first heartbeat could come).
      onSent: lease === undefined ? undefined : this.leaseSent.bind(this, lease),
    })
  }

  /** The lease for a task on `peer`: longer when its profile says it runs throttled (a hidden tab's timers fire
   *  once a second at best), as the failure detector's window is. */
  private leaseMsFor(peer: string): number | undefined {
    if (this.components.presence.get(peer)?.throttled !== true) return undefined
    return (this.leases?.leaseMs ?? 0) * this.throttledFactor
  }

  private leaseSent(lease: TaskLease<QueuedTask<Pending>>): void {
    this.leases?.renew(lease)
  }

  private renew(lease: TaskLease<QueuedTask<Pending>>): void {
    this.leases?.renew(lease)
    this.components.detector?.heartbeat(lease.peer)
  }

  private sweepLeases(sweepMs: number): void {
    const expired = this.leases?.expire(sweepMs) ?? []
    for (const lease of expired) this.replace(lease, 'lease')
    if (expired.length > 0) this.pump()
  }

  /** A lapsed lease: the task goes to another peer now, while the lapsed attempt may still answer (first wins). */
  private replace(lease: TaskLease<QueuedTask<Pending>>, reason: 'lease' | 'dead'): void {
    const entry = lease.owner
    const pending = entry.data
    if (pending.settled || pending.cut.cancelled) return
    this.breakers.failure(lease.peer)
    // A pinned task has nowhere else to go, a running shader cannot be stopped (see failed()), and a task out of
    // retries keeps the attempt it has: the lapsed attempt stays the task's, its answer or error counts.
    if (entry.task.peer !== undefined || entry.task.kernel === 'wgsl' || this.retryVerdict(entry).kind !== 'retry') {
      lease.lapsed = false
      return
    }
    this.components.recoveryMetrics?.tasksReplaced.inc({ reason })
    const silentMs = this.queue.now() - lease.renewedAt
    this.log.info(
      { peer: lease.peer, kernel: entry.task.kernel, reason, silentMs },
      reason === 'dead' ? 'executor declared dead; placing its task again' : 'task lease expired; placing the task again',
    )
    pending.options.onProgress?.({
      stage: 'retry',
      peer: lease.peer,
      code: 'LEASE_EXPIRED',
      message: reason === 'dead' ? `${lease.peer} was declared dead` : `no heartbeat from ${lease.peer} for ${silentMs} ms`,
    })
    entry.exclude(lease.peer, this.queue.now() + LOST_PEER_PAUSE_MS)
    // At once: the executor is gone, and nobody else is waiting on it.
    this.queue.requeue(entry)
  }

  /**
   * Whether a task whose attempt failed or lapsed may be placed again now. `retry`: yes, and the retry is counted
   * (from the second on, it is taken from the node's budget; a task's first move is a failover, free: one executor
   * dying takes its whole queue with it, and those tasks did nothing wrong). `wait`: the budget is spent for now and
   * the task has waited less than retryBudgetWaitMs for it. `refused`: never (its own limit, or it waited long enough).
   */
  private retryVerdict(entry: QueuedTask<Pending>): { kind: 'retry' } | { kind: 'wait' | 'refused'; reason: string } {
    const pending = entry.data
    if (pending.retries >= LIMITS.retryMaxPerTask) return { kind: 'refused', reason: `it was placed ${pending.retries + 1} times` }
    const { queued, inFlight } = this.stats()
    if (pending.retries > 0 && !this.retryBudget.tryRetry(queued + inFlight)) {
      const { sent, retried } = this.retryBudget.totals()
      const waitedMs = this.queue.now() - (pending.budgetWaitSince ?? this.queue.now())
      const reason =
        `this node's retry budget is spent (${retried} retries for ${sent} tasks sent in the last ` +
        `${LIMITS.retryBudgetWindowMs / 1000} s and ${queued + inFlight} outstanding)`
      if (waitedMs >= this.retryBudgetWaitMs) {
        return { kind: 'refused', reason: waitedMs > 0 ? `${reason}, and it waited ${Math.round(waitedMs / 1000)} s for it` : reason }
      }
      return { kind: 'wait', reason }
    }
    pending.retries++
    pending.budgetWaitSince = undefined
    this.components.recoveryMetrics?.taskRetries.inc()
    return { kind: 'retry' }
  }

  /** A task due a retry that the budget could not give when its attempt failed, now placed again: takes the retry,
   *  or puts the task back to wait (false), or fails it once it has waited retryBudgetWaitMs (false). */
  private takeOwedRetry(entry: QueuedTask<Pending>): boolean {
    const verdict = this.retryVerdict(entry)
    if (verdict.kind === 'retry') return true
    if (verdict.kind === 'wait') this.waitForBudget(entry, verdict.reason)
    else this.settle(entry, this.budgetError(entry, verdict.reason))
    return false
  }

  /** Puts a task due a retry back in line until the budget may have room: about a tenth of its window (when the
   *  oldest retries age out), jittered so that the waiting tasks do not all come back together. */
  private waitForBudget(entry: QueuedTask<Pending>, reason: string): void {
    const now = this.queue.now()
    entry.data.budgetWaitSince ??= now
    if (now - this.budgetWarnedAt >= LIMITS.retryBudgetWindowMs) {
      this.budgetWarnedAt = now
      this.log.warning({ kernel: entry.task.kernel }, `${reason}: tasks due a retry wait for it (peers are failing: GET /api/health/peers)`)
    }
    const slice = LIMITS.retryBudgetWindowMs / 10
    this.queue.defer(entry, now + slice + Math.floor(Math.random() * slice))
  }

  private budgetError(entry: QueuedTask<Pending>, reason: string, lost?: { peer: string; error: NoodleError }): NoodleError {
    const what = lost === undefined ? '' : ` after ${lost.peer} lost it (${lost.error.message})`
    return new NoodleError(
      'RETRY_BUDGET_EXHAUSTED',
      `the ${entry.task.kernel} task was not placed again${what}: ${reason}`,
      'Peers are failing: check GET /api/health/peers, then submit it again later',
      lost === undefined ? undefined : { cause: lost.error },
    )
  }

  private breakerChanged(peer: string, state: BreakerState, previous: BreakerState): void {
    const log = { peer, state, previous }
    if (state === 'open') this.log.warning(log, 'circuit breaker open: no tasks to this peer until a probe succeeds')
    else if (state === 'closed') this.log.info(log, 'circuit breaker closed: the peer takes tasks again')
    else this.log.info(log, 'circuit breaker half-open: one probe task goes to the peer')
    const gauge = this.components.recoveryMetrics?.peerBreakers
    if (gauge !== undefined) for (const [name, count] of Object.entries(this.breakers.counts())) gauge.set({ state: name }, count)
  }

  /** What a failed attempt means for the task: another peer (busy, lost), or the caller's error. */
  private failed(entry: QueuedTask<Pending>, candidate: Candidate, err: unknown): void {
    const pending = entry.data
    const peer = candidate.peerId
    const error = isNoodleError(err) ? err : new NoodleError('HANDLER_FAILED', `the task failed: ${(err as Error)?.message ?? err}`)
    // The peer answered (busy, or the task's own error): it is alive as far as its breaker goes.
    if (!candidate.local) {
      if (pending.cut.cancelled) this.breakers.abandoned(peer)
      else if (PEER_FAULT.has(error.code)) this.breakers.failure(peer)
      else this.breakers.success(peer)
    }
    if (pending.settled || pending.cut.cancelled) return
    pending.options.onProgress?.({ stage: 'retry', peer, code: error.code, message: error.message })
    // The peer evicted a custom kernel we thought it held: send the module again.
    if (error.code === 'KERNEL_UNKNOWN' && this.modules.get(entry.task.kernel)?.holders.delete(peer) === true) {
      this.queue.requeue(entry)
      return
    }
    if (error.code === 'TASK_BUSY') {
      this.queue.retryAfter(entry, peer, error.retryAfterMs ?? LIMITS.schedulerRetryMs)
      return
    }
    // A custom shader that outran the request cannot be stopped on its GPU: sending it elsewhere would tie up
    // another GPU the same way, so it fails here (docs/KERNELS.md).
    const unstoppable = error.code === 'REQUEST_TIMEOUT' && entry.task.kernel === 'wgsl'
    if (LOST_PEER.has(error.code) && !unstoppable) {
      // A peer that could not be reached at all never got the task: trying another peer adds no load anywhere, so it
      // is not a retry for the budget (peers killed in a big map stay candidates until their profiles expire, and each
      // placement on one cost a retry: 355 of 1,000 tasks failed with 5 of 30 peers killed, bench mesh-scale).
      // Bounded all the same: past 4 × retryMaxPerTask placements even those count.
      const unreached = error.code === 'PEER_UNREACHABLE' && entry.attempts <= 4 * LIMITS.retryMaxPerTask
      const verdict: ReturnType<TaskService['retryVerdict']> = unreached ? { kind: 'retry' } : this.retryVerdict(entry)
      if (verdict.kind === 'refused') {
        this.settle(entry, this.budgetError(entry, verdict.reason, { peer, error }))
        return
      }
      entry.exclude(peer, this.queue.now() + LOST_PEER_PAUSE_MS)
      if (verdict.kind === 'wait') {
        this.log.debug({ peer, kernel: entry.task.kernel, code: error.code }, 'peer lost a task; it waits for the retry budget')
        this.waitForBudget(entry, verdict.reason)
        return
      }
      this.log.info({ peer, kernel: entry.task.kernel, code: error.code, retry: pending.retries }, 'peer lost a task; placing it again')
      // After a jittered backoff: tasks lost together do not all land on the next peer at the same moment.
      const now = this.queue.now()
      this.queue.defer(entry, now + backoffMs(pending.retries, LIMITS.retryBackoffBaseMs, LIMITS.retryBackoffMaxMs))
      return
    }
    this.settle(entry, error)
  }

  private settle(entry: QueuedTask<Pending>, error: NoodleError): void {
    if (entry.data.settled) return
    entry.data.settled = true
    this.queue.done(entry)
    cancel(entry.data, error)
    entry.data.reject(error)
  }
}

/** How a task served for a peer runs: its input is the decoded frame's alone (`owned`), and its signal is the
 *  request's, made only if the executor reads it: an inline kernel run at once does not. */
class ServedRun implements TaskExecutorRunOptions {
  readonly owned = true

  constructor(private readonly context: RpcContext) {}

  get signal(): AbortSignal {
    return this.context.signal
  }

  aborted(): boolean {
    return this.context.aborted
  }
}

/** RunOptions that are not part of the task declaration. */
const RUN_ONLY = new Set(['token', 'timeoutMs', 'level', 'module', 'strategy', 'signal', 'onProgress', 'replicas', 'quorum'])

/** The declaration in `options` (every other own key, for parseTask to check), with the kernel and input. A loop,
 *  not rest-and-spread: V8 copies those through a slow generic path, ~4 µs a task on the submitter. */
function declarationOf(kernel: string, input: unknown, options: RunOptions): Record<string, unknown> {
  const declaration: Record<string, unknown> = {}
  for (const key of Object.keys(options)) if (!RUN_ONLY.has(key)) declaration[key] = options[key as keyof RunOptions]
  declaration.kernel = kernel
  declaration.input = input
  return declaration
}

/** Stops a task's attempts: its runs here and in batches (the signal), its lone requests (the cut). */
function cancel(pending: Pending, reason: unknown): void {
  pending.cut.cancel(reason)
  pending.controller?.abort(reason)
}

/** The task's AbortSignal (Pending.controller), made now if it was not yet: aborted at once, with the first reason,
 *  if the task was cancelled before. */
function signalOf(pending: Pending): AbortSignal {
  if (pending.controller === undefined) {
    pending.controller = new AbortController()
    if (pending.cut.cancelled) pending.controller.abort(pending.cut.reason)
  }
  return pending.controller.signal
}

/** Node's default limit of listeners per event before it warns of a leak. */
const DEFAULT_MAX_LISTENERS = 10

/** A peer with no room in the queue it advertised (counting what this node has sent it): placeTask's QUEUE_FULL. */
function isFull(candidate: Candidate): boolean {
  return candidate.queueLimit !== undefined && candidate.queueLength >= candidate.queueLimit
}

/** Errors that say the peer, not the task, failed: the task goes elsewhere. */
const LOST_PEER = new Set<NoodleErrorCode>(['PEER_UNREACHABLE', 'STREAM_CLOSED', 'REQUEST_TIMEOUT', 'PROTOCOL_UNSUPPORTED', 'NOT_STARTED'])
/** Errors that are strikes against the peer's circuit breaker: it lost the task, or its executor broke down. */
const PEER_FAULT = new Set<NoodleErrorCode>([...LOST_PEER, 'KERNEL_CRASHED', 'HANDLER_FAILED', 'GPU_DEVICE_LOST'])

function higherLevel(a: SecurityLevel | undefined, b: SecurityLevel | undefined): SecurityLevel | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return levelRank(a) >= levelRank(b) ? a : b
}
