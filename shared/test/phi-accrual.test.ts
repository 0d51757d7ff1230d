// The phi-accrual detector on its own: phi as a function of silence and of the heartbeat history, on a clock the
// test moves.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PhiAccrualDetector, type PhiAccrualOptions, phiOf } from '../src/health/phi-accrual.js'

function detector(options: Partial<PhiAccrualOptions> = {}) {
  const clock = { now: 0 }
  const phi = new PhiAccrualDetector({
    maxSampleSize: 100,
    minStdDeviationMs: 250,
    acceptableHeartbeatPauseMs: 1_000,
    firstHeartbeatEstimateMs: 1_000,
    now: () => clock.now,
    ...options,
  })
  return { clock, phi }
}

describe('PhiAccrualDetector', () => {
  it('is 0 before the first heartbeat and low right after one', () => {
    const { clock, phi } = detector()
    clock.now = 50_000
    expect(phi.phi()).toBe(0)
    phi.heartbeat()
    expect(phi.phi()).toBeLessThan(0.01)
  })

  it('phi never falls while the silence grows, whatever the history', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5_000 }), { minLength: 0, maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 2, maxLength: 20 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        (intervals, silences, factor) => {
          const { clock, phi } = detector()
          phi.heartbeat()
          for (const interval of intervals) {
            clock.now += interval
            phi.heartbeat()
          }
          const start = clock.now
          let previous = -1
          for (const silence of [...silences].sort((a, b) => a - b)) {
            clock.now = start + silence
            const value = phi.phi(factor)
            expect(Number.isNaN(value)).toBe(false)
            expect(value).toBeGreaterThanOrEqual(previous)
            previous = value
          }
        },
      ),
    )
  })

  it('heartbeats at the mean, with jitter within the deviation floor, keep phi below 1', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -200, max: 200 }), { minLength: 1, maxLength: 300 }), (jitters) => {
        const { clock, phi } = detector()
        phi.heartbeat()
        for (const jitter of jitters) {
          clock.now += 1_000 + jitter
          expect(phi.phi()).toBeLessThan(1)
          phi.heartbeat()
        }
      }),
    )
  })

  it('a wider pause factor never raises phi', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30_000 }), fc.double({ min: 1, max: 100, noNaN: true }), (silence, factor) => {
        const { clock, phi } = detector()
        for (let i = 0; i < 10; i++) {
          phi.heartbeat()
          clock.now += 1_000
        }
        clock.now += silence
        expect(phi.phi(factor)).toBeLessThanOrEqual(phi.phi(1))
      }),
    )
  })

  it('at 1 s heartbeats a silent peer crosses phi 8 between 3 and 4 s of silence', () => {
    const { clock, phi } = detector()
    for (let i = 0; i < 20; i++) {
      phi.heartbeat()
      clock.now += 1_000
    }
    clock.now -= 1_000
    const start = clock.now
    while (phi.phi() < 8) clock.now += 10
    expect(clock.now - start).toBeGreaterThan(3_000)
    expect(clock.now - start).toBeLessThan(4_000)
  })

  it('does not count intervals shorter than minIntervalMs, so two sources do not halve the expected interval', () => {
    const { clock, phi } = detector({ minIntervalMs: 500 })
    phi.heartbeat()
    for (let i = 0; i < 50; i++) {
      clock.now += 100
      phi.heartbeat()
      clock.now += 900
      phi.heartbeat()
    }
    expect(phi.meanIntervalMs()).toBeGreaterThan(850)
    // ...but the short one still ends the silence.
    clock.now += 100
    phi.heartbeat()
    expect(phi.silenceMs()).toBe(0)
  })

  it('keeps only maxSampleSize intervals: the old rhythm is forgotten', () => {
    const { clock, phi } = detector({ maxSampleSize: 10 })
    phi.heartbeat()
    for (let i = 0; i < 10; i++) {
      clock.now += 5_000
      phi.heartbeat()
    }
    for (let i = 0; i < 10; i++) {
      clock.now += 1_000
      phi.heartbeat()
    }
    expect(phi.meanIntervalMs()).toBe(1_000)
  })

  it('phiOf stays finite far into the tail', () => {
    expect(Number.isFinite(phiOf(1e9, 1_000, 100))).toBe(true)
    expect(phiOf(0, 1e9, 1)).toBe(0)
  })
})
