// The Node WorkerPool: kernel workers as worker_threads, each with a JavaScript heap limit (resourceLimits), so a
// kernel that allocates without bound ends its own worker (ERR_WORKER_OUT_OF_MEMORY), never the node.

import { Worker } from 'node:worker_threads'
import { type KernelWorker, LIMITS, type WorkerEvents, type WorkerPool } from '@noodlenet/shared'

export interface NodeWorkerPoolOptions {
  /** A module whose `kernels` export (an iterable of CpuKernel) every worker serves besides the built-ins: an app's
   *  own JavaScript kernels on its own node. Remote peers' custom kernels are WebAssembly, never this. */
  kernelsModule?: URL | string
  /** Each worker's JavaScript heap (MB); default LIMITS.executorWorkerHeapMb. */
  heapMb?: number
}

const ENTRY = new URL('./kernel-worker.mjs', import.meta.url)

export function createNodeWorkerPool(options: NodeWorkerPoolOptions = {}): WorkerPool {
  const kernelsModule = options.kernelsModule === undefined ? undefined : String(options.kernelsModule)
  const heapMb = options.heapMb ?? LIMITS.executorWorkerHeapMb
  return {
    spawn(events: WorkerEvents): KernelWorker {
      const worker = new Worker(ENTRY, {
        name: 'noodlenet-kernel',
        workerData: { kernelsModule },
        // The young generation is part of the limit too: a small one keeps the limit meaningful for small heaps.
        resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: Math.min(32, Math.max(1, heapMb >> 3)) },
      })
      // Idle workers do not keep the process alive; the node's own lifecycle stops them.
      worker.unref()
      worker.on('message', events.message)
      worker.on('error', (err: Error & { code?: string }) =>
        events.error(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new Error(`it ran out of memory (its heap is limited to ${heapMb} MB)`) : err,
        ),
      )
      worker.on('exit', (code) => events.exit(code))
      return {
        post: (message, transfer) => worker.postMessage(message, transfer as never),
        terminate: () => void worker.terminate(),
      }
    },
  }
}
