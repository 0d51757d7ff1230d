// placeTask(): which peer runs a task. One pass over the candidates: each is filtered (requirements, health,
// queue, exclusions, cost, authorisation) and, if it qualifies, scored by the strategy against the cost model's
// estimate. Nothing is allocated per candidate, so a decision over 1,000 peers takes well under a millisecond
// (bench/placement.ts). When no peer qualifies, the error names the closest miss and says what to do.

import { NoodleError } from '../errors.js'
import { type Candidate, hostsKernel } from './candidates.js'
import { type CostModel, copyEstimate, type Estimate, emptyEstimate } from './cost-model.js'
import { BUILTIN_STRATEGIES, type ScoringStrategy, type StrategyRegistry } from './strategies.js'
import type { TaskDeclaration } from './task.js'

export interface PlacementOptions {
  model: CostModel
  /** Overrides the task's `placement`: a scoring function, or the name of one in `strategies`. */
  strategy?: ScoringStrategy | string
  /** Where strategy names are looked up; the built-ins when absent. */
  strategies?: StrategyRegistry
  /** Whether this node may run `task` on `candidate` (its capability tokens, the policy). Called only for
   *  candidates that pass every other check. */
  authorize?: (candidate: Candidate, task: TaskDeclaration) => boolean
  /** Peers to skip, e.g. those that answered "busy, retry after" (a Set will do). */
  exclude?: { has(peerId: string): boolean }
  /** Tasks this scheduler has in flight per peer (a Map will do): the `spread` strategy and the queue estimate. */
  inFlight?: { get(peerId: string): number | undefined }
  /** The input's size and work when already measured (the queue does it once per task). */
  inputBytes?: number
  work?: number
}

export interface PlacementDecision {
  peer: Candidate
  estimate: Estimate
}

/** TASK_UNPLACEABLE. `transient` when the peers that could run the task are only down, busy or full for now:
 *  a scheduler waits and tries again (until the deadline) rather than failing the task. */
export class UnplaceableError extends NoodleError {
  readonly transient: boolean

  constructor(message: string, hint: string, transient: boolean) {
    super('TASK_UNPLACEABLE', message, hint)
    this.transient = transient
  }
}

// Checks in order, from what a peer can never offer this task to what may change in a moment. The closest miss is
// the candidate that got furthest, so the error speaks of the most hopeful peers.
const KERNEL = 0
const GPU = 1
const NPU = 2
const CPU = 3
const MEMORY = 4
const DEAD = 5
const FREE_MEMORY = 6
const QUEUE_FULL = 7
const EXCLUDED = 8
const COST = 9
const UNAUTHORIZED = 10
const STAGES = 11
/** Stages a later try may pass without any change to the mesh's hardware or the task. */
const TRANSIENT_FROM = DEAD
const TRANSIENT_UNTIL = EXCLUDED

/** Chooses the peer for `task` among `candidates`, or throws UnplaceableError (TASK_UNPLACEABLE) with the reason of
 *  the closest miss. `task.peer` restricts the choice to that peer. */
export function placeTask(task: TaskDeclaration, candidates: readonly Candidate[], options: PlacementOptions): PlacementDecision {
  const strategy = strategyFor(task, options)
  const prepared = options.model.prepare(task, options)
  const { authorize, exclude, inFlight } = options
  const requires = task.requires
  const needCpu = requires.cpu ?? 0
  const needMemory = requires.memoryMB ?? 0
  const needGpu = requires.gpu === true
  const needNpu = requires.npu === true
  const maxCost = task.maxCost ?? Number.POSITIVE_INFINITY
  const pinned = task.peer

  const misses = new Uint32Array(STAGES)
  const seen = new Miss()
  const scratch = emptyEstimate()
  const best = emptyEstimate()
  let bestCandidate: Candidate | undefined
  let bestScore = Number.POSITIVE_INFINITY
  let considered = 0

  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]
    if (pinned !== undefined && c.peerId !== pinned) continue
    considered++
    let stage: number
    if (!hostsKernel(c, task.kernel)) stage = KERNEL
    else if (needGpu && !c.gpu) stage = GPU
    else if (needNpu && !c.npu) stage = NPU
    else if (c.cores < needCpu) stage = CPU
    else if (c.totalMemoryMB < needMemory) stage = MEMORY
    else if (c.health === 'dead') stage = DEAD
    else if (c.freeMemoryMB < needMemory) stage = FREE_MEMORY
    else if (c.queueLimit !== undefined && c.queueLength >= c.queueLimit) stage = QUEUE_FULL
    else if (exclude?.has(c.peerId) === true) stage = EXCLUDED
    else {
      options.model.estimate(prepared, c, inFlight?.get(c.peerId) ?? 0, scratch)
      if (scratch.cost > maxCost) stage = COST
      else if (authorize !== undefined && !authorize(c, task)) stage = UNAUTHORIZED
      else {
        let score = strategy(task, c, scratch)
        if (Number.isNaN(score)) score = Number.POSITIVE_INFINITY
        if (bestCandidate === undefined || score < bestScore || (score === bestScore && scratch.totalMs < best.totalMs)) {
          bestCandidate = c
          bestScore = score
          copyEstimate(scratch, best)
        }
        continue
      }
    }
    misses[stage]++
    seen.note(stage, c, scratch)
  }

  if (bestCandidate !== undefined) return { peer: bestCandidate, estimate: best }
  throw unplaceable(task, considered, misses, seen)
}

function strategyFor(task: TaskDeclaration, options: PlacementOptions): ScoringStrategy {
  const chosen = options.strategy ?? task.placement
  if (typeof chosen === 'function') return chosen
  if (options.strategies !== undefined) return options.strategies.get(chosen)
  const builtin = (BUILTIN_STRATEGIES as Record<string, ScoringStrategy>)[chosen]
  if (builtin === undefined) {
    throw new NoodleError(
      'TASK_INVALID',
      `no placement strategy is called ${JSON.stringify(chosen)}`,
      `Use one of ${Object.keys(BUILTIN_STRATEGIES).join(', ')}, or pass a StrategyRegistry that has it.`,
    )
  }
  return builtin
}

/** The figures the error message quotes, gathered without allocating per candidate. */
class Miss {
  maxCores = 0
  /** Largest total memory among candidates that met every requirement before memory. */
  maxMemoryMB = 0
  maxFreeMemoryMB = 0
  minCost = Number.POSITIVE_INFINITY

  note(stage: number, c: Candidate, estimate: Estimate): void {
    if (stage >= CPU && c.cores > this.maxCores) this.maxCores = c.cores
    if (stage >= MEMORY && c.totalMemoryMB > this.maxMemoryMB) this.maxMemoryMB = c.totalMemoryMB
    if (stage >= FREE_MEMORY && c.freeMemoryMB > this.maxFreeMemoryMB) this.maxFreeMemoryMB = c.freeMemoryMB
    if (stage === COST && estimate.cost < this.minCost) this.minCost = estimate.cost
  }
}

function unplaceable(task: TaskDeclaration, considered: number, misses: Uint32Array, seen: Miss): UnplaceableError {
  const where = task.peer === undefined ? '' : ` on peer ${task.peer}`
  const prefix = `cannot place the ${task.kernel} task${where}: `
  if (considered === 0) {
    return task.peer === undefined
      ? new UnplaceableError(
          `${prefix}no peers are known yet`,
          'It waits for peers to join until its deadline; check network.bootstrap or network.signaling if none do.',
          true,
        )
      : new UnplaceableError(
          `${prefix}that peer is not known (it has not announced itself, or it left)`,
          'It waits for the peer until its deadline; leave out "peer" to let the scheduler choose.',
          true,
        )
  }
  let stage = STAGES - 1
  while (stage > 0 && misses[stage] === 0) stage--
  // Peers stopped by an earlier check than the closest miss: the figures quoted then cover only the others.
  let earlier = 0
  for (let s = 0; s < stage; s++) earlier += misses[s]
  const pinned = task.peer !== undefined
  const largest = pinned ? 'the peer has' : earlier > 0 ? 'the largest peer that meets the other requirements has' : 'the largest peer has'
  const them = pinned ? 'the peer' : `the ${plural(misses[stage], 'peer')} that could run it`
  const requires = task.requires
  const [message, hint] = reasonFor(stage)
  return new UnplaceableError(prefix + message, hint, stage >= TRANSIENT_FROM && stage <= TRANSIENT_UNTIL)

  function reasonFor(s: number): [string, string] {
    switch (s) {
      case KERNEL:
        return [
          pinned
            ? `the peer does not run the kernel ${task.kernel}`
            : `no peer runs the kernel ${task.kernel} (${plural(considered, 'peer')} known)`,
          'Check the kernel name, or start a peer that hosts it.',
        ]
      case GPU:
        return [
          pinned
            ? 'it needs a GPU and the peer has none'
            : `it needs a GPU and none of the ${plural(misses[GPU], 'peer')} that run the kernel has one`,
          'A GPU here is a WebGPU device (a browser tab with WebGPU, a Node peer with Dawn). Leave out requires.gpu to run on CPU, or add a peer with a GPU.',
        ]
      case NPU:
        return [
          pinned
            ? 'it needs an NPU and the peer has none'
            : `it needs an NPU and none of the ${plural(misses[NPU], 'peer')} that could otherwise run it has one`,
          'Leave out requires.npu, or add a peer with an NPU.',
        ]
      case CPU:
        return [
          `it needs ${requires.cpu} CPU cores; ${largest} ${seen.maxCores}`,
          'Ask for fewer cores (requires.cpu), or add a peer with more.',
        ]
      case MEMORY:
        return [
          `it needs ${requires.memoryMB} MB of memory; ${largest} ${seen.maxMemoryMB} MB`,
          'Split the input into smaller tasks that need less memory each, or add a peer with more memory.',
        ]
      case DEAD:
        return [
          `${them} ${misses[DEAD] === 1 ? 'is' : 'are'} unreachable (marked dead)`,
          'It waits for a peer that qualifies until its deadline.',
        ]
      case FREE_MEMORY:
        return [
          `it needs ${requires.memoryMB} MB of free memory; the most free on ${pinned ? 'the peer' : 'any peer that could run it'} is ${seen.maxFreeMemoryMB} MB now`,
          'It waits for memory to free up until its deadline.',
        ]
      case QUEUE_FULL:
        return [`${them} ${misses[QUEUE_FULL] === 1 ? 'has a full queue' : 'have full queues'}`, 'It waits for room until its deadline.']
      case EXCLUDED:
        return [`${them} answered "busy, retry after"`, 'It is tried again when they said to, until its deadline.']
      case COST:
        return [
          `it would cost at least ${round(seen.minCost)} on ${them}; maxCost is ${task.maxCost}`,
          'Raise maxCost, or add cheaper peers.',
        ]
      default:
        return [
          `this node is not authorised to run it on ${them}`,
          'Get a capability token that covers this kernel on those peers (docs/SECURITY.md).',
        ]
    }
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(3)
}
