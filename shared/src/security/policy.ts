// The policy engine: the operator's ordered rules (config security.rules) decide whether this node serves a request.
// The first rule that matches decides; a rate rule only refuses requests over its rate and lets the others through
// to the next rule; when no rule matches, PUBLIC requests are allowed and anything above PUBLIC is denied.
// Pure logic: the clock is injected, and no request reaches the network or the file system from here.

import { type PolicyRule, WEEKDAYS } from '../config/schema.js'
import { LIMITS } from '../limits.js'
import { commandCovers } from './capability.js'
import { levelRank, type SecurityLevel } from './levels.js'

export type { PolicyRule } from '../config/schema.js'

/** Why a request was refused, for programs: a rule (or the default) denied it, or the peer is over a rate. */
export type PolicyCode = 'POLICY_DENIED' | 'RATE_LIMITED'

export interface PolicyRequest {
  /** The requesting peer. */
  peer: string
  command: string
  kernel?: string
  level: SecurityLevel
  /** The root issuer of the request's capability chain, when it carried one that verified. */
  issuer?: string
  resources?: { cpu?: number; memoryMB?: number; gpu?: boolean }
  /** Requests this one counts as for rate rules (a batch of tasks); 1 when absent. */
  count?: number
}

export interface PolicyDecision {
  effect: 'allow' | 'deny'
  /** Set on every deny. */
  code?: PolicyCode
  /** The rule that decided: its name, or `rule #N` (1-based). Absent when no rule matched. */
  rule?: string
  /** A sentence for the person who reads the log or the error. */
  reason: string
  /** RATE_LIMITED only: when the peer's next request would be within the rate. */
  retryAfterMs?: number
}

export interface PolicyEngineOptions {
  /** Milliseconds since the epoch; time windows and rates read it. */
  now?: () => number
}

interface CompiledRule {
  rule: PolicyRule
  /** How decisions name it: `rule 'name'` or `rule #N`. */
  label: string
  /** The `rule` field of a decision: the name or `rule #N`. */
  id: string
  window?: { from: number; to: number; days?: ReadonlySet<number> }
  limiter?: RateLimiter
}

export class PolicyEngine {
  private readonly rules: CompiledRule[]
  private readonly now: () => number

  constructor(rules: readonly PolicyRule[], options: PolicyEngineOptions = {}) {
    this.now = options.now ?? Date.now
    this.rules = rules.map((rule, index) => {
      const id = rule.name ?? `rule #${index + 1}`
      const compiled: CompiledRule = { rule, id, label: rule.name === undefined ? id : `rule '${rule.name}'` }
      if (rule.time !== undefined) {
        compiled.window = {
          from: minutesOf(rule.time.from),
          to: minutesOf(rule.time.to),
          days: rule.time.days === undefined ? undefined : new Set(rule.time.days.map((day) => WEEKDAYS.indexOf(day))),
        }
      }
      if (rule.rate !== undefined)
        compiled.limiter = new RateLimiter(rule.rate.requests, rule.rate.perSeconds * 1000, LIMITS.policyRatePeers)
      return compiled
    })
  }

  evaluate(request: PolicyRequest): PolicyDecision {
    const now = this.now()
    for (const compiled of this.rules) {
      if (!matches(compiled, request, now)) continue
      const { rule, label, id } = compiled
      if (compiled.limiter !== undefined) {
        const waitMs = compiled.limiter.take(request.peer, now, request.count)
        if (waitMs === 0) continue
        const { requests, perSeconds } = rule.rate!
        const limit = `at most ${requests} request${requests === 1 ? '' : 's'} per ${perSeconds} s from each peer`
        return {
          effect: 'deny',
          code: 'RATE_LIMITED',
          rule: id,
          reason: `rate limited by ${label}: ${rule.reason ?? limit}; retry in ${Math.ceil(waitMs / 1000)} s`,
          retryAfterMs: Math.ceil(waitMs),
        }
      }
      const verb = rule.effect === 'allow' ? 'allowed' : 'denied'
      const why = rule.reason ?? `it matches ${describeConditions(rule)}`
      const reason = `${verb} by ${label}: ${why}`
      return rule.effect === 'allow' ? { effect: 'allow', rule: id, reason } : { effect: 'deny', code: 'POLICY_DENIED', rule: id, reason }
    }
    if (request.level === 'PUBLIC') {
      return { effect: 'allow', reason: 'allowed: no rule in security.rules matches, and PUBLIC requests are allowed by default' }
    }
    const example = JSON.stringify({ effect: 'allow', commands: [request.command], maxLevel: request.level })
    return {
      effect: 'deny',
      code: 'POLICY_DENIED',
      reason:
        `denied: no rule in security.rules allows ${request.command} at ${request.level}, and requests above PUBLIC are ` +
        `denied by default; to allow it, add a rule such as ${example} (narrowed with peers or issuers)`,
    }
  }
}

function matches({ rule, window }: CompiledRule, request: PolicyRequest, now: number): boolean {
  if (rule.commands !== undefined && !rule.commands.some((prefix) => commandCovers(prefix, request.command))) return false
  if (rule.kernels !== undefined && (request.kernel === undefined || !rule.kernels.includes(request.kernel))) return false
  if (rule.maxLevel !== undefined && levelRank(request.level) > levelRank(rule.maxLevel)) return false
  if (rule.minLevel !== undefined && levelRank(request.level) < levelRank(rule.minLevel)) return false
  if (rule.peers !== undefined && !rule.peers.includes(request.peer)) return false
  if (rule.issuers !== undefined && (request.issuer === undefined || !rule.issuers.includes(request.issuer))) return false
  if (window !== undefined && !inWindow(window, now)) return false
  const limits = rule.resources
  if (limits !== undefined) {
    const asked = request.resources ?? {}
    if (limits.maxCpu !== undefined && (asked.cpu ?? 0) > limits.maxCpu) return false
    if (limits.maxMemoryMB !== undefined && (asked.memoryMB ?? 0) > limits.maxMemoryMB) return false
    if (limits.gpu !== undefined && (asked.gpu === true) !== limits.gpu) return false
  }
  return true
}

function minutesOf(clock: string): number {
  const [hours, minutes] = clock.split(':').map(Number)
  return hours * 60 + minutes
}

/** A window that wraps past midnight (22:00-06:00) belongs to the day it starts on: Monday's night runs into
 *  Tuesday morning, so at 02:00 on Tuesday `days: ['mon']` matches. */
function inWindow(window: NonNullable<CompiledRule['window']>, now: number): boolean {
  const date = new Date(now)
  const minute = date.getUTCHours() * 60 + date.getUTCMinutes()
  let day = date.getUTCDay()
  if (window.from < window.to) {
    if (minute < window.from || minute >= window.to) return false
  } else if (minute < window.to) {
    day = (day + 6) % 7
  } else if (minute < window.from) {
    return false
  }
  return window.days === undefined || window.days.has(day)
}

function clock(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`
}

/** The rule's conditions in words, for decisions on rules that give no reason of their own. */
function describeConditions(rule: PolicyRule): string {
  const parts: string[] = []
  const list = (items: readonly string[]): string =>
    items.length <= 3 ? items.join(', ') : `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`
  if (rule.commands !== undefined) parts.push(`commands ${list(rule.commands)}`)
  if (rule.kernels !== undefined) parts.push(`kernels ${list(rule.kernels)}`)
  if (rule.minLevel !== undefined && rule.maxLevel !== undefined) parts.push(`levels ${rule.minLevel} to ${rule.maxLevel}`)
  else if (rule.maxLevel !== undefined) parts.push(`level ${rule.maxLevel} or below`)
  else if (rule.minLevel !== undefined) parts.push(`level ${rule.minLevel} or above`)
  if (rule.peers !== undefined) parts.push(`requests from ${list(rule.peers)}`)
  if (rule.issuers !== undefined) parts.push(`capabilities issued by ${list(rule.issuers)}`)
  if (rule.time !== undefined) {
    const days = rule.time.days === undefined ? '' : ` (starting on ${rule.time.days.join(', ')})`
    parts.push(`between ${clock(minutesOf(rule.time.from))} and ${clock(minutesOf(rule.time.to))} UTC${days}`)
  }
  const resources = rule.resources
  if (resources?.gpu !== undefined) parts.push(resources.gpu ? 'requests that need a GPU' : 'requests that need no GPU')
  if (resources?.maxCpu !== undefined) parts.push(`at most ${resources.maxCpu} CPU cores`)
  if (resources?.maxMemoryMB !== undefined) parts.push(`at most ${resources.maxMemoryMB} MB of memory`)
  return parts.length === 0 ? 'every request' : parts.join(', ')
}

/** Per-peer rate as a token bucket in GCRA form: one number per peer, the time at which its bucket would be
 *  empty again ("theoretical arrival time"). A peer whose time has passed has a full bucket, the same as one never
 *  seen, so forgetting it loses nothing; the map is capped and forgets the least recently seen peer first. */
export class RateLimiter {
  private readonly tat = new Map<string, number>()
  private readonly intervalMs: number
  private readonly burstMs: number

  constructor(
    requests: number,
    periodMs: number,
    private readonly maxPeers: number,
  ) {
    this.intervalMs = periodMs / requests
    this.burstMs = periodMs - this.intervalMs
  }

  /** Counts `count` requests from `peer` at `now` (all or none): 0 when within the rate, else the milliseconds until
   *  they would be. More than the rate's whole burst never fits at once: send them one by one. */
  take(peer: string, now: number, count = 1): number {
    const previous = this.tat.get(peer)
    const start = previous === undefined || previous < now ? now : previous
    const waitMs = start + (count - 1) * this.intervalMs - this.burstMs - now
    if (waitMs > 0) return waitMs
    this.tat.delete(peer)
    this.forgetIdle(now)
    this.tat.set(peer, start + count * this.intervalMs)
    return 0
  }

  get trackedPeers(): number {
    return this.tat.size
  }

  /** Drops peers from the least recently seen end: all whose bucket has refilled, then, at the cap, the oldest. */
  private forgetIdle(now: number): void {
    for (const [peer, tat] of this.tat) {
      if (tat > now && this.tat.size < this.maxPeers) break
      this.tat.delete(peer)
    }
  }
}
