// Circuit breakers, one per peer a scheduler sends tasks to. Closed: tasks go to the peer. After `failures`
// failures in a row, or once `failureRatio` of the last `window` attempts failed, it opens: the peer gets no tasks.
// After a cool-down one probe task is let through (half-open): success closes the breaker, failure opens it again
// with the cool-down doubled (up to cooldownMaxMs). Bookkeeping only; the owner counts the outcomes it sees.

export type BreakerState = 'closed' | 'open' | 'half-open'

export interface BreakerOptions {
  /** Failures in a row that open the breaker. */
  failures: number
  /** Share of the last `window` attempts that, failed, opens it (once `window` attempts were seen). */
  failureRatio: number
  window: number
  /** First cool-down before a probe (ms), doubled after each failed probe up to cooldownMaxMs. */
  cooldownMs: number
  cooldownMaxMs: number
  now?: () => number
}

/** One peer's breaker, for GET /api/health/peers and metrics. */
export interface BreakerReport {
  peerId: string
  state: BreakerState
  /** Failures in a row now. */
  failures: number
  /** When the next probe may go (ms since the epoch, the board's clock); absent unless open. */
  probeAt?: number
}

class PeerBreaker {
  state: BreakerState = 'closed'
  consecutive = 0
  /** The last `window` outcomes, true = failed, as a ring. */
  readonly outcomes: boolean[] = []
  next = 0
  failedInWindow = 0
  cooldownMs: number
  openedAt = 0
  probing = false

  constructor(cooldownMs: number) {
    this.cooldownMs = cooldownMs
  }
}

export class BreakerBoard {
  readonly #options: Required<BreakerOptions>
  readonly #peers = new Map<string, PeerBreaker>()
  /** Told of every change of state (logs, metrics). */
  onChange: ((peerId: string, state: BreakerState, previous: BreakerState) => void) | undefined

  constructor(options: BreakerOptions) {
    this.#options = { now: Date.now, ...options }
  }

  /** Whether a task may go to `peerId` now: closed, or open with its cool-down over and no probe out yet. */
  allows(peerId: string): boolean {
    const breaker = this.#peers.get(peerId)
    if (breaker === undefined || breaker.state === 'closed') return true
    if (breaker.state === 'half-open') return !breaker.probing
    return this.#options.now() >= breaker.openedAt + breaker.cooldownMs
  }

  /** A task is being sent to `peerId`: past an open breaker's cool-down, it is the probe. */
  sending(peerId: string): void {
    const breaker = this.#peers.get(peerId)
    if (breaker === undefined || breaker.state === 'closed') return
    if (breaker.state === 'open') this.#move(peerId, breaker, 'half-open')
    breaker.probing = true
  }

  success(peerId: string): void {
    const breaker = this.#peers.get(peerId)
    if (breaker === undefined) return
    breaker.consecutive = 0
    this.#record(breaker, false)
    // Only the probe's answer closes an open breaker: a late answer to a task sent before it opened says little.
    if (breaker.state !== 'half-open') return
    breaker.probing = false
    breaker.cooldownMs = this.#options.cooldownMs
    this.#move(peerId, breaker, 'closed')
  }

  /** A task sent to `peerId` ended with no verdict on the peer (cancelled): if it was the probe, the next task is. */
  abandoned(peerId: string): void {
    const breaker = this.#peers.get(peerId)
    if (breaker?.state === 'half-open') breaker.probing = false
  }

  failure(peerId: string): void {
    let breaker = this.#peers.get(peerId)
    if (breaker === undefined) {
      breaker = new PeerBreaker(this.#options.cooldownMs)
      this.#peers.set(peerId, breaker)
    }
    breaker.consecutive++
    this.#record(breaker, true)
    if (breaker.state === 'half-open') {
      // The probe failed: longer before the next one.
      breaker.probing = false
      breaker.cooldownMs = Math.min(breaker.cooldownMs * 2, this.#options.cooldownMaxMs)
      this.#open(peerId, breaker)
      return
    }
    if (breaker.state === 'open') return
    const { failures, failureRatio, window } = this.#options
    const ratioTripped = breaker.outcomes.length >= window && breaker.failedInWindow >= failureRatio * window
    if (breaker.consecutive >= failures || ratioTripped) this.#open(peerId, breaker)
  }

  state(peerId: string): BreakerState {
    return this.#peers.get(peerId)?.state ?? 'closed'
  }

  /** Every peer with a breaker on record (a peer that never failed has none: closed). */
  report(): BreakerReport[] {
    return [...this.#peers].map(([peerId, breaker]) => ({
      peerId,
      state: breaker.state,
      failures: breaker.consecutive,
      ...(breaker.state === 'open' ? { probeAt: breaker.openedAt + breaker.cooldownMs } : {}),
    }))
  }

  /** Breakers in each state now. */
  counts(): Record<BreakerState, number> {
    const counts = { closed: 0, open: 0, 'half-open': 0 }
    for (const breaker of this.#peers.values()) counts[breaker.state]++
    return counts
  }

  /** Forgets a peer that left the mesh (a peer that comes back starts closed). */
  forget(peerId: string): void {
    this.#peers.delete(peerId)
  }

  #record(breaker: PeerBreaker, failed: boolean): void {
    const { window } = this.#options
    if (breaker.outcomes.length < window) breaker.outcomes.push(failed)
    else {
      if (breaker.outcomes[breaker.next]) breaker.failedInWindow--
      breaker.outcomes[breaker.next] = failed
    }
    breaker.next = (breaker.next + 1) % window
    if (failed) breaker.failedInWindow++
  }

  #open(peerId: string, breaker: PeerBreaker): void {
    breaker.openedAt = this.#options.now()
    this.#move(peerId, breaker, 'open')
  }

  #move(peerId: string, breaker: PeerBreaker, state: BreakerState): void {
    const previous = breaker.state
    if (previous === state) return
    breaker.state = state
    this.onChange?.(peerId, state, previous)
  }
}
