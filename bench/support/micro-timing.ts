// Timing helpers for in-process micro-benchmarks (placement, routing): warm-up, blocks of calls each timed on its
// own, percentile summaries in microseconds, and a seeded generator so every run measures the same inputs.

export interface Summary {
  n: number
  p50: number
  p99: number
  max: number
  mean: number
}

export function runFor(fn: () => void, ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) fn()
}

/** Runs `fn` for about `ms`, timing each call on its own (ns); `perCall` divides a call's time (a batch of calls). */
export function timeBlock(fn: () => void, ms: number, into: number[], perCall = 1): void {
  const end = process.hrtime.bigint() + BigInt(ms * 1e6)
  for (;;) {
    const start = process.hrtime.bigint()
    fn()
    const stop = process.hrtime.bigint()
    into.push(Number(stop - start) / perCall)
    if (stop >= end) return
  }
}

/** Microseconds; percentiles by nearest rank. */
export function summarize(ns: number[]): Summary {
  const sorted = Float64Array.from(ns).sort()
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] / 1000
  const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length / 1000
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] / 1000, mean }
}

/** mulberry32: a small seeded generator, so every run measures the same inputs. */
export function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}
