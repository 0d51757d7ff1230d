// A token bucket: one per connection, every inbound event takes a token. Tokens refill at a steady rate up to the
// burst, so a client may send a burst when it starts dialling and a steady trickle after.

export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number = performance.now(),
  ) {
    this.tokens = burst
    this.last = now
  }

  /** Takes one token: true when there was one. */
  take(now: number = performance.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000)
    this.last = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
