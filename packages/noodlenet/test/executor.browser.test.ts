// The CPU executor with real Web Workers in Chromium: the built-in kernels through the package's own worker entry
// (the Vite `new Worker(new URL(…))` pattern), and a kernel that throws or hangs failing only its own task.

import { CpuExecutor, wasmKernelId } from '@noodlenet/shared'
import { describe, expect, it } from 'vitest'
import { failure, startedExecutors } from '../../../shared/test/executor-support.js'
import { REVERSE_MODULE } from '../../../shared/test/wasm-modules.js'
import { createWebWorkerPool } from '../src/browser/exec/web-worker-pool.js'

const keep = startedExecutors()

function executor(withTestKernels: boolean): CpuExecutor {
  const pool = withTestKernels
    ? createWebWorkerPool({
        createWorker: () => new Worker(new URL('./support/test-kernel-worker.ts', import.meta.url), { type: 'module' }),
      })
    : createWebWorkerPool()
  return keep(new CpuExecutor({ pool, concurrency: 2 }))
}

describe('CpuExecutor on Web Workers', () => {
  it('runs built-in kernels and custom WebAssembly in the default worker entry', async () => {
    const target = executor(false)
    const [product, reversed] = await Promise.all([
      target.run({ kernel: 'matmul', input: { a: [[1, 2]], b: [[3], [4]] } }),
      target.run({ kernel: await wasmKernelId(REVERSE_MODULE), input: new Uint8Array([1, 2, 3]), module: REVERSE_MODULE }),
    ])
    expect(product.output).toEqual([[11]])
    expect(Array.from(reversed.output as Uint8Array)).toEqual([3, 2, 1])
    expect(target.stats()).toMatchObject({ completed: 2, failed: 0 })
  })

  it('a kernel that hangs is stopped by its timeout; one that throws fails with TASK_FAILED; good tasks finish', async () => {
    const target = executor(true)
    const hang = failure(target.run({ kernel: 'test-hang', input: {}, timeoutMs: 1_000 }))
    const thrown = failure(target.run({ kernel: 'test-throw', input: {} }))
    const good = target.run({ kernel: 'echo', input: { still: 'here' } })
    expect((await good).output).toEqual({ still: 'here' })
    const [hung, threw] = await Promise.all([hang, thrown])
    expect(hung.code).toBe('TASK_TIMEOUT')
    expect(threw.code).toBe('TASK_FAILED')
    expect(threw.message).toContain('the kernel broke')
    await expect(target.run({ kernel: 'delay', input: { ms: 10, value: 'after' } })).resolves.toMatchObject({ output: 'after' })
    expect(target.stats()).toMatchObject({ completed: 2, failed: 2 })
  })
})
