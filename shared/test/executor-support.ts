// Helpers for the executor tests in every project (shared/test, node/test, packages/noodlenet/test).

import { afterEach } from 'vitest'
import { type CpuExecutor, isNoodleError, type NoodleError } from '../src/index.js'

/** The NoodleError a task failed with; throws if it succeeded or failed with anything else. */
export async function failure(promise: Promise<unknown>): Promise<NoodleError> {
  try {
    await promise
  } catch (err) {
    if (isNoodleError(err)) return err
    throw err
  }
  throw new Error('expected the task to fail')
}

/** Returns `keep(executor)`: starts an executor and stops it after the current test. */
export function startedExecutors(): (executor: CpuExecutor) => CpuExecutor {
  let executors: CpuExecutor[] = []
  afterEach(() => {
    for (const executor of executors) executor.stop()
    executors = []
  })
  return (executor) => {
    executor.start()
    executors.push(executor)
    return executor
  }
}
