// The tasks a scheduler holds until a peer takes them: highest priority first, first come first served within a
// priority. Bounded at submission (TASK_BUSY); once a task is in, only its deadline (TASK_DEADLINE_EXCEEDED) or
// its owner's cancel takes it out without a peer: a peer that answers "busy, retry after N ms" hands it back with
// that peer excluded for N ms, and it keeps its place in line.

import { NoodleError } from '../errors.js'
import { LIMITS } from '../limits.js'
import { BinaryHeap } from './binary-heap.js'
import { inputByteLength, type TaskDeclaration } from './task.js'

export interface TaskQueueOptions<T> {
  /** Tasks waiting at once (not counting those handed out); default LIMITS.schedulerQueueLimit. */
  limit?: number
  /** Clock in ms (tests pass their own). */
  now?: () => number
  /** Told about each task whose deadline passed while it waited; the owner rejects it with `error`. */
  onExpired: (entry: QueuedTask<T>, error: NoodleError) => void
}

type QueueState = 'waiting' | 'deferred' | 'taken' | 'done'

/** One task in the queue, with what the scheduler has learned while trying to place it. */
export class QueuedTask<T = unknown> {
  /** Submission order; also the tie-break within a priority, kept when the task comes back. */
  readonly id: number
  readonly task: TaskDeclaration
  /** The owner's handle (e.g. the promise to settle). */
  readonly data: T
  readonly enqueuedAt: number
  readonly deadlineAt: number | undefined
  /** The input's size on the wire, measured once. */
  readonly inputBytes: number
  /** The cost model's work units, filled in by the first placement attempt. */
  work: number | undefined
  /** Times take() has handed it out. */
  attempts = 0
  /** Not handed out before this time (ms). */
  notBefore = 0
  /** @internal */
  state: QueueState = 'waiting'
  /** @internal In the queue's deadline heap. */
  watched = false
  /** Peer → until when it is skipped (ms). */
  readonly #excluded = new Map<string, number>()

  constructor(id: number, task: TaskDeclaration, data: T, enqueuedAt: number) {
    this.id = id
    this.task = task
    this.data = data
    this.enqueuedAt = enqueuedAt
    this.deadlineAt = task.deadlineMs === undefined ? undefined : enqueuedAt + task.deadlineMs
    this.inputBytes = inputByteLength(task.input)
  }

  /** Skips `peerId` until `untilMs`. */
  exclude(peerId: string, untilMs: number): void {
    const current = this.#excluded.get(peerId) ?? 0
    if (untilMs > current) this.#excluded.set(peerId, untilMs)
  }

  /** The peers to skip at `now`, for placeTask's `exclude`; exclusions that ran out are forgotten. */
  exclusions(now: number): { has(peerId: string): boolean } {
    for (const [peer, until] of this.#excluded) if (until <= now) this.#excluded.delete(peer)
    return this.#excluded
  }

  /** When the first exclusion still running at `now` ends, or undefined if none is. */
  nextExclusionEnd(now: number): number | undefined {
    let first: number | undefined
    for (const until of this.#excluded.values()) if (until > now && (first === undefined || until < first)) first = until
    return first
  }

  expiredAt(now: number): boolean {
    return this.deadlineAt !== undefined && now >= this.deadlineAt
  }
}

const inLine = (a: QueuedTask, b: QueuedTask): boolean =>
  a.task.priority > b.task.priority || (a.task.priority === b.task.priority && a.id < b.id)
const byTime = (a: QueuedTask, b: QueuedTask): boolean => a.notBefore < b.notBefore || (a.notBefore === b.notBefore && inLine(a, b))
const byDeadline = (a: QueuedTask, b: QueuedTask): boolean => (a.deadlineAt as number) < (b.deadlineAt as number)

export class TaskQueue<T = unknown> {
  readonly #limit: number
  readonly #now: () => number
  readonly #onExpired: (entry: QueuedTask<T>, error: NoodleError) => void
  /** Ready now, in line order. */
  readonly #ready = new BinaryHeap<QueuedTask<T>>(inLine)
  /** Waiting for their notBefore. */
  readonly #deferred = new BinaryHeap<QueuedTask<T>>(byTime)
  /** Tasks in line that have a deadline, soonest first. The heaps keep entries that left (handed out, finished):
   *  each is skipped when it comes to the top, so leaving costs nothing. */
  readonly #deadlines = new BinaryHeap<QueuedTask<T>>(byDeadline)
  #nextId = 1
  #size = 0

  constructor(options: TaskQueueOptions<T>) {
    this.#limit = options.limit ?? LIMITS.schedulerQueueLimit
    this.#now = options.now ?? Date.now
    this.#onExpired = options.onExpired
  }

  /** Tasks waiting (ready or deferred), not counting those handed out. */
  get size(): number {
    return this.#size
  }

  get limit(): number {
    return this.#limit
  }

  /** The queue's clock (ms): deadlines, deferrals and exclusions are all in its time. */
  now(): number {
    return this.#now()
  }

  /** Queues a parsed task; throws TASK_BUSY when the queue is full. */
  push(task: TaskDeclaration, data: T): QueuedTask<T> {
    if (this.#size >= this.#limit) {
      throw new NoodleError(
        'TASK_BUSY',
        `the task queue is full: ${this.#size} tasks are waiting for a peer`,
        'Wait for some to finish before submitting more, or raise the queue limit.',
      )
    }
    const entry = new QueuedTask(this.#nextId++, task, data, this.#now())
    this.#ready.push(entry)
    this.#watch(entry)
    this.#size++
    return entry
  }

  /** The next task to place: highest priority, oldest first, among those not deferred. Tasks past their deadline
   *  are handed to onExpired on the way, never returned. */
  take(): QueuedTask<T> | undefined {
    const now = this.#now()
    this.#expireDue(now)
    this.#release(now)
    for (;;) {
      const entry = this.#ready.pop()
      if (entry === undefined) return undefined
      if (entry.state !== 'waiting') continue // finished or cancelled while it waited
      this.#size--
      entry.state = 'taken'
      entry.attempts++
      return entry
    }
  }

  /** A peer answered "busy, retry after `afterMs`": the task goes back in line (in its old place) with that peer
   *  skipped for that long (at most LIMITS.schedulerBusyExcludeMaxMs). Never refused, whatever the limit. */
  retryAfter(entry: QueuedTask<T>, peerId: string, afterMs: number): void {
    const now = this.#now()
    const ms = Number.isFinite(afterMs)
      ? Math.min(Math.max(0, afterMs), LIMITS.schedulerBusyExcludeMaxMs)
      : LIMITS.schedulerBusyExcludeMaxMs
    entry.exclude(peerId, now + ms)
    this.#putBack(entry, now)
  }

  /** Back in line, not handed out before `untilMs` (no peer could take it for now). */
  defer(entry: QueuedTask<T>, untilMs: number): void {
    this.#putBack(entry, untilMs)
  }

  /** Back in line at once (e.g. its peer died while running it; exclude the peer first if it should be avoided). */
  requeue(entry: QueuedTask<T>): void {
    this.#putBack(entry, this.#now())
  }

  /** The task finished, failed or was cancelled by its owner: it leaves for good. */
  done(entry: QueuedTask<T>): void {
    if (entry.state === 'waiting' || entry.state === 'deferred') this.#size--
    entry.state = 'done'
  }

  /** The task in line that load shedding gives up first: the lowest priority, the newest within it (O(n): only an
   *  overloaded scheduler asks). */
  lowest(): QueuedTask<T> | undefined {
    let lowest: QueuedTask<T> | undefined
    for (const heap of [this.#ready, this.#deferred]) {
      for (const entry of heap.values()) {
        if (entry.state !== 'waiting' && entry.state !== 'deferred') continue
        if (lowest === undefined || !inLine(entry, lowest)) lowest = entry
      }
    }
    return lowest
  }

  /** Hands every task in line whose deadline has passed to onExpired now; take() does the same on its way. */
  expire(): number {
    return this.#expireDue(this.#now())
  }

  /** When something may change without a call: a deferred task becomes ready or a deadline passes. Call take()
   *  or expire() then; an early wake-up (for a task that has left since) finds nothing to do. */
  nextWakeAt(): number | undefined {
    const ready = this.#deferred.peek()?.notBefore
    const deadline = this.#deadlines.peek()?.deadlineAt
    return ready === undefined ? deadline : deadline === undefined ? ready : Math.min(ready, deadline)
  }

  #putBack(entry: QueuedTask<T>, notBefore: number): void {
    if (entry.state === 'done') return
    if (entry.state === 'waiting' || entry.state === 'deferred') {
      // Already in line: only the time changes, so take it out and put it back.
      this.#ready.removeWhere((e) => e === entry)
      this.#deferred.removeWhere((e) => e === entry)
      this.#size--
    }
    entry.notBefore = notBefore
    this.#size++
    this.#watch(entry)
    if (notBefore > this.#now()) {
      entry.state = 'deferred'
      this.#deferred.push(entry)
    } else {
      entry.state = 'waiting'
      this.#ready.push(entry)
    }
  }

  /** Moves deferred tasks whose time has come into line. */
  #release(now: number): void {
    for (;;) {
      const next = this.#deferred.peek()
      if (next === undefined || next.notBefore > now) return
      this.#deferred.pop()
      if (next.state !== 'deferred') continue
      next.state = 'waiting'
      this.#ready.push(next)
    }
  }

  #watch(entry: QueuedTask<T>): void {
    if (entry.deadlineAt === undefined || entry.watched) return
    entry.watched = true
    this.#deadlines.push(entry)
  }

  /** Rejects the tasks in line whose deadline has passed; those that left the line meanwhile are just dropped from
   *  the deadline heap (a task handed out is its owner's until it comes back). */
  #expireDue(now: number): number {
    let count = 0
    for (;;) {
      const entry = this.#deadlines.peek()
      if (entry === undefined || !entry.expiredAt(now)) return count
      this.#deadlines.pop()
      entry.watched = false
      if (entry.state !== 'waiting' && entry.state !== 'deferred') continue
      this.#size--
      this.#expire(entry)
      count++
    }
  }

  #expire(entry: QueuedTask<T>): void {
    entry.state = 'done'
    const waited = this.#now() - entry.enqueuedAt
    this.#onExpired(
      entry,
      new NoodleError(
        'TASK_DEADLINE_EXCEEDED',
        `the ${entry.task.kernel} task waited ${waited} ms for a peer, past its deadline of ${entry.task.deadlineMs} ms`,
        'Give it a longer deadlineMs, or add peers that can run it.',
      ),
    )
  }
}
