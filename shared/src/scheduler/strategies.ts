// How placement chooses among the peers that qualify: a scoring function per strategy, lower is better. The four
// built-ins cover the task declaration's `placement`; an app plugs in its own by passing a function, or a name it
// registered, to placeTask(). Equal scores go to the lower estimated total time, then to the earlier candidate.

import { NoodleError } from '../errors.js'
import { LIMITS } from '../limits.js'
import type { Candidate } from './candidates.js'
import type { Estimate } from './cost-model.js'
import type { Placement, TaskDeclaration } from './task.js'

/** Scores one qualifying candidate for a task; lower is better. Called once per candidate on every placement, so it
 *  must be cheap, must not throw, and must not keep `estimate` (placement reuses the object). NaN counts as worst. */
export type ScoringStrategy = (task: TaskDeclaration, candidate: Candidate, estimate: Estimate) => number

/** Soonest finish: queue wait + transfer + compute. */
export const fastest: ScoringStrategy = (_task, _candidate, estimate) => estimate.totalMs

/** Lowest estimated cost; among equally cheap peers (free ones, say) the fastest. */
export const cheapest: ScoringStrategy = (_task, _candidate, estimate) => estimate.cost

/** The peer this scheduler has given the fewest unfinished tasks; among those the fastest. */
export const spread: ScoringStrategy = (_task, _candidate, estimate) => estimate.assigned

/** This node when it qualifies, otherwise the fastest peer. */
export const localFirst: ScoringStrategy = (_task, candidate, estimate) => (candidate.local ? -1 : estimate.totalMs)

export const BUILTIN_STRATEGIES: Readonly<Record<Placement, ScoringStrategy>> = Object.freeze({
  fastest,
  cheapest,
  spread,
  'local-first': localFirst,
})

/** A score with near-ties broken at random: scores within `jitter` (a fraction) of each other compare in random
 *  order. Every submitter sees the same gossiped loads; without it they all picked the same "best" peer until its next
 *  profile (7.9x the ideal's mean response time with 10 submitters at 1,000 nodes in the simulation, 2.7x with it:
 *  docs/BENCHMARKS.md, simulation). Scores of 0 and below (local-first's own node) stay as they are. TaskService
 *  applies it to every strategy's score; the simulation calls it with its seeded random source. */
export function breakTies(score: number, random: () => number = Math.random, jitter: number = LIMITS.placementTieJitter): number {
  return score > 0 ? score * (1 + jitter * random()) : score
}

const STRATEGY_NAME = /^[a-z][a-z0-9-]{0,63}$/

/** Scoring strategies by name: the built-ins and whatever the app registers. One per scheduler, never global. */
export class StrategyRegistry {
  readonly #strategies = new Map<string, ScoringStrategy>(Object.entries(BUILTIN_STRATEGIES))

  /** Adds (or replaces) a strategy. Built-in names may be replaced too: an app can redefine what "cheapest" means. */
  register(name: string, strategy: ScoringStrategy): this {
    if (!STRATEGY_NAME.test(name)) {
      throw new NoodleError(
        'TASK_INVALID',
        `strategy name ${JSON.stringify(name)} is not allowed`,
        'Name it with lower-case letters, digits and "-", starting with a letter (at most 64 characters).',
      )
    }
    if (typeof strategy !== 'function') {
      throw new NoodleError(
        'TASK_INVALID',
        `strategy ${name} is not a function`,
        'Register a (task, candidate, estimate) => number function.',
      )
    }
    this.#strategies.set(name, strategy)
    return this
  }

  get(name: string): ScoringStrategy {
    const strategy = this.#strategies.get(name)
    if (strategy === undefined) {
      throw new NoodleError(
        'TASK_INVALID',
        `no placement strategy is called ${JSON.stringify(name)}`,
        `Use one of ${this.names().join(', ')}, or register it first.`,
      )
    }
    return strategy
  }

  has(name: string): boolean {
    return this.#strategies.has(name)
  }

  names(): string[] {
    return [...this.#strategies.keys()]
  }
}
