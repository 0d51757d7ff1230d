// How long a task would take on a peer, and what it would cost there: queue wait + transfer + compute, with compute
// learned from the times this node has observed. Before any observation a kernel's `estimateWork` and one core's
// speed (a GPU's for a GPU task) give a prior; each observation moves the estimate towards what really happened. The
// formula is in docs/SCHEDULER.md.

import type { KernelInfo } from '../exec/kernel.js'
import { LIMITS } from '../limits.js'
import type { Candidate } from './candidates.js'
import { inputByteLength, type TaskDeclaration } from './task.js'

/** What placing one task on one peer is expected to take. Placement fills one per candidate into a reused object:
 *  a scoring function must read it, never keep it. */
export interface Estimate {
  /** Waiting behind the tasks ahead of it on the peer. */
  queueMs: number
  /** Round trip plus the input's bytes over the link; 0 on this node. */
  transferMs: number
  computeMs: number
  /** queue + transfer + compute, doubled (suspectPenalty) for a peer the failure detector suspects. */
  totalMs: number
  /** price × compute seconds, in the units of the peer's price and the task's maxCost. */
  cost: number
  /** Tasks this scheduler has in flight on the peer. */
  assigned: number
  /** True when compute time comes from observations of this (peer, kernel), false when from the prior. */
  learned: boolean
}

export function emptyEstimate(): Estimate {
  return { queueMs: 0, transferMs: 0, computeMs: 0, totalMs: 0, cost: 0, assigned: 0, learned: false }
}

export function copyEstimate(from: Estimate, to: Estimate = emptyEstimate()): Estimate {
  to.queueMs = from.queueMs
  to.transferMs = from.transferMs
  to.computeMs = from.computeMs
  to.totalMs = from.totalMs
  to.cost = from.cost
  to.assigned = from.assigned
  to.learned = from.learned
  return to
}

export interface CostModelOptions {
  /** The kernel's description, for its `estimateWork` prior; kernels it does not know count their input bytes. */
  kernels?: (name: string) => KernelInfo | undefined
  /** Weight of a new observation once a pair has a few (EWMA). Default 0.3: the last ~3 tasks dominate. */
  alpha?: number
  /** The prior: milliseconds per unit of work on one core. Default 0.001 (a 1 MB input with no estimateWork: 1 s).
   *  Observations of any peer recalibrate it per kernel. */
  msPerWork?: number
  /** The prior's speed-up for a GPU task on a peer with a GPU, over one core. Default 8. */
  gpuSpeedup?: number
  /** Link figures for peers not yet measured: round trip (ms) and throughput (bytes per second). Defaults 50 ms and
   *  1.25 MB/s (10 Mbit/s). */
  rttMs?: number
  bytesPerSecond?: number
  /** Factor on the total for a suspect peer. Default 2. */
  suspectPenalty?: number
  /** Entries kept in each map (see LIMITS.costModelEntries). */
  maxEntries?: number
}

/** What placement computes once per task rather than once per candidate. */
export interface PreparedTask {
  readonly kernel: string
  readonly gpu: boolean
  readonly inputBytes: number
  readonly work: number
  /** This kernel's timings per peer, looked up once. */
  readonly timings: ReadonlyMap<string, PairTiming> | undefined
  /** ms per unit of work on one core, for this kernel: the prior, recalibrated by observations. */
  readonly msPerWork: number
}

interface PairTiming {
  /** EWMA of observed ms per unit of work on this peer. */
  msPerWork: number
  samples: number
}

interface Calibration {
  /** EWMA of observed / prior over all peers. */
  ratio: number
  samples: number
}

interface Link {
  rttMs: number | undefined
  bytesPerMs: number | undefined
}

export class CostModel {
  readonly #kernels: (name: string) => KernelInfo | undefined
  readonly #alpha: number
  readonly #msPerWork: number
  readonly #gpuSpeedup: number
  readonly #rttMs: number
  readonly #bytesPerMs: number
  readonly #suspectPenalty: number
  readonly #maxEntries: number
  /** kernel → peer → timing. Keyed by kernel first so a placement looks the kernel up once, then a peer per candidate. */
  readonly #timings = new Map<string, Map<string, PairTiming>>()
  #pairs = 0
  readonly #calibration = new Map<string, Calibration>()
  readonly #links = new Map<string, Link>()

  constructor(options: CostModelOptions = {}) {
    this.#kernels = options.kernels ?? (() => undefined)
    this.#alpha = options.alpha ?? 0.3
    this.#msPerWork = options.msPerWork ?? 0.001
    this.#gpuSpeedup = options.gpuSpeedup ?? 8
    this.#rttMs = options.rttMs ?? 50
    this.#bytesPerMs = (options.bytesPerSecond ?? 1_250_000) / 1000
    this.#suspectPenalty = options.suspectPenalty ?? 2
    this.#maxEntries = options.maxEntries ?? LIMITS.costModelEntries
  }

  /** Units of work in a task: the kernel's `estimateWork(input)`, or the input's bytes when it has none. */
  workOf(task: Pick<TaskDeclaration, 'kernel' | 'input'>, inputBytes = inputByteLength(task.input)): number {
    const estimate = this.#kernels(task.kernel)?.estimateWork?.(task.input)
    return estimate !== undefined && Number.isFinite(estimate) && estimate > 0 ? estimate : Math.max(1, inputBytes)
  }

  /** The per-task half of an estimate. `inputBytes` and `work` may come from the queue, which measured them once. */
  prepare(task: TaskDeclaration, sizes: { inputBytes?: number; work?: number } = {}): PreparedTask {
    const inputBytes = sizes.inputBytes ?? inputByteLength(task.input)
    const calibration = this.#calibration.get(task.kernel)
    return {
      kernel: task.kernel,
      gpu: task.requires.gpu === true,
      inputBytes,
      work: sizes.work ?? this.workOf(task, inputBytes),
      timings: this.#timings.get(task.kernel),
      msPerWork: this.#msPerWork * (calibration?.ratio ?? 1),
    }
  }

  /** Fills `out` with the estimate for `task` on `candidate`. No allocation: placement calls it per candidate. */
  estimate(task: PreparedTask, candidate: Candidate, assigned: number, out: Estimate): Estimate {
    const timing = task.timings?.get(candidate.peerId)
    const computeMs = timing !== undefined ? timing.msPerWork * task.work : this.#prior(task, candidate)
    // The peer's executors run one task per core; tasks ahead beyond the free cores wait their turn. What it
    // advertised may predate what this scheduler sent it since, so the larger of the two counts.
    const ahead = Math.max(candidate.queueLength + candidate.tasksRunning, assigned)
    const queueMs = ahead < candidate.cores ? 0 : ((ahead - candidate.cores + 1) / candidate.cores) * computeMs
    let transferMs = 0
    if (!candidate.local) {
      const link = this.#links.get(candidate.peerId)
      transferMs = (link?.rttMs ?? this.#rttMs) + task.inputBytes / (link?.bytesPerMs ?? this.#bytesPerMs)
    }
    const totalMs = queueMs + transferMs + computeMs
    out.queueMs = queueMs
    out.transferMs = transferMs
    out.computeMs = computeMs
    out.totalMs = candidate.health === 'suspect' ? totalMs * this.#suspectPenalty : totalMs
    out.cost = (candidate.price * computeMs) / 1000
    out.assigned = assigned
    out.learned = timing !== undefined
    return out
  }

  /** Learns from a finished task: it took `durationMs` of compute on `peer` for an input of `inputBytes`. Pass the
   *  `work` that prepare() computed when the kernel has an `estimateWork`, and `gpu` when it ran on the GPU. */
  observe(peer: Candidate, kernel: string, durationMs: number, inputBytes: number, extra: { work?: number; gpu?: boolean } = {}): void {
    if (!Number.isFinite(durationMs) || durationMs < 0) return
    const work = extra.work !== undefined && extra.work > 0 ? extra.work : Math.max(1, inputBytes)
    const observed = durationMs / work
    const speed = this.#speed(peer, extra.gpu === true)
    const calibration = this.#calibration.get(kernel)
    const priorMsPerWork = (this.#msPerWork * (calibration?.ratio ?? 1)) / speed

    const timing = this.#timings.get(kernel)?.get(peer.peerId)
    if (timing === undefined) {
      this.#makeRoom()
      let timings = this.#timings.get(kernel)
      if (timings === undefined) {
        timings = new Map()
        this.#timings.set(kernel, timings)
      }
      // The prior counts as one observation, so the first real one moves the estimate halfway, the next a third,
      // then alpha of the way each time.
      timings.set(peer.peerId, { msPerWork: (priorMsPerWork + observed) / 2, samples: 1 })
      this.#pairs++
    } else {
      timing.samples++
      timing.msPerWork += this.#weight(timing.samples + 1) * (observed - timing.msPerWork)
    }

    // Every observation also recalibrates the prior for this kernel, for peers not yet seen running it.
    const ratio = (observed * speed) / this.#msPerWork
    if (calibration === undefined) this.#calibration.set(kernel, { ratio, samples: 1 })
    else {
      calibration.samples++
      calibration.ratio += this.#weight(calibration.samples) * (ratio - calibration.ratio)
    }
  }

  /** Records a link measurement (a ping's round trip, a transfer's throughput). */
  observeLink(peerId: string, measured: { rttMs?: number; bytesPerSecond?: number }): void {
    let link = this.#links.get(peerId)
    if (link === undefined) {
      if (this.#links.size >= this.#maxEntries) this.#links.delete(this.#links.keys().next().value as string)
      link = { rttMs: undefined, bytesPerMs: undefined }
      this.#links.set(peerId, link)
    }
    const { rttMs, bytesPerSecond } = measured
    if (rttMs !== undefined && Number.isFinite(rttMs) && rttMs >= 0) {
      link.rttMs = link.rttMs === undefined ? rttMs : link.rttMs + this.#alpha * (rttMs - link.rttMs)
    }
    if (bytesPerSecond !== undefined && Number.isFinite(bytesPerSecond) && bytesPerSecond > 0) {
      const bytesPerMs = bytesPerSecond / 1000
      link.bytesPerMs = link.bytesPerMs === undefined ? bytesPerMs : link.bytesPerMs + this.#alpha * (bytesPerMs - link.bytesPerMs)
    }
  }

  /** Forgets a peer that left the mesh. */
  forget(peerId: string): void {
    this.#links.delete(peerId)
    for (const [kernel, timings] of this.#timings) {
      if (timings.delete(peerId)) this.#pairs--
      if (timings.size === 0) this.#timings.delete(kernel)
    }
  }

  /** (peer, kernel) pairs with observed timings. */
  get pairs(): number {
    return this.#pairs
  }

  #prior(task: PreparedTask, candidate: Candidate): number {
    return (task.msPerWork * task.work) / this.#speed(candidate, task.gpu)
  }

  /** Speed-up over one core, until observations say how fast the peer really is. A task runs on one core, so cores
   *  are not speed: they are how many tasks run at once (the queue estimate). Counting them here too made a 16-core
   *  peer's prior 16 times faster and its queue 16 times shorter, and every submitter flooded the big peers
   *  (docs/decisions/0014-one-core-per-task-prior.md). */
  #speed(candidate: Candidate, gpuTask: boolean): number {
    return gpuTask && candidate.gpu && !candidate.gpuFallback ? this.#gpuSpeedup : 1
  }

  /** Weight of the newest of `values` values: a plain mean at first, then an EWMA with weight alpha. */
  #weight(values: number): number {
    return Math.max(this.#alpha, 1 / values)
  }

  /** Drops the oldest pair of the oldest kernel when the map is full. */
  #makeRoom(): void {
    if (this.#pairs < this.#maxEntries) return
    for (const [kernel, timings] of this.#timings) {
      const oldest = timings.keys().next()
      if (!oldest.done) {
        timings.delete(oldest.value)
        this.#pairs--
      }
      if (timings.size === 0) this.#timings.delete(kernel)
      if (this.#pairs < this.#maxEntries) return
    }
  }
}
