// The message loop inside every kernel worker (worker_threads on Node, Web Workers in browsers, in-process in tests):
// look the kernel up, validate, run, answer with the result or a typed error, forward progress at a bounded rate and
// pass a cancel on to the kernel's signal. The platform entries (node/src/exec, packages/noodlenet) only wire a port.

import { isNoodleError, NoodleError } from '../errors.js'
import { LIMITS } from '../limits.js'
import type { CpuKernel, KernelContext } from './kernel.js'
import { BUILTIN_CPU_KERNELS } from './kernels/index.js'
import { runWasmKernel } from './wasm-kernel.js'
import { type HostToWorker, type KernelWorkerPort, transferablesOf, type WorkerError } from './worker-pool.js'

export type { KernelWorkerPort }
export { BUILTIN_CPU_KERNELS }

/** Serves tasks on `port` with the built-in kernels plus `extra` (an app's own kernels, or tests' misbehaving ones;
 *  their names must not shadow a built-in). Posts `ready` once listening. */
export function serveKernels(port: KernelWorkerPort, extra: Iterable<CpuKernel> = []): void {
  const kernels = new Map<string, CpuKernel>(BUILTIN_CPU_KERNELS)
  for (const kernel of extra) {
    if (kernels.has(kernel.name)) throw new Error(`kernel ${kernel.name} is already registered`)
    kernels.set(kernel.name, kernel)
  }
  const running = new Map<number, AbortController>()
  port.listen((message: HostToWorker) => {
    if (message.type === 'abort') running.get(message.id)?.abort(message.reason)
    else if (message.type === 'run') void run(port, kernels, running, message)
  })
  port.post({ type: 'ready' }, [])
}

async function run(
  port: KernelWorkerPort,
  kernels: ReadonlyMap<string, CpuKernel>,
  running: Map<number, AbortController>,
  message: Extract<HostToWorker, { type: 'run' }>,
): Promise<void> {
  const { id } = message
  const controller = new AbortController()
  running.set(id, controller)
  let done = false
  let lastProgressAt = Number.NEGATIVE_INFINITY
  const context: KernelContext = {
    signal: controller.signal,
    progress(fraction) {
      if (done || !(fraction >= 0)) return
      const now = performance.now()
      if (fraction < 1 && now - lastProgressAt < LIMITS.executorProgressIntervalMs) return
      lastProgressAt = now
      port.post({ type: 'progress', id, fraction: Math.min(1, fraction) }, [])
    },
  }
  try {
    let output: unknown
    if (message.wasm !== undefined) {
      output = runWasmKernel(message.wasm, message.input)
    } else {
      const kernel = kernels.get(message.kernel)
      if (kernel === undefined) {
        throw new NoodleError(
          'KERNEL_UNKNOWN',
          `this executor has no kernel named ${message.kernel}`,
          'Place the task on a peer that lists the kernel.',
        )
      }
      output = await kernel.run(kernel.validate(message.input), context)
    }
    done = true
    post(port, { type: 'result', id, output }, transferablesOf(output), message.kernel)
  } catch (err) {
    done = true
    port.post({ type: 'error', id, error: workerError(err, message.kernel) }, [])
  } finally {
    running.delete(id)
  }
}

/** Posts with the output's buffers transferred; a buffer that cannot be transferred is copied instead, and an output
 *  that cannot be cloned at all (a function, a class instance with private state) becomes TASK_FAILED. */
function post(
  port: KernelWorkerPort,
  message: { type: 'result'; id: number; output: unknown },
  transfer: ArrayBuffer[],
  kernel: string,
): void {
  try {
    port.post(message, transfer)
    return
  } catch (err) {
    if (transfer.length === 0) {
      failedToClone(port, message.id, kernel, err)
      return
    }
  }
  try {
    port.post(message, [])
  } catch (err) {
    failedToClone(port, message.id, kernel, err)
  }
}

function failedToClone(port: KernelWorkerPort, id: number, kernel: string, err: unknown): void {
  const error: WorkerError = {
    code: 'TASK_FAILED',
    message: `${kernel} returned an output that cannot travel: ${(err as Error)?.message ?? err}`,
    hint: 'Kernels return plain data: objects, arrays, strings, numbers, booleans, null and typed arrays.',
  }
  port.post({ type: 'error', id, error }, [])
}

function workerError(err: unknown, kernel: string): WorkerError {
  if (isNoodleError(err)) return { code: err.code, message: err.message, hint: err.hint }
  return {
    code: 'TASK_FAILED',
    message: `${kernel} failed: ${err instanceof Error ? err.message : String(err)}`,
    hint: 'This is a fault in the kernel or its input; the node is fine.',
  }
}
