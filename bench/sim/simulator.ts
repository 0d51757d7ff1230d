// A discrete-event simulator: a clock in milliseconds and a heap of events (time, then the order they were
// scheduled in, so runs are deterministic), plus a seeded random source. The mesh code under simulation takes its
// clock as a function (`now`), so it runs on simulated time unchanged.

import { BinaryHeap } from '../../shared/src/scheduler/binary-heap.js'
import { random } from '../support/micro-timing.js'

interface Event {
  at: number
  seq: number
  run: () => void
}

export class Simulator {
  now = 0
  /** Events run so far. */
  events = 0
  private seq = 0
  private readonly heap = new BinaryHeap<Event>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq))
  readonly random: Random

  constructor(seed: number) {
    this.random = new Random(seed)
  }

  /** Runs `run` `delayMs` from now. */
  after(delayMs: number, run: () => void): void {
    this.heap.push({ at: this.now + Math.max(0, delayMs), seq: this.seq++, run })
  }

  /** Runs events in order until none are left or the clock would pass `untilMs`. */
  run(untilMs = Number.POSITIVE_INFINITY): void {
    for (let next = this.heap.peek(); next !== undefined && next.at <= untilMs; next = this.heap.peek()) {
      this.heap.pop()
      this.now = next.at
      this.events++
      next.run()
    }
    if (untilMs !== Number.POSITIVE_INFINITY) this.now = Math.max(this.now, untilMs)
  }
}

/** Draws for the simulation, all from one seeded mulberry32 (bench/support/micro-timing.ts), so a run is
 *  reproducible from its seed. */
export class Random {
  /** Uniform in [0, 1). */
  readonly next: () => number

  constructor(seed: number) {
    this.next = random(seed)
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next())
  }

  /** Log-normal with the given median and shape σ (heavy-ish right tail, as network delays have). */
  logNormal(median: number, sigma: number): number {
    const u = 1 - this.next()
    const v = this.next()
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
    return median * Math.exp(sigma * z)
  }
}

/** Nearest-rank percentile (0..100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}
