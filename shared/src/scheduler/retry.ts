// How often a scheduler may try a task again after an attempt failed. Each retry waits a backoff with full jitter
// (random in [0, base * 2^(n-1)], capped), so tasks that failed together do not all come back together. And a node's
// retries are budgeted, as Finagle's and Envoy's are: within a sliding window, retries may be `percent` of the tasks
// sent plus a small floor. When peers fail across the mesh, retries then add at most that share of load instead of
// multiplying it; a task refused a retry fails with RETRY_BUDGET_EXHAUSTED.

/** Full-jitter exponential backoff before retry number `retry` (1 for the first), in ms. */
export function backoffMs(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1))
  return Math.floor(random() * ceiling)
}

export interface RetryBudgetOptions {
  /** Retries allowed per 100 tasks sent within the window. */
  percent: number
  /** Retries always allowed within the window, whatever was sent (a quiet node can still retry). */
  floor: number
  windowMs: number
  now?: () => number
}

/** Buckets the window is cut into: counts age out a tenth of a window at a time. */
const BUCKETS = 10

export class RetryBudget {
  readonly #options: RetryBudgetOptions
  readonly #now: () => number
  readonly #bucketMs: number
  /** Per bucket: its start, tasks sent and retries made in it. */
  readonly #starts = new Array<number>(BUCKETS).fill(Number.NEGATIVE_INFINITY)
  readonly #sent = new Array<number>(BUCKETS).fill(0)
  readonly #retried = new Array<number>(BUCKETS).fill(0)

  constructor(options: RetryBudgetOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#bucketMs = Math.max(1, options.windowMs / BUCKETS)
  }

  /** A task was sent for the first time. */
  sent(): void {
    this.#sent[this.#bucket()]++
  }

  /** Takes one retry from the budget; false (and nothing taken) when it is spent. `outstanding`: tasks this node
   *  has queued or running now. The allowance is a share of the larger of those and the tasks sent in the window:
   *  a big map sends its tasks at once and runs them for longer than the window, and peers dying late in it must not
   *  find a budget that has aged to its floor (a 1,000-task map lost half its tasks to that in bench mesh-scale). */
  tryRetry(outstanding = 0): boolean {
    const index = this.#bucket()
    const { sent, retried } = this.totals()
    if (retried + 1 > this.#options.floor + (this.#options.percent / 100) * Math.max(sent, outstanding)) return false
    this.#retried[index]++
    return true
  }

  /** Tasks sent and retries made within the window. */
  totals(): { sent: number; retried: number } {
    const oldest = this.#now() - this.#options.windowMs
    let sent = 0
    let retried = 0
    for (let i = 0; i < BUCKETS; i++) {
      if (this.#starts[i] <= oldest) continue
      sent += this.#sent[i]
      retried += this.#retried[i]
    }
    return { sent, retried }
  }

  /** The bucket for now, emptied first if it last held an older slice of time. */
  #bucket(): number {
    const slice = Math.floor(this.#now() / this.#bucketMs)
    const index = slice % BUCKETS
    const start = slice * this.#bucketMs
    if (this.#starts[index] !== start) {
      this.#starts[index] = start
      this.#sent[index] = 0
      this.#retried[index] = 0
    }
    return index
  }
}
