// Per-peer circuit breakers (scheduler/breaker.ts), jittered backoff and the retry budget (scheduler/retry.ts),
// with a fake clock.

import { describe, expect, it } from 'vitest'
import { BreakerBoard, type BreakerState } from '../src/scheduler/breaker.js'
import { backoffMs, RetryBudget } from '../src/scheduler/retry.js'

function board(): { breakers: BreakerBoard; clock: { now: number }; changes: string[] } {
  const clock = { now: 0 }
  const changes: string[] = []
  const breakers = new BreakerBoard({
    failures: 3,
    failureRatio: 0.5,
    window: 10,
    cooldownMs: 1_000,
    cooldownMaxMs: 4_000,
    now: () => clock.now,
  })
  breakers.onChange = (peer: string, state: BreakerState, previous: BreakerState) => changes.push(`${peer} ${previous}->${state}`)
  return { breakers, clock, changes }
}

describe('circuit breakers', () => {
  it('open after N failures in a row, probe once after the cool-down, close on success', () => {
    const { breakers, clock, changes } = board()
    breakers.failure('p')
    breakers.failure('p')
    expect(breakers.allows('p')).toBe(true)
    breakers.failure('p')
    expect(breakers.state('p')).toBe('open')
    expect(breakers.allows('p')).toBe(false)
    clock.now = 999
    expect(breakers.allows('p')).toBe(false)
    clock.now = 1_000
    expect(breakers.allows('p')).toBe(true)
    breakers.sending('p')
    expect(breakers.state('p')).toBe('half-open')
    // One probe at a time.
    expect(breakers.allows('p')).toBe(false)
    breakers.success('p')
    expect(breakers.state('p')).toBe('closed')
    expect(breakers.allows('p')).toBe(true)
    expect(changes).toEqual(['p closed->open', 'p open->half-open', 'p half-open->closed'])
  })

  it('a failed probe opens it again with the cool-down doubled, up to the cap', () => {
    const { breakers, clock } = board()
    for (let i = 0; i < 3; i++) breakers.failure('p')
    const probeAfter = (ms: number): void => {
      clock.now += ms - 1
      expect(breakers.allows('p')).toBe(false)
      clock.now += 1
      expect(breakers.allows('p')).toBe(true)
      breakers.sending('p')
      breakers.failure('p')
      expect(breakers.state('p')).toBe('open')
    }
    probeAfter(1_000)
    probeAfter(2_000)
    probeAfter(4_000)
    probeAfter(4_000)
    expect(breakers.report()).toEqual([{ peerId: 'p', state: 'open', failures: 7, probeAt: clock.now + 4_000 }])
  })

  it('opens on a failure ratio without N in a row; a success resets the run; peers are independent', () => {
    const { breakers } = board()
    // Fail, fail, succeed, five times over: never 3 in a row, but 10 of the last 15 failed.
    for (let i = 0; i < 4; i++) {
      breakers.failure('p')
      breakers.failure('p')
      breakers.success('p')
    }
    expect(breakers.state('p')).toBe('open')
    breakers.failure('q')
    breakers.failure('q')
    breakers.success('q')
    breakers.failure('q')
    expect(breakers.state('q')).toBe('closed')
    expect(breakers.counts()).toEqual({ closed: 1, open: 1, 'half-open': 0 })
  })
})

describe('retry backoff', () => {
  it('is random up to base * 2^(n-1), capped', () => {
    expect(backoffMs(1, 25, 2_000, () => 0.999)).toBe(24)
    expect(backoffMs(3, 25, 2_000, () => 0.5)).toBe(50)
    expect(backoffMs(20, 25, 2_000, () => 0.999)).toBe(1_998)
    expect(backoffMs(4, 25, 2_000, () => 0)).toBe(0)
  })
})

describe('retry budget', () => {
  it('allows the floor plus a share of the tasks sent in the window, then refuses', () => {
    const clock = { now: 0 }
    const budget = new RetryBudget({ percent: 10, floor: 2, windowMs: 10_000, now: () => clock.now })
    for (let i = 0; i < 50; i++) budget.sent()
    // 2 + 10 % of 50 = 7.
    let allowed = 0
    while (budget.tryRetry()) allowed++
    expect(allowed).toBe(7)
    expect(budget.totals()).toEqual({ sent: 50, retried: 7 })
  })

  it('allows a share of the outstanding tasks when they outnumber those sent in the window (a long map)', () => {
    const clock = { now: 0 }
    const budget = new RetryBudget({ percent: 10, floor: 2, windowMs: 10_000, now: () => clock.now })
    for (let i = 0; i < 1_000; i++) budget.sent()
    clock.now = 20_000 // the map was sent long ago; 750 of its tasks are still queued or running
    let allowed = 0
    while (budget.tryRetry(750)) allowed++
    expect(allowed).toBe(2 + 75)
  })

  it('forgets what left the window', () => {
    const clock = { now: 0 }
    const budget = new RetryBudget({ percent: 0, floor: 1, windowMs: 10_000, now: () => clock.now })
    expect(budget.tryRetry()).toBe(true)
    expect(budget.tryRetry()).toBe(false)
    clock.now = 10_500
    expect(budget.tryRetry()).toBe(true)
  })
})
