// What a vitest test file needs from 'vitest' (describe, it, it.skip, afterAll, expect), for running such a file in
// a bundle on a machine that has Node and nothing else (bench/gpu-check: the kernel suite on a real GPU). expect is
// vitest's own (@vitest/expect's Jest matchers on chai, set up as vitest does); the runner is plain: the tests run
// one after another in the order they were declared, and a failure is recorded, not thrown.

import { chai, JestAsymmetricMatchers, JestChaiExpect, JestExtend } from '@vitest/expect'

chai.use(JestExtend)
chai.use(JestChaiExpect)
chai.use(JestAsymmetricMatchers)

type Body = () => unknown

interface Declared {
  name: string
  body?: Body
  timeoutMs: number
}

const DEFAULT_TIMEOUT_MS = 60_000
const declared: Declared[] = []
const cleanups: Body[] = []
const path: string[] = []

export const expect = Object.assign((value: unknown, message?: string) => chai.expect(value, message), chai.expect)

export function describe(name: string, body: () => void): void {
  path.push(name)
  try {
    body()
  } finally {
    path.pop()
  }
}

export const it = Object.assign(
  (name: string, body: Body, timeoutMs = DEFAULT_TIMEOUT_MS): void => {
    declared.push({ name: [...path, name].join(' › '), body, timeoutMs })
  },
  {
    skip: (name: string, _body?: Body): void => {
      declared.push({ name: [...path, name].join(' › '), timeoutMs: 0 })
    },
  },
)

export const test = it

export function afterAll(body: Body): void {
  cleanups.push(body)
}

export interface Outcome {
  name: string
  result: 'passed' | 'failed' | 'skipped'
  ms: number
  error?: string
}

/** Runs every test declared so far, then the afterAll hooks; `onOutcome` hears each test as it ends. */
export async function runDeclared(onOutcome: (outcome: Outcome) => void = () => {}): Promise<Outcome[]> {
  const outcomes: Outcome[] = []
  for (const { name, body, timeoutMs } of declared.splice(0)) {
    const started = performance.now()
    let outcome: Outcome
    if (body === undefined) outcome = { name, result: 'skipped', ms: 0 }
    else {
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          Promise.resolve().then(body),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)
          }),
        ])
        outcome = { name, result: 'passed', ms: performance.now() - started }
      } catch (err) {
        outcome = { name, result: 'failed', ms: performance.now() - started, error: err instanceof Error ? err.message : String(err) }
      } finally {
        clearTimeout(timer)
      }
    }
    outcomes.push(outcome)
    onOutcome(outcome)
  }
  for (const cleanup of cleanups.splice(0)) await cleanup()
  return outcomes
}
