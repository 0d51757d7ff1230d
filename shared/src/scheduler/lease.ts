// Leases on tasks running on other peers. A task handed to a peer holds a lease that the executor's heartbeats
// (frames on the task's stream) renew; a lease not renewed for leaseMs has expired, and one held on a peer the
// failure detector declares dead is revoked. Either way the owner places the task again elsewhere at once instead
// of waiting for the request's timeout. Bookkeeping only: no timers, no network; the owner sweeps.

/** One running attempt's lease. */
export interface TaskLease<T> {
  readonly peer: string
  /** What the lease is for (the owner's queue entry). */
  readonly owner: T
  /** How long it lasts without a heartbeat (ms): longer for a peer that says it runs throttled. */
  readonly leaseMs: number
  /** When a heartbeat last renewed it (the table's clock, ms). */
  renewedAt: number
  /** Set once it expired or was revoked: the attempt it covers no longer counts, whatever it answers. */
  lapsed: boolean
}

export interface LeaseTableOptions {
  /** How long a lease lasts without a heartbeat (ms), unless grant() says otherwise. */
  leaseMs: number
  /** Clock in ms (tests pass their own). */
  now?: () => number
}

export class LeaseTable<T> {
  readonly leaseMs: number
  readonly #now: () => number
  readonly #leases = new Set<TaskLease<T>>()
  #lastExpire: number | undefined

  constructor(options: LeaseTableOptions) {
    this.leaseMs = options.leaseMs
    this.#now = options.now ?? Date.now
  }

  /** Leases held now. */
  get size(): number {
    return this.#leases.size
  }

  /** A lease for an attempt on `peer`, running from now, lasting `leaseMs` without a heartbeat. */
  grant(peer: string, owner: T, leaseMs = this.leaseMs): TaskLease<T> {
    const lease: TaskLease<T> = { peer, owner, leaseMs, renewedAt: this.#now(), lapsed: false }
    this.#leases.add(lease)
    return lease
  }

  /** A heartbeat from the lease's executor. */
  renew(lease: TaskLease<T>): void {
    lease.renewedAt = this.#now()
  }

  /** The attempt ended (answered, failed, or cancelled): the lease goes. */
  release(lease: TaskLease<T>): void {
    this.#leases.delete(lease)
  }

  /** Leases whose executor has been silent for leaseMs, now lapsed and removed. `sweepMs`: how often the owner
   *  calls this. A call more than a sweep late means the owner itself was stalled (a blocked event loop): the
   *  heartbeats that arrived meanwhile still wait in its socket buffers, and timers run before I/O, so every lease
   *  would look silent at once. Then nothing lapses this time and every lease is extended by the stall; the next
   *  sweep judges them on the heartbeats read in between. (Found in bench mesh-scale: with 30 peers on 2 cores the
   *  submitter stalled for seconds as peers died, and 931 leases of live executors lapsed, silent 3.0-3.9 s.) */
  expire(sweepMs?: number): TaskLease<T>[] {
    const now = this.#now()
    const last = this.#lastExpire
    this.#lastExpire = now
    if (sweepMs !== undefined && last !== undefined && now - last > 2 * sweepMs) {
      const stalled = now - last - sweepMs
      for (const lease of this.#leases) lease.renewedAt += stalled
      return []
    }
    const expired: TaskLease<T>[] = []
    for (const lease of this.#leases) {
      if (lease.renewedAt + lease.leaseMs > now) continue
      lease.lapsed = true
      this.#leases.delete(lease)
      expired.push(lease)
    }
    return expired
  }

  /** Every lease held on `peer` (declared dead), now lapsed and removed. */
  revoke(peer: string): TaskLease<T>[] {
    const revoked: TaskLease<T>[] = []
    for (const lease of this.#leases) {
      if (lease.peer !== peer) continue
      lease.lapsed = true
      this.#leases.delete(lease)
      revoked.push(lease)
    }
    return revoked
  }
}
