// CpuExecutor's own logic, with workers that run in this thread (the same message loop, no real threads): the queue
// and its priority order, admission ("busy, retry after"), timeouts, cancellation, crashes, and custom WebAssembly
// kernels checked, cached by hash and sandboxed. Real worker_threads: node/test/executor.test.ts; Web Workers:
// packages/noodlenet/test/executor.browser.test.ts.

import { describe, expect, it, vi } from 'vitest'
import { serveKernels } from '../src/exec/kernel-worker.js'
import {
  CpuExecutor,
  type CpuExecutorOptions,
  type CpuKernel,
  type KernelWorker,
  type KernelWorkerPort,
  LIMITS,
  type NoodleError,
  type WorkerEvents,
  type WorkerPool,
  wasmKernelId,
} from '../src/index.js'
import { failure, startedExecutors } from './executor-support.js'
import { GROW_MODULE, HUGE_MODULE, IMPORT_MODULE, REVERSE_MODULE, TRAP_MODULE, UNBOUNDED_MODULE } from './wasm-modules.js'

/** Kernels that only tests have. `record` notes the order tasks started in; `gate` waits until the test opens it;
 *  `hang` never ends and ignores its signal; `crash` makes its (fake) worker die. */
function testKernels(started: string[], gates: Map<string, () => void>): CpuKernel[] {
  const kernel = (name: string, run: (input: { key: string }) => unknown): CpuKernel => ({
    name,
    level: 'PUBLIC',
    summary: 'test kernel',
    validate: (input) => input,
    run: (input) => run(input as { key: string }),
  })
  return [
    kernel('record', (input) => {
      started.push(input.key)
      return input.key
    }),
    kernel('gate', (input) => new Promise((resolve) => gates.set(input.key, () => resolve(input.key)))),
    kernel('hang', () => new Promise(() => {})),
    kernel('fail', () => {
      throw new Error('the kernel broke')
    }),
    kernel('crash', () => CRASH),
  ]
}

const CRASH = { crash: true }

/** Workers in this thread: the real message loop behind an asynchronous in-memory channel that clones what it
 *  carries, as postMessage does (a compiled WebAssembly module is passed as is). */
class InProcessPool implements WorkerPool {
  spawned = 0
  terminated = 0
  readonly #kernels: CpuKernel[]

  constructor(kernels: CpuKernel[]) {
    this.#kernels = kernels
  }

  spawn(events: WorkerEvents): KernelWorker {
    this.spawned++
    let alive = true
    let deliver: ((message: never) => void) | undefined
    const port: KernelWorkerPort = {
      post: (sent) => {
        const message = structuredClone(sent)
        queueMicrotask(() => {
          if (!alive) return
          if (message.type === 'result' && (message.output as typeof CRASH)?.crash === true) events.error(new Error('the worker crashed'))
          else events.message(message)
        })
      },
      listen: (handler) => {
        deliver = handler as (message: never) => void
      },
    }
    serveKernels(port, this.#kernels)
    return {
      post: (sent) => {
        const message = sent.type === 'run' ? { ...structuredClone({ ...sent, wasm: undefined }), wasm: sent.wasm } : sent
        queueMicrotask(() => alive && deliver?.(message as never))
      },
      terminate: () => {
        if (alive) this.terminated++
        alive = false
      },
    }
  }
}

const keep = startedExecutors()

function setup(options: Partial<CpuExecutorOptions> = {}) {
  const started: string[] = []
  const gates = new Map<string, () => void>()
  const pool = new InProcessPool(testKernels(started, gates))
  const executor = keep(new CpuExecutor({ pool, concurrency: 1, ...options }))
  /** Opens a gate once its task is running. */
  const open = async (key: string): Promise<void> => {
    await vi.waitFor(() => expect(gates.has(key)).toBe(true), { timeout: 10_000 })
    gates.get(key)?.()
  }
  return { executor, pool, started, open }
}

describe('CpuExecutor', () => {
  it('runs built-in kernels in its workers and counts them', async () => {
    const { executor } = setup({ concurrency: 2 })
    const progress: number[] = []
    const [echo, product] = await Promise.all([
      executor.run({ kernel: 'echo', input: { hello: [1, 2, 3] } }),
      executor.run(
        {
          kernel: 'matmul',
          input: {
            a: [
              [1, 2],
              [3, 4],
            ],
            b: [[5], [6]],
          },
        },
        { onProgress: (fraction) => progress.push(fraction) },
      ),
    ])
    expect(echo.output).toEqual({ hello: [1, 2, 3] })
    expect(echo.backend).toBe('cpu')
    expect(echo.durationMs).toBeGreaterThanOrEqual(0)
    expect(product.output).toEqual([[17], [39]])
    expect(executor.stats()).toMatchObject({ completed: 2, failed: 0, queueLength: 0, running: 0, concurrency: 2 })
  })

  it('setConcurrency: raising it starts waiting tasks now, lowering it stops workers as their tasks end', async () => {
    const { executor, pool, open } = setup({ concurrency: 1 })
    const tasks = ['a', 'b', 'c'].map((key) => executor.run({ kernel: 'gate', input: { key } }))
    await vi.waitFor(() => expect(executor.stats()).toMatchObject({ running: 1, queueLength: 2 }), { timeout: 10_000 })
    executor.setConcurrency(3)
    await vi.waitFor(() => expect(executor.stats()).toMatchObject({ running: 3, queueLength: 0, workers: 3, concurrency: 3 }), {
      timeout: 10_000,
    })
    executor.setConcurrency(1)
    expect(executor.stats().workers).toBe(3)
    await Promise.all([open('a'), open('b'), open('c')])
    await Promise.all(tasks)
    expect(executor.stats()).toMatchObject({ workers: 1, concurrency: 1, completed: 3 })
    expect(pool.terminated).toBe(2)
    expect(() => executor.setConcurrency(0)).toThrow(RangeError)
  })

  it('starts waiting tasks by priority, first come first served within one', async () => {
    const { executor, started, open } = setup()
    const blocker = executor.run({ kernel: 'gate', input: { key: 'blocker' } })
    const runs = [
      executor.run({ kernel: 'record', input: { key: 'low' }, priority: 1 }),
      executor.run({ kernel: 'record', input: { key: 'high-1' }, priority: 9 }),
      executor.run({ kernel: 'record', input: { key: 'default' } }),
      executor.run({ kernel: 'record', input: { key: 'high-2' }, priority: 9 }),
    ]
    expect(executor.stats().queueLength).toBe(4)
    await open('blocker')
    await Promise.all([blocker, ...runs])
    expect(started).toEqual(['high-1', 'high-2', 'default', 'low'])
  })

  it('answers busy with a retry-after estimate when its queue is full, and takes tasks again once it drains', async () => {
    const { executor, open } = setup({ queueLimit: 2 })
    const blocker = executor.run({ kernel: 'gate', input: { key: 'blocker' } })
    const queued = [executor.run({ kernel: 'echo', input: 1 }), executor.run({ kernel: 'echo', input: 2 })]
    const busy = await failure(executor.run({ kernel: 'echo', input: 3 }))
    expect(busy.code).toBe('TASK_BUSY')
    expect(busy.retryAfterMs).toBeGreaterThanOrEqual(LIMITS.executorRetryAfterMinMs)
    expect(busy.retryAfterMs).toBeLessThanOrEqual(LIMITS.schedulerBusyExcludeMaxMs)
    expect(busy.sentence).toMatch(/Retry after \d+ ms/)
    expect(executor.stats()).toMatchObject({ queueLength: 2, queueLimit: 2, running: 1, rejected: 1 })
    await open('blocker')
    await Promise.all([blocker, ...queued])
    await expect(executor.run({ kernel: 'echo', input: 4 })).resolves.toMatchObject({ output: 4 })
  })

  it('stops a task that runs past its timeout with TASK_TIMEOUT, and runs the next on a fresh worker', async () => {
    const { executor, pool } = setup()
    const timedOut = await failure(executor.run({ kernel: 'hang', input: {}, timeoutMs: 50 }))
    expect(timedOut.code).toBe('TASK_TIMEOUT')
    expect(timedOut.message).toContain('50 ms')
    expect(pool.terminated).toBe(1)
    await expect(executor.run({ kernel: 'record', input: { key: 'next' } })).resolves.toMatchObject({ output: 'next' })
    expect(pool.spawned).toBe(2)
    expect(executor.stats()).toMatchObject({ completed: 1, failed: 1, workers: 1 })
  })

  it('cancels a waiting task at once: it never runs and leaves the queue', async () => {
    const { executor, started, open } = setup()
    const blocker = executor.run({ kernel: 'gate', input: { key: 'blocker' } })
    const controller = new AbortController()
    const cancelled = executor.run({ kernel: 'record', input: { key: 'cancelled' } }, { signal: controller.signal })
    const kept = executor.run({ kernel: 'record', input: { key: 'kept' } })
    controller.abort(new Error('the caller went away'))
    const error = await failure(cancelled)
    expect(error.code).toBe('TASK_ABORTED')
    expect(error.message).toContain('the caller went away')
    expect(executor.stats().queueLength).toBe(1)
    await open('blocker')
    await Promise.all([blocker, kept])
    expect(started).toEqual(['kept'])
    expect(executor.stats().aborted).toBe(1)
  })

  it('cancels a running task: a kernel that listens keeps its worker, one that does not loses it', async () => {
    const { executor, pool } = setup({ abortGraceMs: 20 })
    const polite = new AbortController()
    const delay = executor.run({ kernel: 'delay', input: { ms: 60_000 } }, { signal: polite.signal })
    await vi.waitFor(() => expect(executor.stats().running).toBe(1))
    polite.abort('no longer needed')
    expect((await failure(delay)).code).toBe('TASK_ABORTED')
    await expect(executor.run({ kernel: 'record', input: { key: 'kept' } })).resolves.toMatchObject({ output: 'kept' })
    expect(pool.spawned).toBe(1)

    const stubborn = new AbortController()
    const hang = executor.run({ kernel: 'hang', input: {} }, { signal: stubborn.signal })
    await vi.waitFor(() => expect(executor.stats().running).toBe(1))
    stubborn.abort()
    expect((await failure(hang)).code).toBe('TASK_ABORTED')
    await vi.waitFor(() => expect(pool.terminated).toBe(1))
    await expect(executor.run({ kernel: 'record', input: { key: 'fresh' } })).resolves.toMatchObject({ output: 'fresh' })
    expect(pool.spawned).toBe(2)
  })

  it("fails a task with its kernel's error, a bad input or an unknown kernel, and keeps the worker", async () => {
    const { executor, pool } = setup()
    const thrown = await failure(executor.run({ kernel: 'fail', input: {} }))
    expect(thrown.code).toBe('TASK_FAILED')
    expect(thrown.message).toContain('the kernel broke')
    const invalid = await failure(executor.run({ kernel: 'matmul', input: { a: 'not a matrix' } }))
    expect(invalid.code).toBe('TASK_INPUT_INVALID')
    const unknown = await failure(executor.run({ kernel: 'no-such-kernel', input: {} }))
    expect(unknown.code).toBe('KERNEL_UNKNOWN')
    expect(pool.spawned).toBe(1)
    expect(executor.stats()).toMatchObject({ failed: 3, workers: 1 })
  })

  it('fails only the task whose worker crashed; the others finish and a new worker takes over', async () => {
    const { executor, pool } = setup({ concurrency: 2 })
    const results = await Promise.allSettled([
      executor.run({ kernel: 'crash', input: {} }),
      executor.run({ kernel: 'record', input: { key: 'a' } }),
      executor.run({ kernel: 'record', input: { key: 'b' } }),
      executor.run({ kernel: 'record', input: { key: 'c' } }),
    ])
    expect(results[0].status).toBe('rejected')
    const crash = (results[0] as PromiseRejectedResult).reason as NoodleError
    expect(crash.code).toBe('KERNEL_CRASHED')
    expect(crash.message).toContain('the worker crashed')
    expect(results.slice(1).map((result) => (result as PromiseFulfilledResult<{ output: unknown }>).value.output)).toEqual(['a', 'b', 'c'])
    await expect(executor.run({ kernel: 'record', input: { key: 'after' } })).resolves.toMatchObject({ output: 'after' })
    expect(pool.spawned).toBeGreaterThanOrEqual(2)
  })

  it('refuses a task that is not well formed before queueing it', async () => {
    const { executor } = setup()
    expect((await failure(executor.run({ kernel: 'echo', input: 1, priority: 10 }))).code).toBe('TASK_INVALID')
    expect((await failure(executor.run({ kernel: 'echo', input: 1, timeoutMs: 0 }))).code).toBe('TASK_INVALID')
    const uncloneable = await failure(executor.run({ kernel: 'echo', input: { f: () => 1 } }))
    expect(['TASK_INPUT_INVALID', 'TASK_FAILED']).toContain(uncloneable.code)
  })

  it('stop() cancels what waits and what runs; a stopped executor takes nothing', async () => {
    const { executor } = setup()
    const running = executor.run({ kernel: 'gate', input: { key: 'never' } })
    const waiting = executor.run({ kernel: 'echo', input: 1 })
    executor.stop()
    expect((await failure(running)).code).toBe('TASK_ABORTED')
    expect((await failure(waiting)).code).toBe('TASK_ABORTED')
    expect((await failure(executor.run({ kernel: 'echo', input: 1 }))).code).toBe('NOT_STARTED')
    expect(executor.stats()).toMatchObject({ workers: 0, queueLength: 0, running: 0 })
  })
})

describe('inline kernels (run on the executor thread)', () => {
  /** A kernel of the test's own that may run inline: reports progress, then throws or answers as its input says. */
  const steps: CpuKernel = {
    name: 'steps',
    level: 'PUBLIC',
    summary: 'test kernel',
    inline: { maxInputBytes: 1_000 },
    validate: (input) => input,
    run: (input, context) => {
      const { fail, promise } = input as { fail?: boolean; promise?: boolean }
      context.progress(0.5)
      context.progress(1)
      if (fail === true) throw new Error('the step broke')
      return promise === true ? Promise.resolve('late') : 'done'
    },
  }

  it('runs echo with a small input without a worker: a copy of the input back, counted, with its event', async () => {
    const { executor, pool } = setup()
    const ended: string[] = []
    executor.addEventListener('task:end', (event) => ended.push(event.detail.kernel))
    const input = { hello: [1, 2, 3] }
    const result = await executor.run({ kernel: 'echo', input })
    expect(result).toMatchObject({ output: { hello: [1, 2, 3] }, backend: 'cpu' })
    expect(result.output).not.toBe(input)
    expect(pool.spawned).toBe(0)
    const bytes = new Uint8Array([1, 2, 3])
    // An input handed over (decoded from a frame: nobody else holds it) is not copied at all.
    const handed = await executor.run({ kernel: 'echo', input: bytes, transferInput: true })
    expect(handed.output).toBe(bytes)
    expect(ended).toEqual(['echo', 'echo'])
    expect(executor.stats()).toMatchObject({ completed: 2, failed: 0, running: 0, workers: 0 })
  })

  it('refuses an inline task whose signal was aborted, even with nothing waiting, and drops progress after the end', async () => {
    let late: ((fraction: number) => void) | undefined
    const keeps: CpuKernel = {
      ...steps,
      name: 'keeps',
      run: (_input, context) => {
        late = context.progress
        return 'kept'
      },
    }
    const { executor } = setup({ inlineKernels: [keeps] })
    const controller = new AbortController()
    controller.abort(new Error('changed my mind'))
    expect((await failure(executor.run({ kernel: 'echo', input: 1 }, { signal: controller.signal }))).code).toBe('TASK_ABORTED')
    const progress: number[] = []
    expect((await executor.run({ kernel: 'keeps', input: {} }, { onProgress: (fraction) => progress.push(fraction) })).output).toBe('kept')
    late?.(0.5)
    expect(progress).toEqual([])
  })

  it('reads a signal made on first read only when the task has to wait (a served request: ExecutorRunOptions.aborted)', async () => {
    const { executor, open } = setup({ queueLimit: 4 })
    let made = 0
    const controller = new AbortController()
    const served = (isAborted: () => boolean) => ({
      aborted: isAborted,
      get signal() {
        made++
        return controller.signal
      },
    })
    // Run at once: no signal made.
    expect(
      (
        await executor.run(
          { kernel: 'echo', input: 1 },
          served(() => false),
        )
      ).output,
    ).toBe(1)
    expect(made).toBe(0)
    // Waiting behind a busy worker: the signal is made, and aborting it cancels the waiting task.
    const blocker = executor.run({ kernel: 'gate', input: { key: 'blocker' } })
    const waiting = executor.run(
      { kernel: 'echo', input: 3 },
      served(() => controller.signal.aborted),
    )
    expect(made).toBe(1)
    controller.abort(new Error('gone'))
    expect((await failure(waiting)).code).toBe('TASK_ABORTED')
    // Cancelled before it ran: refused, with the signal's reason.
    const refused = await failure(
      executor.run(
        { kernel: 'echo', input: 2 },
        served(() => true),
      ),
    )
    expect(refused.code).toBe('TASK_ABORTED')
    expect(refused.message).toMatch(/gone/)
    await open('blocker')
    await blocker
  })

  it('sends a large input to a worker, and an input that cannot be copied fails as it would there', async () => {
    const { executor, pool } = setup()
    const large = await executor.run({ kernel: 'echo', input: new Uint8Array(70_000) })
    expect((large.output as Uint8Array).byteLength).toBe(70_000)
    expect(pool.spawned).toBe(1)
    expect((await failure(executor.run({ kernel: 'echo', input: { f: () => 1 } }))).code).toBe('TASK_INPUT_INVALID')
  })

  it('waits its turn behind a busy worker, by priority, and a full queue still answers busy', async () => {
    const { executor, pool, started, open } = setup({ queueLimit: 2 })
    const blocker = executor.run({ kernel: 'gate', input: { key: 'blocker' } })
    const low = executor.run({ kernel: 'record', input: { key: 'low' }, priority: 1 })
    const echo = executor.run({ kernel: 'echo', input: 'high', priority: 9 })
    expect(executor.stats()).toMatchObject({ queueLength: 2, running: 1 })
    expect((await failure(executor.run({ kernel: 'echo', input: 'more' }))).code).toBe('TASK_BUSY')
    expect(executor.stats().rejected).toBe(1)
    await open('blocker')
    await expect(echo).resolves.toMatchObject({ output: 'high' })
    await Promise.all([blocker, low])
    expect(started).toEqual(['low'])
    expect(pool.spawned).toBe(1)
  })

  it("forwards an inline kernel's progress and errors as a worker would", async () => {
    const { executor, pool } = setup({ inlineKernels: [steps] })
    const progress: number[] = []
    const events: number[] = []
    executor.addEventListener('task:progress', (event) => events.push(event.detail.fraction))
    const done = await executor.run({ kernel: 'steps', input: {} }, { onProgress: (fraction) => progress.push(fraction) })
    expect(done.output).toBe('done')
    expect(progress).toEqual([0.5, 1])
    expect(events).toEqual([0.5, 1])
    const broke = await failure(executor.run({ kernel: 'steps', input: { fail: true } }))
    expect(broke.code).toBe('TASK_FAILED')
    expect(broke.message).toContain('the step broke')
    expect((await failure(executor.run({ kernel: 'steps', input: { promise: true } }))).message).toContain('returned a promise')
    expect(pool.spawned).toBe(0)
    expect(executor.stats()).toMatchObject({ completed: 1, failed: 2 })
  })
})

describe('custom WebAssembly kernels', () => {
  const bytes = (...values: number[]) => new Uint8Array(values)

  it('are named by the SHA-256 of their bytes and run once an executor has the module', async () => {
    const id = await wasmKernelId(REVERSE_MODULE)
    expect(id).toMatch(/^custom:[0-9a-f]{64}$/)
    const { executor } = setup()
    const unknown = await failure(executor.run({ kernel: id, input: bytes(1, 2, 3) }))
    expect(unknown.code).toBe('KERNEL_UNKNOWN')
    const first = await executor.run({ kernel: id, input: bytes(1, 2, 3), module: REVERSE_MODULE })
    expect(first.backend).toBe('wasm')
    expect(Array.from(first.output as Uint8Array)).toEqual([3, 2, 1])
    // Cached by hash: the module need not travel again.
    const second = await executor.run({ kernel: id, input: bytes(9, 8, 7, 6) })
    expect(Array.from(second.output as Uint8Array)).toEqual([6, 7, 8, 9])
    expect(executor.wasm.size).toBe(1)
    expect(await executor.addWasmKernel(REVERSE_MODULE)).toBe(id)
  })

  it('refuse a module whose bytes do not match the name, or that is not WebAssembly', async () => {
    const { executor } = setup()
    const other = await wasmKernelId(TRAP_MODULE)
    const mismatch = await failure(executor.run({ kernel: other, input: bytes(), module: REVERSE_MODULE }))
    expect(mismatch.code).toBe('WASM_INVALID')
    const garbage = bytes(0, 0x61, 0x73, 0x6d, 9, 9, 9, 9)
    const invalid = await failure(executor.run({ kernel: await wasmKernelId(garbage), input: bytes(), module: garbage }))
    expect(invalid.code).toBe('WASM_INVALID')
  })

  it('refuse imports and memories without a bound or beyond the limit', async () => {
    const { executor } = setup()
    const imports = await failure(executor.addWasmKernel(IMPORT_MODULE))
    expect(imports.code).toBe('WASM_IMPORTS_FORBIDDEN')
    expect(imports.message).toContain('env.log')
    const unbounded = await failure(executor.addWasmKernel(UNBOUNDED_MODULE))
    expect(unbounded.code).toBe('WASM_MEMORY_LIMIT')
    expect(unbounded.message).toContain('no maximum')
    const huge = await failure(executor.addWasmKernel(HUGE_MODULE))
    expect(huge.code).toBe('WASM_MEMORY_LIMIT')
    expect(huge.message).toContain('65536 pages')
    expect(executor.wasm.size).toBe(0)
  })

  it('end a module that grows its memory to the limit with WASM_MEMORY_LIMIT, and a trap with WASM_TRAP', async () => {
    const { executor } = setup()
    const grow = await failure(executor.run({ kernel: await wasmKernelId(GROW_MODULE), input: bytes(1), module: GROW_MODULE }))
    expect(grow.code).toBe('WASM_MEMORY_LIMIT')
    const trap = await failure(executor.run({ kernel: await wasmKernelId(TRAP_MODULE), input: bytes(1), module: TRAP_MODULE }))
    expect(trap.code).toBe('WASM_TRAP')
    const notBytes = await failure(executor.run({ kernel: await wasmKernelId(REVERSE_MODULE), input: [1, 2], module: REVERSE_MODULE }))
    expect(notBytes.code).toBe('TASK_INPUT_INVALID')
  })

  it('keep at most the configured number of modules, least recently used out first', async () => {
    const { WasmKernelCache } = await import('../src/index.js')
    const cache = new WasmKernelCache({ maxModules: 2 })
    const [reverse, trap, grow] = await Promise.all([REVERSE_MODULE, TRAP_MODULE, GROW_MODULE].map((module) => wasmKernelId(module)))
    await cache.add(REVERSE_MODULE)
    await cache.add(TRAP_MODULE)
    cache.get(reverse)
    await cache.add(GROW_MODULE)
    expect([cache.has(reverse), cache.has(trap), cache.has(grow)]).toEqual([true, false, true])
  })
})
