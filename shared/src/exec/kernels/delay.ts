// delay: waits `ms` milliseconds, then returns `value`. For testing deadlines, cancellation, queueing and placement
// with a task whose duration is known. Cancelling it ends the wait at once with TASK_ABORTED.

import * as v from 'valibot'
import { LIMITS } from '../../limits.js'
import type { CpuKernel, KernelContext } from '../kernel.js'
import { taskAborted } from './pacing.js'
import { parseInput, wholeNumber } from './validation.js'

/** `ms`: whole milliseconds, 0 to 60,000 (LIMITS.kernelDelayMaxMs). `value`: returned as is (null when absent). */
export interface DelayInput {
  ms: number
  value?: unknown
}
export type DelayOutput = unknown

const SHAPE = `{ms: a whole number of milliseconds from 0 to ${LIMITS.kernelDelayMaxMs}, value?: anything}`
const DelayInputSchema = v.object(
  {
    ms: wholeNumber(0, LIMITS.kernelDelayMaxMs, `a whole number of milliseconds from 0 to ${LIMITS.kernelDelayMaxMs} (60 s)`),
    value: v.optional(v.unknown()),
  },
  'must be an object {ms, value?}',
)

export const delayKernel: CpuKernel<DelayInput, DelayOutput> = {
  name: 'delay',
  level: 'PUBLIC',
  summary: `Waits ms milliseconds (at most ${LIMITS.kernelDelayMaxMs / 1000} s), then returns value.`,
  validate: (input) => parseInput('delay', DelayInputSchema, input, SHAPE),
  run: (input, context) => wait(input.ms, context).then(() => input.value ?? null),
  // It occupies a slot, not a core.
  estimateWork: () => 1,
}

function wait(ms: number, context: KernelContext): Promise<void> {
  const { signal } = context
  if (signal.aborted) return Promise.reject(taskAborted('delay', signal.reason))
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(taskAborted('delay', signal.reason))
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      context.progress(1)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
