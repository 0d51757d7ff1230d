// CpuExecutor: runs this node's CPU and custom WebAssembly kernels in a pool of workers, one task per worker at a
// time. Tasks wait in a bounded priority queue (beyond it: TASK_BUSY with a retry-after estimate, never a silent
// drop); each runs under a timeout; a kernel that hangs, crashes or exhausts its worker's memory costs that worker and
// that task only (the worker is replaced), never the node. A trivial kernel with a small input (CpuKernel.inline:
// `echo`) runs on the executor's own thread instead, taking its turn in the queue as a worker task would.
// Isomorphic: workers come from a platform's WorkerPool.

import { TypedEventEmitter } from 'main-event'
import { isNoodleError, NoodleError } from '../errors.js'
import { LIMITS } from '../limits.js'
import { BinaryHeap } from '../scheduler/binary-heap.js'
import { inputWithin } from '../scheduler/task.js'
import type { CpuKernel, KernelContext } from './kernel.js'
import { BUILTIN_CPU_KERNELS } from './kernels/index.js'
import { isCustomKernel, WasmKernelCache } from './wasm-kernel.js'
import { type KernelWorker, transferablesOf, type WasmKernelRef, type WorkerPool, type WorkerToHost } from './worker-pool.js'

export interface CpuExecutorOptions {
  /** Where workers come from (Platform.createWorkerPool). */
  pool: WorkerPool
  /** Workers, so tasks run at once (config scheduler.concurrency, 0 resolved to the core count by the caller). */
  concurrency: number
  /** Tasks waiting for a worker before new ones get TASK_BUSY; default LIMITS.executorQueueLimit. */
  queueLimit?: number
  /** A task's run time when it names none (ms); default LIMITS.executorTaskTimeoutMs. */
  taskTimeoutMs?: number
  /** After a cancel, how long a worker may take to stop before it is terminated (ms); default
   *  LIMITS.executorAbortGraceMs. */
  abortGraceMs?: number
  /** How long a new worker may take to load (ms) before it counts as crashed; default LIMITS.executorWorkerStartMs. */
  workerStartTimeoutMs?: number
  /** Compiled custom kernels; a fresh cache with the LIMITS defaults when absent. */
  wasmCache?: WasmKernelCache
  /** Kernels that may run on this thread for small inputs (those that declare `inline`; the workers must have them
   *  too, for larger inputs). Default: the built-in kernels that declare it. */
  inlineKernels?: Iterable<CpuKernel>
}

/** One task as an executor takes it: already authorised and parsed by the caller (the task protocol, or the app). */
export interface ExecutorTask {
  /** A kernel the workers have (built-in, or registered in the worker entry), or `custom:<sha256>`. */
  kernel: string
  input: unknown
  /** 0–9, 9 first; default 5. */
  priority?: number
  /** Longest run once a worker has it (ms), at most LIMITS.taskRunTimeoutMaxMs; the executor's default when absent. */
  timeoutMs?: number
  /** A custom kernel's module, needed only the first time this executor sees that kernel (it is cached by hash). */
  module?: Uint8Array
  /** Transfer the input's buffers to the worker instead of copying them: faster for large typed arrays, but they
   *  are unusable (detached) here afterwards. For inputs decoded from a frame that nothing else holds. */
  transferInput?: boolean
}

export interface ExecutorRunOptions {
  /** Cancels the task, waiting or running: it settles at once with TASK_ABORTED. Read only when the task has to wait
   *  where `aborted` is given, so it may be a getter that makes the signal on first read. */
  signal?: AbortSignal
  /** Whether the task is cancelled already, for a caller whose signal is made on first read (a served request's):
   *  an inline kernel run at once then never needs one (Node's AbortController is ~5 µs of this thread). */
  aborted?: () => boolean
  /** Progress in [0, 1], as the kernel reports it (at most every LIMITS.executorProgressIntervalMs). */
  onProgress?: (fraction: number) => void
}

export interface ExecutorResult {
  output: unknown
  /** Time in the worker (ms), queue wait excluded: what a cost model learns from. */
  durationMs: number
  /** Time the task waited for a worker (ms). */
  queuedMs: number
  backend: 'cpu' | 'wasm'
}

export interface ExecutorStats {
  /** Tasks waiting for a worker, and how many may (NodeProfile load.queueLength / load.queueLimit). */
  queueLength: number
  queueLimit: number
  /** Tasks in workers now (NodeProfile load.tasksRunning). */
  running: number
  workers: number
  concurrency: number
  completed: number
  /** Tasks that ended with an error of their own: kernel errors, bad input, timeouts, crashes. */
  failed: number
  /** Tasks cancelled by their caller or by stop(). */
  aborted: number
  /** Answers of TASK_BUSY. */
  rejected: number
}

export interface CpuExecutorEvents {
  'task:progress': CustomEvent<{ taskId: number; kernel: string; fraction: number }>
  'task:end': CustomEvent<{ taskId: number; kernel: string; durationMs: number; error?: NoodleError }>
}

type JobState = 'queued' | 'running' | 'settled'

interface Job {
  readonly id: number
  readonly kernel: string
  readonly input: unknown
  readonly priority: number
  readonly timeoutMs: number
  readonly wasm: WasmKernelRef | undefined
  readonly transferInput: boolean
  /** The kernel, when this task runs on the executor's thread (an inline kernel and a small enough input). */
  readonly inline: CpuKernel | undefined
  readonly enqueuedAt: number
  readonly resolve: (result: ExecutorResult) => void
  readonly reject: (error: NoodleError) => void
  readonly onProgress: ((fraction: number) => void) | undefined
  readonly cleanup: () => void
  state: JobState
  startedAt: number
  slot: Slot | undefined
}

interface Slot {
  worker: KernelWorker
  ready: boolean
  retired: boolean
  /** The task it is running, or winding down after a cancel. */
  job: Job | undefined
  timer: ReturnType<typeof setTimeout> | undefined
}

/** Before any task has finished, the guess of how long one takes (ms), for "retry after". */
const INITIAL_TASK_MS = 100
/** Weight of the newest finished task in the average task time. */
const DURATION_ALPHA = 0.2
/** An inline kernel is synchronous: nothing can cancel it while it runs, so its signal never fires. */
const NEVER_ABORTED = new AbortController().signal

export class CpuExecutor extends TypedEventEmitter<CpuExecutorEvents> {
  #concurrency: number
  readonly queueLimit: number
  readonly wasm: WasmKernelCache
  readonly #pool: WorkerPool
  readonly #taskTimeoutMs: number
  readonly #abortGraceMs: number
  readonly #workerStartTimeoutMs: number
  readonly #queue = new BinaryHeap<Job>((a, b) => a.priority > b.priority || (a.priority === b.priority && a.id < b.id))
  readonly #slots = new Set<Slot>()
  readonly #inline = new Map<string, CpuKernel>()
  #started = false
  #nextId = 1
  #averageMs = INITIAL_TASK_MS
  readonly #counts = { completed: 0, failed: 0, aborted: 0, rejected: 0 }

  constructor(options: CpuExecutorOptions) {
    super()
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`concurrency must be a whole number ≥ 1, not ${options.concurrency}`)
    }
    this.#pool = options.pool
    this.#concurrency = options.concurrency
    this.queueLimit = options.queueLimit ?? LIMITS.executorQueueLimit
    this.#taskTimeoutMs = options.taskTimeoutMs ?? LIMITS.executorTaskTimeoutMs
    this.#abortGraceMs = options.abortGraceMs ?? LIMITS.executorAbortGraceMs
    this.#workerStartTimeoutMs = options.workerStartTimeoutMs ?? LIMITS.executorWorkerStartMs
    this.wasm = options.wasmCache ?? new WasmKernelCache()
    for (const kernel of options.inlineKernels ?? BUILTIN_CPU_KERNELS.values()) {
      if (kernel.inline !== undefined) this.#inline.set(kernel.name, kernel)
    }
  }

  start(): void {
    this.#started = true
  }

  /** Cancels every task (TASK_ABORTED) and terminates the workers. */
  stop(): void {
    this.#started = false
    const stopped = (): NoodleError => new NoodleError('TASK_ABORTED', 'the executor stopped', 'Submit the task again, to a running node.')
    for (const job of this.#queue.removeWhere(() => true)) this.#settle(job, stopped())
    for (const slot of [...this.#slots]) {
      if (slot.job?.state === 'running') this.#settle(slot.job, stopped())
      this.#retire(slot)
    }
  }

  /** Tasks that run at once (workers at most). */
  get concurrency(): number {
    return this.#concurrency
  }

  /** Changes how many tasks run at once (orchestrator self-tuning): more workers start as tasks wait; idle workers
   *  above the new number stop now, busy ones when their task ends. */
  setConcurrency(concurrency: number): void {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`concurrency must be a whole number ≥ 1, not ${concurrency}`)
    this.#concurrency = concurrency
    for (const slot of [...this.#slots]) {
      if (this.#slots.size <= concurrency) break
      if (slot.job === undefined) this.#retire(slot)
    }
    this.#pump()
  }

  stats(): ExecutorStats {
    let running = 0
    for (const slot of this.#slots) if (slot.job !== undefined) running++
    return {
      queueLength: this.#queue.size,
      queueLimit: this.queueLimit,
      running,
      workers: this.#slots.size,
      concurrency: this.concurrency,
      ...this.#counts,
    }
  }

  /** Checks, compiles and caches a custom kernel; resolves to its name, `custom:<sha256>`. */
  async addWasmKernel(bytes: Uint8Array, expectedId?: string): Promise<string> {
    return (await this.wasm.add(bytes, expectedId)).id
  }

  /** Runs a task: waits in line for a worker, then runs under its timeout. Rejects with a NoodleError: TASK_BUSY
   *  (queue full; `retryAfterMs` says when to ask again), TASK_ABORTED, TASK_TIMEOUT, KERNEL_CRASHED,
   *  KERNEL_UNKNOWN, TASK_INPUT_INVALID, TASK_FAILED or a WASM_* code. */
  async run(task: ExecutorTask, options: ExecutorRunOptions = {}): Promise<ExecutorResult> {
    if (!this.#started) throw new NoodleError('NOT_STARTED', 'the executor is not running', 'Start the node first.')
    const priority = task.priority ?? 5
    if (!Number.isInteger(priority) || priority < 0 || priority > 9) {
      throw new NoodleError('TASK_INVALID', `task error: priority = ${priority}: must be a whole number from 0 to 9`)
    }
    const timeoutMs = task.timeoutMs ?? this.#taskTimeoutMs
    if (!Number.isFinite(timeoutMs) || timeoutMs < 1 || timeoutMs > LIMITS.taskRunTimeoutMaxMs) {
      throw new NoodleError('TASK_INVALID', `task error: timeoutMs = ${timeoutMs}: must be from 1 to ${LIMITS.taskRunTimeoutMaxMs} ms`)
    }
    this.#admit()
    let wasm: WasmKernelRef | undefined
    if (isCustomKernel(task.kernel)) {
      wasm = task.module === undefined ? this.wasm.get(task.kernel) : await this.wasm.add(task.module, task.kernel)
      if (wasm === undefined) {
        throw new NoodleError(
          'KERNEL_UNKNOWN',
          `this executor has not seen the custom kernel ${task.kernel}`,
          "Send the kernel's WebAssembly module with the task; it is cached by hash after the first time.",
        )
      }
      // Compiling took a while: the executor may have stopped, the queue filled or the caller given up meanwhile.
      if (!this.#started) throw new NoodleError('NOT_STARTED', 'the executor is not running', 'Start the node first.')
      this.#admit()
    }
    if (options.aborted?.() ?? options.signal?.aborted === true) throw aborted(task.kernel, options.signal?.reason)
    const kernel = this.#inline.get(task.kernel)
    const inline = kernel !== undefined && inputWithin(task.input, kernel.inline?.maxInputBytes ?? 0) ? kernel : undefined
    // An inline task with nothing waiting and a turn free runs now, as #pump would run it on the next line, without
    // the job a waiting task needs: no promise of its own, no closures, no listener on its signal (nothing can cancel
    // a synchronous kernel midway). On a lone request's path these were ~10 µs of the executor's thread.
    if (inline !== undefined && this.#queue.size === 0 && this.#hasTurn()) {
      return this.#runNow(inline, task, options.onProgress)
    }
    const { signal } = options
    return new Promise<ExecutorResult>((resolve, reject) => {
      const onAbort = (): void => this.#abort(job, signal?.reason)
      const job: Job = {
        id: this.#nextId++,
        kernel: task.kernel,
        input: task.input,
        priority,
        timeoutMs,
        wasm,
        transferInput: task.transferInput === true,
        inline,
        enqueuedAt: performance.now(),
        resolve,
        reject,
        onProgress: options.onProgress,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
        state: 'queued',
        startedAt: 0,
        slot: undefined,
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#queue.push(job)
      this.#pump()
    })
  }

  /** Throws TASK_BUSY when the queue is full, with an estimate of when a place frees up: one task's time spread
   *  over the workers. */
  #admit(): void {
    if (this.#queue.size < this.queueLimit) return
    this.#counts.rejected++
    const retryAfterMs = Math.min(
      LIMITS.schedulerBusyExcludeMaxMs,
      Math.max(LIMITS.executorRetryAfterMinMs, Math.ceil(this.#averageMs / this.concurrency)),
    )
    throw new NoodleError(
      'TASK_BUSY',
      `this executor is busy: ${this.#queue.size} tasks are waiting for ${this.concurrency} workers`,
      `Retry after ${retryAfterMs} ms, or place the task on another peer.`,
      { retryAfterMs },
    )
  }

  /** Whether a task could start now: a worker is idle, or one more may start. */
  #hasTurn(): boolean {
    if (this.#slots.size < this.concurrency) return true
    for (const slot of this.#slots) if (slot.job === undefined) return true
    return false
  }

  /** Hands waiting tasks to idle workers, spawning workers up to the concurrency. An inline task takes its turn as a
   *  worker task would (when a worker is idle or one more may start), so priorities and the queue limit hold as
   *  before, but it runs here and leaves the worker free. */
  #pump(): void {
    while (this.#queue.size > 0) {
      let slot: Slot | undefined
      for (const candidate of this.#slots) if (candidate.job === undefined) slot = candidate
      if (slot === undefined && this.#slots.size >= this.concurrency) return
      if ((this.#queue.peek() as Job).inline !== undefined) {
        this.#runInline(this.#queue.pop() as Job)
        continue
      }
      if (slot === undefined) {
        try {
          slot = this.#spawn()
        } catch (err) {
          // The platform cannot start a worker at all: the next task fails rather than waits forever.
          const job = this.#queue.pop() as Job
          this.#settle(job, crashed(job.kernel, `no worker could be started: ${(err as Error)?.message ?? err}`))
          continue
        }
      }
      this.#begin(slot, this.#queue.pop() as Job)
    }
  }

  #spawn(): Slot {
    const slot = { ready: false, retired: false, job: undefined, timer: undefined } as Slot
    slot.worker = this.#pool.spawn({
      message: (message) => this.#onMessage(slot, message),
      error: (error) => this.#onCrash(slot, error.message),
      exit: (code) => this.#onCrash(slot, `it exited with code ${code}`),
    })
    this.#slots.add(slot)
    return slot
  }

  #begin(slot: Slot, job: Job): void {
    job.state = 'running'
    job.slot = slot
    slot.job = job
    const message = { type: 'run' as const, id: job.id, kernel: job.kernel, input: job.input, wasm: job.wasm }
    const transfer = job.transferInput ? transferablesOf(job.input) : []
    try {
      try {
        slot.worker.post(message, transfer)
      } catch (err) {
        if (transfer.length === 0) throw err
        slot.worker.post(message, [])
      }
    } catch (err) {
      slot.job = undefined
      this.#settle(job, unsendable(job.kernel, err))
      return
    }
    if (slot.ready) this.#startClock(slot, job)
    else
      slot.timer = setTimeout(
        () => this.#onCrash(slot, `it did not start within ${this.#workerStartTimeoutMs} ms`),
        this.#workerStartTimeoutMs,
      )
  }

  /** Runs a waiting task of an inline kernel here and now, in its turn. */
  #runInline(job: Job): void {
    job.state = 'running'
    job.startedAt = performance.now()
    const outcome = this.#runInlineKernel(job.inline as CpuKernel, job.kernel, job.input, job.transferInput, (fraction) =>
      this.#progress(job.id, job.kernel, fraction, job.onProgress),
    )
    if (outcome instanceof NoodleError) {
      this.#settle(job, outcome)
      return
    }
    // Not in the average task time: that estimates when a worker frees up, and an inline task holds none.
    const durationMs = performance.now() - job.startedAt
    this.#settle(job, { output: outcome.output, durationMs, queuedMs: job.startedAt - job.enqueuedAt, backend: 'cpu' })
  }

  /** Runs an inline task that waits for nothing (see run()): settled before it returns. */
  #runNow(kernel: CpuKernel, task: ExecutorTask, onProgress: ((fraction: number) => void) | undefined): ExecutorResult {
    const id = this.#nextId++
    const startedAt = performance.now()
    const outcome = this.#runInlineKernel(kernel, task.kernel, task.input, task.transferInput === true, (fraction) =>
      this.#progress(id, task.kernel, fraction, onProgress),
    )
    const durationMs = performance.now() - startedAt
    if (outcome instanceof NoodleError) {
      this.#ended(task.kernel, id, durationMs, outcome)
      throw outcome
    }
    this.#ended(task.kernel, id, durationMs, undefined)
    return { output: outcome.output, durationMs, queuedMs: 0, backend: 'cpu' }
  }

  /** What a worker's message loop does (kernel-worker.ts) with one task, on this thread: the kernel on a copy of the
   *  input, as a worker would get it (the input itself when the caller hands it over). Its output, or the task's
   *  error. Progress it reports after returning is dropped. */
  #runInlineKernel(
    kernel: CpuKernel,
    name: string,
    input: unknown,
    transfer: boolean,
    progress: (fraction: number) => void,
  ): { output: unknown } | NoodleError {
    let copy: unknown
    try {
      copy = copyOf(input, transfer)
    } catch (err) {
      return unsendable(name, err)
    }
    const reporter: InlineProgress = { running: true, lastAt: Number.NEGATIVE_INFINITY, report: progress }
    // Bound, not an arrow function: tsx (which runs the CLI) names every closure made per task with a defineProperty.
    const context: KernelContext = { signal: NEVER_ABORTED, progress: reportInlineProgress.bind(reporter) }
    let output: unknown
    try {
      output = kernel.run(kernel.validate(copy), context)
    } catch (err) {
      return kernelFailed(name, err)
    } finally {
      reporter.running = false
    }
    if (typeof (output as PromiseLike<unknown> | undefined)?.then === 'function') {
      // It could not be timed out or cancelled here; the declaration is wrong, and the task says so.
      void Promise.resolve(output).catch(() => {})
      return new NoodleError(
        'TASK_FAILED',
        `${name} is declared inline but returned a promise`,
        'Inline kernels are synchronous: drop `inline` from the kernel.',
      )
    }
    return { output }
  }

  #progress(taskId: number, kernel: string, fraction: number, onProgress: ((fraction: number) => void) | undefined): void {
    onProgress?.(fraction)
    if (this.listenerCount('task:progress') > 0) this.safeDispatchEvent('task:progress', { detail: { taskId, kernel, fraction } })
  }

  /** The task's time starts when a loaded worker has it. */
  #startClock(slot: Slot, job: Job): void {
    clearTimeout(slot.timer)
    job.startedAt = performance.now()
    slot.timer = setTimeout(() => this.#onTimeout(slot, job), job.timeoutMs)
  }

  #onMessage(slot: Slot, message: WorkerToHost): void {
    if (slot.retired) return
    if (message.type === 'ready') {
      slot.ready = true
      if (slot.job?.state === 'running') this.#startClock(slot, slot.job)
      return
    }
    const job = slot.job
    if (job === undefined || job.id !== message.id) return
    if (message.type === 'progress') {
      if (job.state === 'running') this.#progress(job.id, job.kernel, message.fraction, job.onProgress)
      return
    }
    clearTimeout(slot.timer)
    slot.timer = undefined
    slot.job = undefined
    // Above a lowered concurrency, a worker stops once its task is done.
    if (this.#slots.size > this.#concurrency) this.#retire(slot)
    if (job.state === 'running') {
      if (message.type === 'result') {
        const durationMs = performance.now() - job.startedAt
        this.#averageMs += DURATION_ALPHA * (durationMs - this.#averageMs)
        this.#settle(job, {
          output: message.output,
          durationMs,
          queuedMs: job.startedAt - job.enqueuedAt,
          backend: job.wasm === undefined ? 'cpu' : 'wasm',
        })
      } else {
        const { code, message: text, hint } = message.error
        this.#settle(job, new NoodleError(code, text, hint))
      }
    }
    this.#pump()
  }

  #onTimeout(slot: Slot, job: Job): void {
    if (slot.job !== job) return
    this.#retire(slot)
    if (job.state === 'running') {
      this.#settle(
        job,
        new NoodleError(
          'TASK_TIMEOUT',
          `${job.kernel} ran longer than its ${job.timeoutMs} ms and was stopped`,
          'Give the task a longer timeoutMs, or split its input into smaller tasks.',
        ),
      )
    }
    this.#pump()
  }

  /** The worker died or could not start: the task it had fails, a fresh worker takes the next one. */
  #onCrash(slot: Slot, why: string): void {
    if (slot.retired) return
    const job = slot.job
    this.#retire(slot)
    if (job?.state === 'running') this.#settle(job, crashed(job.kernel, why))
    this.#pump()
  }

  #abort(job: Job, reason: unknown): void {
    if (job.state === 'settled') return
    const error = aborted(job.kernel, reason)
    if (job.state === 'queued') {
      this.#queue.removeWhere((queued) => queued === job)
      this.#settle(job, error)
      return
    }
    this.#settle(job, error)
    const slot = job.slot
    if (slot === undefined || slot.job !== job || slot.retired) return
    // The kernel gets its signal and a grace period; a kernel that does not look at it loses its worker.
    slot.worker.post({ type: 'abort', id: job.id, reason: error.message })
    clearTimeout(slot.timer)
    slot.timer = setTimeout(() => {
      if (slot.job !== job) return
      this.#retire(slot)
      this.#pump()
    }, this.#abortGraceMs)
  }

  #retire(slot: Slot): void {
    if (slot.retired) return
    slot.retired = true
    clearTimeout(slot.timer)
    slot.timer = undefined
    slot.job = undefined
    this.#slots.delete(slot)
    slot.worker.terminate()
  }

  #settle(job: Job, outcome: ExecutorResult | NoodleError): void {
    if (job.state === 'settled') return
    job.state = 'settled'
    job.cleanup()
    const error = outcome instanceof NoodleError ? outcome : undefined
    this.#ended(job.kernel, job.id, job.startedAt === 0 ? 0 : performance.now() - job.startedAt, error)
    if (error === undefined) job.resolve(outcome as ExecutorResult)
    else job.reject(error)
  }

  /** Counts a finished task, and tells listeners (an event made only when someone listens: most nodes have none). */
  #ended(kernel: string, taskId: number, durationMs: number, error: NoodleError | undefined): void {
    if (error === undefined) this.#counts.completed++
    else if (error.code === 'TASK_ABORTED') this.#counts.aborted++
    else this.#counts.failed++
    if (this.listenerCount('task:end') > 0) this.safeDispatchEvent('task:end', { detail: { taskId, kernel, durationMs, error } })
  }
}

/** An inline kernel's progress reports while it runs: passed on at most once per LIMITS.executorProgressIntervalMs
 *  (and always at 1), dropped once it has returned. */
interface InlineProgress {
  running: boolean
  lastAt: number
  report: (fraction: number) => void
}

function reportInlineProgress(this: InlineProgress, fraction: number): void {
  if (!this.running || !(fraction >= 0)) return
  const now = performance.now()
  if (fraction < 1 && now - this.lastAt < LIMITS.executorProgressIntervalMs) return
  this.lastAt = now
  this.report(Math.min(1, fraction))
}

/** The input an inline kernel runs on: a copy, as a worker would receive it; an input the caller hands over
 *  (`transferInput`: decoded from a frame, nobody else holds it) as it is, where a worker would get its buffers moved
 *  (structuredClone with transfer still copies everything else, for nothing on this thread). */
function copyOf(input: unknown, transfer: boolean): unknown {
  return transfer ? input : structuredClone(input)
}

function unsendable(kernel: string, err: unknown): NoodleError {
  return new NoodleError(
    'TASK_INPUT_INVALID',
    `${kernel} input cannot be sent to a worker: ${(err as Error)?.message ?? err}`,
    'Inputs are plain data: objects, arrays, strings, numbers, booleans, null and typed arrays.',
  )
}

/** A kernel's own NoodleError as is, anything else it throws as TASK_FAILED: as kernel-worker.ts reports them. */
function kernelFailed(kernel: string, err: unknown): NoodleError {
  if (isNoodleError(err)) return err
  const why = err instanceof Error ? err.message : String(err)
  return new NoodleError('TASK_FAILED', `${kernel} failed: ${why}`, 'This is a fault in the kernel or its input; the node is fine.')
}

function crashed(kernel: string, why: string): NoodleError {
  return new NoodleError(
    'KERNEL_CRASHED',
    `the ${kernel} task crashed its worker: ${why}`,
    'The worker was replaced and the node is fine; check the input, or give the kernel less to do per task.',
  )
}

function aborted(kernel: string, reason: unknown): NoodleError {
  const why = reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : ''
  return new NoodleError('TASK_ABORTED', `the ${kernel} task was cancelled${why}`, 'Submit it again if you still need its result.', {
    cause: reason,
  })
}
