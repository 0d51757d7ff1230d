// Latency samples and their summary. Samples are kept in nanoseconds (process.hrtime.bigint) and reported in
// microseconds.

export interface LatencySummary {
  n: number
  p50: number
  p90: number
  p99: number
  mean: number
  min: number
  max: number
}

export class LatencySamples {
  private readonly ns: number[] = []

  /** Times one call of `fn` and keeps the sample. */
  async time<T>(fn: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint()
    const result = await fn()
    this.ns.push(Number(process.hrtime.bigint() - start))
    return result
  }

  /** Keeps samples timed elsewhere (a browser page's performance.now()), given in microseconds. */
  addMicroseconds(samples: readonly number[]): void {
    for (const us of samples) this.ns.push(us * 1000)
  }

  /** Summary in microseconds; percentiles by nearest rank. */
  summary(): LatencySummary {
    const sorted = Float64Array.from(this.ns).sort()
    const n = sorted.length
    if (n === 0) return { n, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, mean: Number.NaN, min: Number.NaN, max: Number.NaN }
    const rank = (q: number): number => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] / 1000
    let total = 0
    for (const value of sorted) total += value
    return { n, p50: rank(0.5), p90: rank(0.9), p99: rank(0.99), mean: total / n / 1000, min: sorted[0] / 1000, max: sorted[n - 1] / 1000 }
  }
}
