// The policy engine as a specification: rules from the config's security.rules, in order, first match decides;
// each condition narrows what a rule matches; time windows are UTC and may wrap past midnight; a rate rule refuses
// a peer over its rate and lets the rest through to the next rule; with no matching rule PUBLIC is allowed and
// anything above it is denied, with a reason that says how to allow it.

import { describe, expect, it } from 'vitest'
import { LIMITS, NoodleError, type PolicyDecision, PolicyEngine, type PolicyRequest, RateLimiter, resolveConfig } from '../src/index.js'

const ALICE = '12D3KooWD9jk64NrpygXV6VXQYSnXeLPFhywDGgB5p7apEoK7sKC'
const BOB = '12D3KooWN9upN3sZnpfctXFfQKDBQb3ciY7w6yXxYdD7vPreQAbk'
const ROOT = '12D3KooWNEkHSU3SuUh38cPYstJMJHvbuEWLYRucj5JvXxg2HZUs'

/** Rules as an operator writes them in a config file, loaded through the config schema. */
function rulesFrom(rules: unknown[]) {
  return resolveConfig([{ source: 'test', values: { security: { rules } } }]).security.rules
}

/** A clock the test moves by hand. */
class Clock {
  constructor(public ms: number) {}
  readonly now = (): number => this.ms
  advance(ms: number): void {
    this.ms += ms
  }
}

function engine(rules: unknown[], clock = new Clock(Date.UTC(2026, 0, 5, 12, 0))): PolicyEngine {
  return new PolicyEngine(rulesFrom(rules), { now: clock.now })
}

function request(overrides: Partial<PolicyRequest> = {}): PolicyRequest {
  return { peer: ALICE, command: '/task/run', level: 'INTERNAL', ...overrides }
}

/** Which rule decided ('default' when none did), and how. */
function outcome(decision: PolicyDecision): string {
  return `${decision.effect}:${decision.rule ?? 'default'}`
}

describe('rule order', () => {
  it('the first matching rule decides, and later rules are not consulted', () => {
    const allowFirst = engine([
      { name: 'allow-tasks', effect: 'allow', commands: ['/task'] },
      { name: 'deny-all', effect: 'deny' },
    ])
    expect(outcome(allowFirst.evaluate(request()))).toBe('allow:allow-tasks')
    const denyFirst = engine([
      { name: 'deny-all', effect: 'deny' },
      { name: 'allow-tasks', effect: 'allow', commands: ['/task'] },
    ])
    const decision = denyFirst.evaluate(request())
    expect(decision).toMatchObject({ effect: 'deny', code: 'POLICY_DENIED', rule: 'deny-all' })
  })

  it('a rule that does not match passes the request on; unnamed rules are called rule #N', () => {
    const policy = engine([
      { effect: 'deny', commands: ['/admin'] },
      { effect: 'allow', commands: ['/task'] },
    ])
    expect(outcome(policy.evaluate(request()))).toBe('allow:rule #2')
    expect(outcome(policy.evaluate(request({ command: '/admin/keys' })))).toBe('deny:rule #1')
  })
})

describe('conditions', () => {
  it('commands are path prefixes by whole segments: /task covers /task/run, not /tasks', () => {
    const policy = engine([{ effect: 'allow', commands: ['/task', '/kernel/list'] }])
    expect(policy.evaluate(request({ command: '/task' })).effect).toBe('allow')
    expect(policy.evaluate(request({ command: '/task/run/batch' })).effect).toBe('allow')
    expect(policy.evaluate(request({ command: '/kernel/list' })).effect).toBe('allow')
    expect(policy.evaluate(request({ command: '/tasks' })).effect).toBe('deny')
    expect(policy.evaluate(request({ command: '/kernel/load' })).effect).toBe('deny')
    expect(engine([{ effect: 'allow', commands: ['/'] }]).evaluate(request({ command: '/anything/at/all' })).effect).toBe('allow')
  })

  it('kernels match the named kernels only; a request without a kernel is not matched', () => {
    const policy = engine([{ effect: 'allow', kernels: ['matmul', 'fft'] }])
    expect(policy.evaluate(request({ kernel: 'fft' })).effect).toBe('allow')
    expect(policy.evaluate(request({ kernel: 'sha-miner' })).effect).toBe('deny')
    expect(policy.evaluate(request()).effect).toBe('deny')
  })

  it('maxLevel matches at or below it, minLevel at or above it; level names are case-insensitive', () => {
    const policy = engine([
      { name: 'secret-and-up', effect: 'deny', minLevel: 'secret' },
      { name: 'up-to-confidential', effect: 'allow', maxLevel: 'Confidential' },
    ])
    expect(outcome(policy.evaluate(request({ level: 'INTERNAL' })))).toBe('allow:up-to-confidential')
    expect(outcome(policy.evaluate(request({ level: 'CONFIDENTIAL' })))).toBe('allow:up-to-confidential')
    expect(outcome(policy.evaluate(request({ level: 'SECRET' })))).toBe('deny:secret-and-up')
    expect(outcome(policy.evaluate(request({ level: 'CRITICAL' })))).toBe('deny:secret-and-up')
    const band = engine([{ name: 'band', effect: 'allow', minLevel: 'INTERNAL', maxLevel: 'CONFIDENTIAL' }])
    expect(outcome(band.evaluate(request({ level: 'SECRET' })))).toBe('deny:default')
    expect(outcome(band.evaluate(request({ level: 'CONFIDENTIAL' })))).toBe('allow:band')
  })

  it('peers names the requesting peer', () => {
    const policy = engine([{ effect: 'allow', peers: [ALICE] }])
    expect(policy.evaluate(request({ peer: ALICE })).effect).toBe('allow')
    expect(policy.evaluate(request({ peer: BOB })).effect).toBe('deny')
  })

  it('issuers names the root of a verified capability chain; a request without one is not matched', () => {
    const policy = engine([{ effect: 'allow', issuers: [ROOT], maxLevel: 'SECRET' }])
    expect(policy.evaluate(request({ issuer: ROOT, level: 'SECRET' })).effect).toBe('allow')
    expect(policy.evaluate(request({ issuer: BOB, level: 'SECRET' })).effect).toBe('deny')
    expect(policy.evaluate(request({ level: 'SECRET' })).effect).toBe('deny')
  })

  it('resources: maxCpu and maxMemoryMB bound what a request asks; gpu picks requests that do or do not need one', () => {
    const small = engine([{ effect: 'allow', resources: { maxCpu: 4, maxMemoryMB: 2048 } }])
    expect(small.evaluate(request({ resources: { cpu: 4, memoryMB: 2048 } })).effect).toBe('allow')
    expect(small.evaluate(request({ resources: { cpu: 5 } })).effect).toBe('deny')
    expect(small.evaluate(request({ resources: { memoryMB: 4096 } })).effect).toBe('deny')
    // A request that states no resources asks for none.
    expect(small.evaluate(request()).effect).toBe('allow')

    const gpu = engine([
      { name: 'gpu', effect: 'deny', resources: { gpu: true } },
      { name: 'cpu-only', effect: 'allow', resources: { gpu: false } },
    ])
    expect(outcome(gpu.evaluate(request({ resources: { gpu: true } })))).toBe('deny:gpu')
    expect(outcome(gpu.evaluate(request({ resources: { gpu: false } })))).toBe('allow:cpu-only')
    expect(outcome(gpu.evaluate(request()))).toBe('allow:cpu-only')
  })

  it('every condition of a rule must hold', () => {
    const policy = engine([
      { name: 'narrow', effect: 'allow', commands: ['/task'], kernels: ['fft'], peers: [ALICE], maxLevel: 'INTERNAL' },
    ])
    const match = request({ kernel: 'fft' })
    expect(outcome(policy.evaluate(match))).toBe('allow:narrow')
    for (const miss of [{ command: '/admin' }, { kernel: 'matmul' }, { peer: BOB }, { level: 'SECRET' as const }]) {
      expect(outcome(policy.evaluate({ ...match, ...miss }))).toBe('deny:default')
    }
  })
})

describe('time windows (UTC)', () => {
  /** 2026-01-05 is a Monday. */
  const at = (day: number, hours: number, minutes = 0) => new Clock(Date.UTC(2026, 0, 5 + day, hours, minutes))
  const MON = 0
  const TUE = 1
  const SAT = 5

  function matchesAt(rule: Record<string, unknown>, clock: Clock): boolean {
    return engine([{ name: 'window', effect: 'allow', ...rule }], clock).evaluate(request()).rule === 'window'
  }

  it('a daytime window includes its start and excludes its end', () => {
    const rule = { time: { from: '09:00', to: '17:00' } }
    expect(matchesAt(rule, at(MON, 8, 59))).toBe(false)
    expect(matchesAt(rule, at(MON, 9, 0))).toBe(true)
    expect(matchesAt(rule, at(MON, 16, 59))).toBe(true)
    expect(matchesAt(rule, at(MON, 17, 0))).toBe(false)
  })

  it('a window from 22:00 to 06:00 wraps past midnight', () => {
    const rule = { time: { from: '22:00', to: '06:00' } }
    expect(matchesAt(rule, at(MON, 21, 59))).toBe(false)
    expect(matchesAt(rule, at(MON, 22, 0))).toBe(true)
    expect(matchesAt(rule, at(MON, 23, 59))).toBe(true)
    expect(matchesAt(rule, at(TUE, 0, 0))).toBe(true)
    expect(matchesAt(rule, at(TUE, 5, 59))).toBe(true)
    expect(matchesAt(rule, at(TUE, 6, 0))).toBe(false)
    expect(matchesAt(rule, at(TUE, 12, 0))).toBe(false)
  })

  it('days name the day a window starts on, so Monday night runs into Tuesday morning', () => {
    const night = { time: { from: '22:00', to: '06:00', days: ['mon'] } }
    expect(matchesAt(night, at(MON, 23, 0))).toBe(true)
    expect(matchesAt(night, at(TUE, 2, 0))).toBe(true)
    expect(matchesAt(night, at(MON, 2, 0))).toBe(false) // Sunday night's window
    expect(matchesAt(night, at(TUE, 23, 0))).toBe(false)
    const weekend = { time: { from: '00:00', to: '23:59', days: ['SAT', 'sun'] } }
    expect(matchesAt(weekend, at(SAT, 10, 0))).toBe(true)
    expect(matchesAt(weekend, at(MON, 10, 0))).toBe(false)
  })

  it("a rule's reason is what the person refused reads", () => {
    const policy = engine(
      [
        {
          name: 'no-gpu-at-night',
          effect: 'deny',
          resources: { gpu: true },
          time: { from: '22:00', to: '06:00' },
          reason: 'GPU tasks are not run between 22:00 and 06:00 UTC',
        },
        { effect: 'allow' },
      ],
      at(MON, 23, 30),
    )
    expect(policy.evaluate(request({ resources: { gpu: true } }))).toEqual({
      effect: 'deny',
      code: 'POLICY_DENIED',
      rule: 'no-gpu-at-night',
      reason: "denied by rule 'no-gpu-at-night': GPU tasks are not run between 22:00 and 06:00 UTC",
    })
  })
})

describe('rate limits', () => {
  const limited = (clock: Clock, rest: unknown[] = [{ effect: 'allow' }]) =>
    engine([{ name: 'burst', effect: 'deny', commands: ['/task'], rate: { requests: 3, perSeconds: 30 } }, ...rest], clock)

  it('a peer over the rate is refused with RATE_LIMITED and told when to retry', () => {
    const clock = new Clock(0)
    const policy = limited(clock)
    for (let i = 0; i < 3; i++) expect(outcome(policy.evaluate(request()))).toBe('allow:rule #2')
    const refused = policy.evaluate(request())
    expect(refused).toMatchObject({ effect: 'deny', code: 'RATE_LIMITED', rule: 'burst', retryAfterMs: 10_000 })
    expect(refused.reason).toBe("rate limited by rule 'burst': at most 3 requests per 30 s from each peer; retry in 10 s")
    // The allowance refills at 3 per 30 s: one request every 10 s.
    clock.advance(9_999)
    expect(policy.evaluate(request()).code).toBe('RATE_LIMITED')
    clock.advance(1)
    expect(policy.evaluate(request()).effect).toBe('allow')
    expect(policy.evaluate(request()).code).toBe('RATE_LIMITED')
  })

  it('each peer has its own allowance', () => {
    const policy = limited(new Clock(0))
    for (let i = 0; i < 3; i++) policy.evaluate(request({ peer: ALICE }))
    expect(policy.evaluate(request({ peer: ALICE })).code).toBe('RATE_LIMITED')
    expect(policy.evaluate(request({ peer: BOB })).effect).toBe('allow')
  })

  it('within the rate the request goes on to the next rule, which decides', () => {
    const policy = limited(new Clock(0), [{ name: 'internal-only', effect: 'allow', maxLevel: 'INTERNAL' }])
    expect(outcome(policy.evaluate(request({ level: 'INTERNAL' })))).toBe('allow:internal-only')
    expect(policy.evaluate(request({ level: 'SECRET' }))).toMatchObject({ effect: 'deny', code: 'POLICY_DENIED' })
    expect(policy.evaluate(request({ level: 'SECRET' })).rule).toBeUndefined()
  })

  it("counts only the requests the rule's conditions cover", () => {
    const policy = limited(new Clock(0))
    for (let i = 0; i < 10; i++) expect(policy.evaluate(request({ command: '/kernel/list' })).effect).toBe('allow')
    for (let i = 0; i < 3; i++) expect(policy.evaluate(request()).effect).toBe('allow')
    expect(policy.evaluate(request()).code).toBe('RATE_LIMITED')
  })

  it('remembers a bounded number of peers, forgetting the least recently seen first', () => {
    const limiter = new RateLimiter(1, 60_000, 100)
    for (let i = 0; i < 1_000; i++) expect(limiter.take(`peer-${i}`, 0)).toBe(0)
    expect(limiter.trackedPeers).toBe(100)
    // The most recent peers are still limited; the first ones were forgotten.
    expect(limiter.take('peer-999', 1)).toBeGreaterThan(0)
    expect(limiter.take('peer-0', 1)).toBe(0)
    // Peers whose allowance has refilled are dropped as soon as they are reached.
    expect(limiter.take('late', 120_000)).toBe(0)
    expect(limiter.trackedPeers).toBeLessThanOrEqual(100)
    expect(LIMITS.policyRatePeers).toBeGreaterThan(0)
  })

  it('a request that stands for several (a task batch) takes as many from the allowance, all or none', () => {
    const clock = new Clock(0)
    const policy = limited(clock)
    expect(outcome(policy.evaluate(request({ count: 2 })))).toBe('allow:rule #2')
    // One left: a batch of two does not fit and takes nothing; a single request still does.
    expect(policy.evaluate(request({ count: 2 }))).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 10_000 })
    expect(policy.evaluate(request()).effect).toBe('allow')
    // More than the whole burst never fits at once.
    clock.advance(60_000)
    expect(policy.evaluate(request({ count: 4 })).code).toBe('RATE_LIMITED')
    expect(policy.evaluate(request({ count: 3 })).effect).toBe('allow')
  })

  it('a peer that keeps asking while refused does not push its retry time further out', () => {
    const limiter = new RateLimiter(1, 1_000, 10)
    expect(limiter.take(ALICE, 0)).toBe(0)
    for (let t = 1; t < 1_000; t += 100) expect(limiter.take(ALICE, t)).toBe(1_000 - t)
    expect(limiter.take(ALICE, 1_000)).toBe(0)
  })
})

describe('no matching rule', () => {
  it('PUBLIC requests are allowed by default', () => {
    const decision = engine([]).evaluate(request({ level: 'PUBLIC' }))
    expect(decision.effect).toBe('allow')
    expect(decision.rule).toBeUndefined()
    expect(decision.reason).toMatch(/PUBLIC requests are allowed by default/)
  })

  it('anything above PUBLIC is denied by default, with a reason that says how to allow it', () => {
    const decision = engine([{ effect: 'allow', commands: ['/kernel'] }]).evaluate(request({ command: '/task/run', level: 'CONFIDENTIAL' }))
    expect(decision.effect).toBe('deny')
    expect(decision.code).toBe('POLICY_DENIED')
    expect(decision.rule).toBeUndefined()
    expect(decision.reason).toMatch(/^denied: no rule in security\.rules allows \/task\/run at CONFIDENTIAL/)
    expect(decision.reason).toMatch(/above PUBLIC are denied by default/)
    expect(decision.reason).toContain('{"effect":"allow","commands":["/task/run"],"maxLevel":"CONFIDENTIAL"}')
    // The suggested rule does what the reason says.
    const suggested = JSON.parse(/\{.*\}/.exec(decision.reason)![0]) as Record<string, unknown>
    expect(engine([suggested]).evaluate(request({ command: '/task/run', level: 'CONFIDENTIAL' })).effect).toBe('allow')
  })

  it('a rule without a reason of its own is described in the decision', () => {
    const decision = engine([{ effect: 'deny', commands: ['/task'], maxLevel: 'INTERNAL', resources: { gpu: true } }]).evaluate(
      request({ resources: { gpu: true } }),
    )
    expect(decision.reason).toBe('denied by rule #1: it matches commands /task, level INTERNAL or below, requests that need a GPU')
  })
})

describe('rules in the config file', () => {
  function configError(rules: unknown[]): string {
    try {
      rulesFrom(rules)
    } catch (err) {
      expect(err).toBeInstanceOf(NoodleError)
      expect((err as NoodleError).code).toBe('CONFIG_INVALID')
      expect((err as NoodleError).message).not.toMatch(/[\r\n]/)
      return (err as NoodleError).message
    }
    throw new Error('expected CONFIG_INVALID, but the rules were accepted')
  }

  it.each([
    [[{ effect: 'maybe' }], /security\.rules\.0\.effect = "maybe" .*: must be "allow" or "deny"/],
    [[{ effect: 'deny', comands: ['/task'] }], /security\.rules\.0\.comands = .*not a known setting/],
    [
      [{ effect: 'deny', commands: [] }],
      /security\.rules\.0\.commands = \[\] .*non-empty list of command paths \(leave the key out to match any\)/,
    ],
    [[{ effect: 'deny', commands: ['task'] }], /security\.rules\.0\.commands\.0 = "task" .*a command path such as \/task/],
    [[{ effect: 'allow' }, { effect: 'deny', peers: ['not-a-peer'] }], /security\.rules\.1\.peers\.0 = "not-a-peer" .*a peer id/],
    [[{ effect: 'deny', maxLevel: 'TOP' }], /security\.rules\.0\.maxLevel = "TOP" .*one of PUBLIC, INTERNAL/],
    [
      [{ effect: 'deny', minLevel: 'SECRET', maxLevel: 'INTERNAL' }],
      /minLevel = "SECRET" .*at or below maxLevel, or the rule matches no request/,
    ],
    [[{ effect: 'deny', time: { from: '9:00', to: '17:00' } }], /time\.from = "9:00" .*HH:MM/],
    [[{ effect: 'deny', time: { from: '09:00', to: '09:00' } }], /time\.to = "09:00" .*a time other than from/],
    [[{ effect: 'deny', time: { from: '09:00', to: '17:00', days: ['monday'] } }], /time\.days\.0 = "monday" .*one of sun, mon/],
    [[{ effect: 'deny', rate: { requests: 0, perSeconds: 1 } }], /rate\.requests = 0 .*an integer from 1/],
    [[{ effect: 'deny', rate: { requests: 1, perSeconds: 0 } }], /rate\.perSeconds = 0 .*above 0/],
    [[{ effect: 'allow', rate: { requests: 5, perSeconds: 1 } }], /security\.rules\.0\.effect = "allow" .*"deny" in a rule with a rate/],
    [[{ effect: 'deny', resources: { gpu: 'yes' } }], /resources\.gpu = "yes" .*true \(requests that need a GPU\) or false/],
  ])('%j is refused with one line naming the field', (rules, expected) => {
    expect(configError(rules)).toMatch(expected)
  })

  it(`more than ${LIMITS.policyMaxRules} rules are refused`, () => {
    expect(configError(Array.from({ length: LIMITS.policyMaxRules + 1 }, () => ({ effect: 'deny' })))).toMatch(/at most 1000 policy rules/)
  })
})
