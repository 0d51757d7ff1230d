// The CPU executor with real worker_threads: a kernel that throws, one that loops forever, one that exits its worker,
// one that throws at the worker's top level and one that runs out of heap each fail only their own task while good
// tasks beside them finish; custom WebAssembly kernels travel by hash, and a looping or memory-hungry one is stopped.

import { CpuExecutor, type ExecutorResult, wasmKernelId } from '@noodlenet/shared'
import { describe, expect, it } from 'vitest'
import { failure, startedExecutors } from '../../shared/test/executor-support.js'
import { GROW_MODULE, IMPORT_MODULE, LOOP_MODULE, REVERSE_MODULE } from '../../shared/test/wasm-modules.js'
import { createNodeWorkerPool } from '../src/exec/node-worker-pool.js'

const TEST_KERNELS = new URL('./support/test-kernels.ts', import.meta.url)
// Worker start-up (tsx compiling the kernel sources) is slow on a busy 2-core machine; these bound only failures.
const TIMEOUT = 60_000

const keep = startedExecutors()

function executor(concurrency = 2, heapMb?: number): CpuExecutor {
  return keep(new CpuExecutor({ pool: createNodeWorkerPool({ kernelsModule: TEST_KERNELS, heapMb }), concurrency }))
}

/** Good tasks that keep the other worker busy while a bad one runs. */
function goodTasks(target: CpuExecutor): Promise<ExecutorResult>[] {
  return [
    target.run({ kernel: 'matmul', input: { a: [[1, 2]], b: [[3], [4]] } }),
    target.run({ kernel: 'delay', input: { ms: 50, value: 'waited' } }),
    target.run({ kernel: 'echo', input: new Float64Array([1.5, 2.5]) }),
  ]
}

async function expectGood(tasks: Promise<ExecutorResult>[]): Promise<void> {
  const [product, waited, echoed] = await Promise.all(tasks)
  expect(product.output).toEqual([[11]])
  expect(waited.output).toBe('waited')
  expect(Array.from(echoed.output as Float64Array)).toEqual([1.5, 2.5])
}

describe('CpuExecutor on worker_threads', () => {
  it(
    'a kernel that throws fails its own task with TASK_FAILED; its worker lives on',
    async () => {
      const target = executor()
      const bad = failure(target.run({ kernel: 'test-throw', input: {} }))
      await expectGood(goodTasks(target))
      const error = await bad
      expect(error.code).toBe('TASK_FAILED')
      expect(error.message).toContain('the kernel broke')
      expect(target.stats()).toMatchObject({ completed: 3, failed: 1, workers: 2 })
    },
    TIMEOUT,
  )

  it(
    'a kernel that loops forever is stopped by its timeout (TASK_TIMEOUT); the next task runs on a fresh worker',
    async () => {
      const target = executor()
      const hang = failure(target.run({ kernel: 'test-hang', input: {}, timeoutMs: 1_000 }))
      await expectGood(goodTasks(target))
      const error = await hang
      expect(error.code).toBe('TASK_TIMEOUT')
      await expectGood(goodTasks(target))
      expect(target.stats()).toMatchObject({ completed: 6, failed: 1 })
    },
    TIMEOUT,
  )

  it(
    'a kernel that exits its worker, or throws at its top level, fails its own task with KERNEL_CRASHED',
    async () => {
      const target = executor()
      const exit = failure(target.run({ kernel: 'test-exit', input: {} }))
      const uncaught = failure(target.run({ kernel: 'test-uncaught', input: {} }))
      await expectGood(goodTasks(target))
      const [exited, thrown] = await Promise.all([exit, uncaught])
      expect(exited.code).toBe('KERNEL_CRASHED')
      expect(exited.message).toContain('exited with code 3')
      expect(thrown.code).toBe('KERNEL_CRASHED')
      expect(thrown.message).toContain('thrown at the top level')
      await expectGood(goodTasks(target))
    },
    TIMEOUT,
  )

  it(
    'a kernel that runs out of heap fails its own task with KERNEL_CRASHED (the worker heap is limited)',
    async () => {
      const target = executor(2, 64)
      const oom = failure(target.run({ kernel: 'test-oom', input: {} }))
      await expectGood(goodTasks(target))
      const error = await oom
      expect(error.code).toBe('KERNEL_CRASHED')
      expect(error.message).toContain('ran out of memory')
      await expectGood(goodTasks(target))
    },
    TIMEOUT,
  )

  it(
    "moves typed arrays to the worker without a copy when asked (the caller's buffer is handed over)",
    async () => {
      const target = executor(1)
      // Over the 64 KiB up to which echo runs inline on the executor's thread (there a handed-over input is used as
      // it is, not moved): this one goes to a worker.
      const values = Array.from({ length: 10_000 }, (_, i) => i / 7)
      const input = new Float64Array(values)
      const result = await target.run({ kernel: 'echo', input, transferInput: true })
      expect(input.byteLength).toBe(0)
      expect(Array.from(result.output as Float64Array)).toEqual(values)
    },
    TIMEOUT,
  )
})

describe('custom WebAssembly kernels in worker_threads', () => {
  it(
    'run on an executor that never saw the module, which then keeps it by hash',
    async () => {
      const author = executor(1)
      const id = await author.addWasmKernel(REVERSE_MODULE)
      expect(id).toBe(await wasmKernelId(REVERSE_MODULE))

      const stranger = executor(1)
      expect((await failure(stranger.run({ kernel: id, input: new Uint8Array([1, 2, 3]) }))).code).toBe('KERNEL_UNKNOWN')
      const first = await stranger.run({ kernel: id, input: new Uint8Array([1, 2, 3]), module: REVERSE_MODULE.slice() })
      expect(Array.from(first.output as Uint8Array)).toEqual([3, 2, 1])
      expect(first.backend).toBe('wasm')
      const again = await stranger.run({ kernel: id, input: new TextEncoder().encode('noodle') })
      expect(new TextDecoder().decode(again.output as Uint8Array)).toBe('eldoon')
      expect(stranger.wasm.has(id)).toBe(true)
    },
    TIMEOUT,
  )

  it(
    'a module that loops forever is stopped with TASK_TIMEOUT, one that grows past its memory with WASM_MEMORY_LIMIT',
    async () => {
      const target = executor(2)
      const loop = failure(
        target.run({ kernel: await wasmKernelId(LOOP_MODULE), input: new Uint8Array(1), module: LOOP_MODULE, timeoutMs: 1_000 }),
      )
      const grow = failure(target.run({ kernel: await wasmKernelId(GROW_MODULE), input: new Uint8Array(1), module: GROW_MODULE }))
      expect((await grow).code).toBe('WASM_MEMORY_LIMIT')
      expect((await loop).code).toBe('TASK_TIMEOUT')
      await expectGood(goodTasks(target))
    },
    TIMEOUT,
  )

  it(
    'a module with imports is refused before it reaches a worker',
    async () => {
      const target = executor(1)
      const error = await failure(
        target.run({ kernel: await wasmKernelId(IMPORT_MODULE), input: new Uint8Array(1), module: IMPORT_MODULE }),
      )
      expect(error.code).toBe('WASM_IMPORTS_FORBIDDEN')
      expect(target.stats().workers).toBe(0)
    },
    TIMEOUT,
  )
})
