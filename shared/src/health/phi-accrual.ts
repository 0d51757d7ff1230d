// The phi-accrual failure detector (Hayashibara et al. 2004), as Akka implements it: the inter-arrival times of
// one peer's heartbeats, over a bounded window, are taken as normally distributed; phi is -log10 of the chance that
// a heartbeat still comes after the silence seen so far. Pure: the clock is passed in, so tests drive time.

export interface PhiAccrualOptions {
  /** Inter-arrival times kept (the window the mean and deviation are computed over). */
  maxSampleSize: number
  /** Floor for the standard deviation (ms): regular heartbeats would otherwise make phi jump at the first jitter. */
  minStdDeviationMs: number
  /** Silence tolerated on top of the mean before phi rises (ms): covers a pause (GC, a busy event loop, a
   *  throttled tab) without raising the deviation of every estimate. */
  acceptableHeartbeatPauseMs: number
  /** The interval assumed before real heartbeats have been measured (ms). */
  firstHeartbeatEstimateMs: number
  /** A heartbeat closer than this to the previous one (ms) is not counted as an interval, only as the latest sign of
   *  life, so that several sources feeding one detector (gossip, ping, task streams) do not shrink the estimated
   *  interval towards 0. 0 counts every heartbeat. */
  minIntervalMs?: number
  /** Milliseconds from any fixed origin. */
  now: () => number
}

/** A bounded window of inter-arrival times with a running sum and sum of squares (O(1) per heartbeat). */
class IntervalWindow {
  private readonly values: number[] = []
  private head = 0
  private sum = 0
  private squares = 0

  constructor(private readonly capacity: number) {}

  add(value: number): void {
    if (this.values.length < this.capacity) this.values.push(value)
    else {
      const old = this.values[this.head]
      this.sum -= old
      this.squares -= old * old
      this.values[this.head] = value
      this.head = (this.head + 1) % this.capacity
    }
    this.sum += value
    this.squares += value * value
  }

  get size(): number {
    return this.values.length
  }

  get mean(): number {
    return this.sum / this.values.length
  }

  get variance(): number {
    const mean = this.mean
    return Math.max(0, this.squares / this.values.length - mean * mean)
  }
}

export class PhiAccrualDetector {
  private readonly options: PhiAccrualOptions
  private readonly window: IntervalWindow
  private last: number | undefined

  constructor(options: PhiAccrualOptions) {
    if (options.maxSampleSize < 1) throw new RangeError('maxSampleSize must be at least 1')
    this.options = options
    this.window = new IntervalWindow(options.maxSampleSize)
  }

  /** Records a heartbeat now. The first one also seeds the window with the first-heartbeat estimate (mean ± a
   *  quarter of it), as Akka does, so phi has a distribution before real intervals are known. */
  heartbeat(): void {
    const now = this.options.now()
    if (this.last === undefined) {
      const mean = this.options.firstHeartbeatEstimateMs
      const std = mean / 4
      this.window.add(mean - std)
      this.window.add(mean + std)
      this.last = now
      return
    }
    const interval = now - this.last
    // Too close to count as an interval, but still the latest sign of life: silence is measured from it.
    if (interval >= (this.options.minIntervalMs ?? 0)) this.window.add(interval)
    this.last = now
  }

  /** Whether any heartbeat has been recorded. */
  get started(): boolean {
    return this.last !== undefined
  }

  /** Milliseconds since the last heartbeat counted (0 before the first). */
  silenceMs(): number {
    return this.last === undefined ? 0 : Math.max(0, this.options.now() - this.last)
  }

  /** The mean inter-arrival time (ms) the detector expects now. */
  meanIntervalMs(): number {
    return this.window.mean
  }

  /** Suspicion now: 0 before the first heartbeat, growing without bound with silence. `pauseFactor` widens the
   *  acceptable pause (a peer that says it is throttled). */
  phi(pauseFactor = 1): number {
    if (this.last === undefined) return 0
    const mean = this.window.mean + this.options.acceptableHeartbeatPauseMs * pauseFactor
    const std = Math.max(Math.sqrt(this.window.variance), this.options.minStdDeviationMs)
    return phiOf(this.silenceMs(), mean, std)
  }
}

/** -log10 of the chance that a normal(mean, std) interval is longer than `elapsed`, by the logistic approximation of
 *  the normal tail Akka uses (error below 0.014%). Akka's -log10(e / (1 + e)) is computed as softplus(a) / ln 10,
 *  which is the same value but stays finite and monotone far into the tail, where e under- or overflows. */
export function phiOf(elapsed: number, mean: number, std: number): number {
  const y = (elapsed - mean) / std
  const a = y * (1.5976 + 0.070566 * y * y)
  const softplus = a > 0 ? a + Math.log1p(Math.exp(-a)) : Math.log1p(Math.exp(a))
  return softplus / Math.LN10
}
