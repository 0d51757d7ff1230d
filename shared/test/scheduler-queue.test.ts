// The task queue and the dispatch step as a specification: highest priority first, first come first served within
// a priority; a full queue refuses new tasks with TASK_BUSY; a task past its deadline is rejected with
// TASK_DEADLINE_EXCEEDED; a task a peer answered "busy, retry after" goes back in line, is placed elsewhere or
// waits for that peer, and is never dropped.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CostModel,
  dispatchNext,
  isNoodleError,
  LIMITS,
  type NoodleError,
  parseTask,
  type QueuedTask,
  type TaskDeclarationInput,
  TaskQueue,
} from '../src/index.js'
import { Clock, peer } from './scheduler-support.js'

function task(declaration: Partial<TaskDeclarationInput> = {}) {
  return parseTask({ kernel: 'matmul', input: [1, 2, 3], ...declaration })
}

function queueWith(clock: Clock, limit?: number) {
  const expired: Array<{ entry: QueuedTask<string>; error: NoodleError }> = []
  const queue = new TaskQueue<string>({ limit, now: clock.now, onExpired: (entry, error) => expired.push({ entry, error }) })
  return { queue, expired }
}

/** Takes everything ready now, in order, finishing each. */
function drain(queue: TaskQueue<string>): string[] {
  const order: string[] = []
  for (let entry = queue.take(); entry !== undefined; entry = queue.take()) {
    order.push(entry.data)
    queue.done(entry)
  }
  return order
}

describe('order', () => {
  it('higher priority first, first come first served within a priority', () => {
    const { queue } = queueWith(new Clock())
    for (const [name, priority] of [
      ['a5', 5],
      ['b9', 9],
      ['c5', 5],
      ['d0', 0],
      ['e9', 9],
      ['f5', 5],
    ] as const) {
      queue.push(task({ priority }), name)
    }
    expect(drain(queue)).toEqual(['b9', 'e9', 'a5', 'c5', 'f5', 'd0'])
  })

  it('a task handed back keeps its place ahead of later ones of its priority', () => {
    const clock = new Clock()
    const { queue } = queueWith(clock)
    queue.push(task(), 'first')
    const first = queue.take()!
    queue.push(task(), 'second')
    queue.retryAfter(first, 'busy-peer', 100)
    expect(drain(queue)).toEqual(['first', 'second'])
  })
})

describe('bounds', () => {
  it('a full queue refuses new tasks with TASK_BUSY, saying what to do', () => {
    const { queue } = queueWith(new Clock(), 2)
    queue.push(task(), 'a')
    queue.push(task(), 'b')
    expect(() => queue.push(task(), 'c')).toThrow(
      expect.objectContaining({ code: 'TASK_BUSY', hint: expect.stringMatching(/Wait for some to finish/) }),
    )
    expect(queue.size).toBe(2)
  })

  it('a task already accepted comes back even when the queue is full: never dropped', () => {
    const { queue } = queueWith(new Clock(), 1)
    queue.push(task(), 'a')
    const a = queue.take()!
    queue.push(task(), 'b')
    queue.retryAfter(a, 'p', 10)
    expect(queue.size).toBe(2)
    expect(drain(queue)).toEqual(['a', 'b'])
  })

  it('lowest() names the task load shedding gives up first: lowest priority, newest within it, deferred ones too', () => {
    const clock = new Clock()
    const { queue } = queueWith(clock)
    expect(queue.lowest()).toBeUndefined()
    queue.push(task({ priority: 5 }), 'mid')
    const older = queue.push(task({ priority: 1 }), 'low-old')
    const newer = queue.push(task({ priority: 1 }), 'low-new')
    queue.push(task({ priority: 9 }), 'high')
    expect(queue.lowest()?.data).toBe('low-new')
    queue.defer(queue.take() as QueuedTask<string>, clock.now() + 1_000)
    queue.done(newer)
    expect(queue.lowest()).toBe(older)
  })

  it('defaults to LIMITS.schedulerQueueLimit', () => {
    expect(queueWith(new Clock()).queue.limit).toBe(LIMITS.schedulerQueueLimit)
  })
})

describe('deadlines', () => {
  it('a task past its deadline is rejected with TASK_DEADLINE_EXCEEDED instead of being handed out', () => {
    const clock = new Clock()
    const { queue, expired } = queueWith(clock)
    queue.push(task({ deadlineMs: 100, priority: 9 }), 'late')
    queue.push(task(), 'patient')
    clock.advance(150)
    expect(drain(queue)).toEqual(['patient'])
    expect(expired).toHaveLength(1)
    expect(expired[0].entry.data).toBe('late')
    expect(expired[0].error.code).toBe('TASK_DEADLINE_EXCEEDED')
    expect(expired[0].error.sentence).toBe(
      'the matmul task waited 150 ms for a peer, past its deadline of 100 ms. Give it a longer deadlineMs, or add peers that can run it.',
    )
  })

  it('expire() rejects every overdue task at once, and nextWakeAt() says when to look again', () => {
    const clock = new Clock(0)
    const { queue, expired } = queueWith(clock)
    queue.push(task({ deadlineMs: 100 }), 'a')
    queue.push(task({ deadlineMs: 300 }), 'b')
    queue.push(task(), 'c')
    expect(queue.nextWakeAt()).toBe(100)
    clock.advance(200)
    expect(queue.expire()).toBe(1)
    expect(expired.map((e) => e.entry.data)).toEqual(['a'])
    expect(queue.size).toBe(2)
    expect(queue.nextWakeAt()).toBe(300)
  })

  it('a task waiting for a busy peer is still rejected at its deadline', () => {
    const clock = new Clock(0)
    const { queue, expired } = queueWith(clock)
    queue.push(task({ deadlineMs: 100 }), 'a')
    queue.retryAfter(queue.take()!, 'p', 50)
    queue.defer(queue.take()!, 1000)
    clock.advance(100)
    expect(queue.expire()).toBe(1)
    expect(expired[0].entry.data).toBe('a')
  })
})

describe('busy, retry after', () => {
  it('excludes the busy peer for the time it said, then lets it in again', () => {
    const clock = new Clock(0)
    const { queue } = queueWith(clock)
    queue.push(task(), 'a')
    const entry = queue.take()!
    queue.retryAfter(entry, 'p', 500)
    expect(entry.exclusions(clock.now()).has('p')).toBe(true)
    expect(entry.nextExclusionEnd(clock.now())).toBe(500)
    clock.advance(500)
    expect(entry.exclusions(clock.now()).has('p')).toBe(false)
  })

  it('caps what a peer says at LIMITS.schedulerBusyExcludeMaxMs', () => {
    const { queue } = queueWith(new Clock(0))
    queue.push(task(), 'a')
    const entry = queue.take()!
    queue.retryAfter(entry, 'p', 10 * 24 * 3600 * 1000)
    expect(entry.nextExclusionEnd(0)).toBe(LIMITS.schedulerBusyExcludeMaxMs)
  })

  it('a deferred task is not handed out before its time', () => {
    const clock = new Clock(0)
    const { queue } = queueWith(clock)
    queue.push(task(), 'a')
    queue.defer(queue.take()!, 1000)
    expect(queue.take()).toBeUndefined()
    expect(queue.nextWakeAt()).toBe(1000)
    clock.advance(1000)
    expect(queue.take()?.data).toBe('a')
  })

  it('a cancelled task is never handed out', () => {
    const { queue } = queueWith(new Clock())
    const a = queue.push(task(), 'a')
    queue.push(task(), 'b')
    queue.done(a)
    expect(queue.size).toBe(1)
    expect(drain(queue)).toEqual(['b'])
  })
})

describe('dispatchNext', () => {
  const model = () => new CostModel()

  it('a busy peer: the task is placed again elsewhere', () => {
    const clock = new Clock(0)
    const { queue } = queueWith(clock)
    const peers = [peer('fast', { cores: 16 }), peer('slow', { cores: 1 })]
    const options = { model: model() }
    queue.push(task(), 'job')
    const first = dispatchNext(queue, peers, options)
    expect(first.kind === 'placed' && first.decision.peer.peerId).toBe('fast')
    if (first.kind !== 'placed') throw new Error('not placed')
    queue.retryAfter(first.entry, 'fast', 1000) // "busy, retry after 1000 ms"
    const second = dispatchNext(queue, peers, options)
    expect(second.kind === 'placed' && second.decision.peer.peerId).toBe('slow')
    expect(second.kind === 'placed' && second.entry.attempts).toBe(2)
  })

  it('when the only peer that qualifies is busy, the task waits for it and is placed there later', () => {
    const clock = new Clock(0)
    const { queue, expired } = queueWith(clock)
    const peers = [peer('only', { cores: 4 }), peer('too-small', { totalMB: 512 })]
    const options = { model: model(), retryMs: 5000 }
    queue.push(task({ requires: { memoryMB: 1024 } }), 'job')
    const first = dispatchNext(queue, peers, options)
    if (first.kind !== 'placed') throw new Error('not placed')
    queue.retryAfter(first.entry, 'only', 300)
    expect(dispatchNext(queue, peers, options)).toEqual({ kind: 'idle', wakeAt: 300 })
    expect(queue.size).toBe(1)
    clock.advance(300)
    const again = dispatchNext(queue, peers, options)
    expect(again.kind === 'placed' && again.decision.peer.peerId).toBe('only')
    expect(expired).toEqual([])
  })

  it('with no peers yet, tasks wait (retried every retryMs) until peers come or the deadline passes', () => {
    const clock = new Clock(0)
    const { queue, expired } = queueWith(clock)
    const options = { model: model(), retryMs: 1000 }
    queue.push(task(), 'patient')
    queue.push(task({ deadlineMs: 1500 }), 'hasty')
    expect(dispatchNext(queue, [], options)).toEqual({ kind: 'idle', wakeAt: 1000 })
    clock.advance(1000)
    expect(dispatchNext(queue, [], options).kind).toBe('idle')
    clock.advance(1000)
    const step = dispatchNext(queue, [peer('newcomer')], options)
    expect(step.kind === 'placed' && step.entry.data).toBe('patient')
    expect(expired.map((e) => [e.entry.data, e.error.code])).toEqual([['hasty', 'TASK_DEADLINE_EXCEEDED']])
  })

  it('a task no peer could ever run fails with the reason, and the next task is not held up', () => {
    const { queue } = queueWith(new Clock(0))
    const peers = [peer('a', { totalMB: 16_384 })]
    queue.push(task({ requires: { memoryMB: 64_000 }, priority: 9 }), 'huge')
    queue.push(task(), 'fine')
    const failed = dispatchNext(queue, peers, { model: model() })
    expect(failed.kind).toBe('failed')
    if (failed.kind !== 'failed') return
    expect(failed.entry.data).toBe('huge')
    expect(failed.error.code).toBe('TASK_UNPLACEABLE')
    expect(failed.error.message).toMatch(/it needs 64000 MB of memory; the largest peer has 16384 MB/)
    expect(queue.size).toBe(1)
    const next = dispatchNext(queue, peers, { model: model() })
    expect(next.kind === 'placed' && next.entry.data).toBe('fine')
  })

  it('a task that waits for a busy peer does not hold up the tasks behind it', () => {
    const { queue } = queueWith(new Clock(0))
    const peers = [peer('a'), peer('b')]
    queue.push(task({ peer: undefined, priority: 9 }), 'first')
    queue.push(task(), 'second')
    const first = dispatchNext(queue, peers, { model: model() })
    if (first.kind !== 'placed') throw new Error('not placed')
    first.entry.exclude('a', 1000)
    first.entry.exclude('b', 1000)
    queue.requeue(first.entry)
    const step = dispatchNext(queue, peers, { model: model() })
    expect(step.kind === 'placed' && step.entry.data).toBe('second')
  })
})

describe('properties', () => {
  type Op =
    | { op: 'push'; priority: number; deadlineMs: number | undefined }
    | { op: 'take'; after: 'done' | 'busy' | 'hold'; busyMs: number }
    | { op: 'advance'; ms: number }
    | { op: 'settle'; index: number; busy: boolean }

  const ops = fc.array(
    fc.oneof(
      fc.record({
        op: fc.constant('push' as const),
        priority: fc.integer({ min: 0, max: 9 }),
        deadlineMs: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
      }),
      fc.record({
        op: fc.constant('take' as const),
        after: fc.constantFrom('done' as const, 'busy' as const, 'hold' as const),
        busyMs: fc.integer({ min: 0, max: 300 }),
      }),
      fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 200 }) }),
      fc.record({ op: fc.constant('settle' as const), index: fc.nat(), busy: fc.boolean() }),
    ),
    { maxLength: 120 },
  )

  it('the queue never loses a task: each one is finished or rejected at its deadline, exactly once; order holds', () => {
    fc.assert(
      fc.property(ops, fc.integer({ min: 1, max: 20 }), (script: Op[], limit) => {
        const clock = new Clock(0)
        const outcomes = new Map<number, string[]>()
        const record = (id: number, what: string) => outcomes.set(id, [...(outcomes.get(id) ?? []), what])
        const queue = new TaskQueue<number>({ limit, now: clock.now, onExpired: (entry) => record(entry.data, 'expired') })
        const held: QueuedTask<number>[] = []
        let pushed = 0
        const waiting = new Map<number, number>() // id → priority, for the order check
        for (const step of script) {
          if (step.op === 'push') {
            try {
              queue.push(task({ priority: step.priority, deadlineMs: step.deadlineMs }), pushed)
              waiting.set(pushed, step.priority)
              pushed++
            } catch (err) {
              expect(isNoodleError(err, 'TASK_BUSY')).toBe(true)
              // At the limit, or past it: a task handed back by a busy peer is always taken back.
              expect(queue.size).toBeGreaterThanOrEqual(limit)
            }
          } else if (step.op === 'advance') clock.advance(step.ms)
          else if (step.op === 'take') {
            const entry = queue.take()
            if (entry === undefined) continue
            for (const [id, priority] of waiting) {
              if (id !== entry.data && !outcomes.has(id)) expect(priority).toBeLessThanOrEqual(entry.task.priority)
            }
            waiting.delete(entry.data)
            if (step.after === 'done') {
              queue.done(entry)
              record(entry.data, 'done')
            } else if (step.after === 'busy') {
              queue.retryAfter(entry, 'p', step.busyMs)
              waiting.set(entry.data, entry.task.priority)
            } else held.push(entry)
          } else if (held.length > 0) {
            const [entry] = held.splice(step.index % held.length, 1)
            if (step.busy) {
              queue.retryAfter(entry, 'p', 50)
              waiting.set(entry.data, entry.task.priority)
            } else {
              queue.done(entry)
              record(entry.data, 'done')
            }
          }
        }
        // Finish everything: what is held, then what waits.
        for (const entry of held) {
          queue.done(entry)
          record(entry.data, 'done')
        }
        clock.advance(LIMITS.schedulerBusyExcludeMaxMs + 1000)
        for (let entry = queue.take(); entry !== undefined; entry = queue.take()) {
          queue.done(entry)
          record(entry.data, 'done')
        }
        expect(queue.size).toBe(0)
        expect(outcomes.size).toBe(pushed)
        for (const [, what] of outcomes) expect(what).toHaveLength(1)
      }),
      { numRuns: 300 },
    )
  })
})
