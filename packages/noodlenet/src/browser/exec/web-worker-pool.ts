// The browser WorkerPool: kernel workers as module Web Workers. Browsers give workers no memory limit of their own
// and no exit event; a worker whose script throws at its top level is terminated by the executor and replaced.

import type { KernelWorker, WorkerEvents, WorkerPool } from '@noodlenet/shared'

export interface WebWorkerPoolOptions {
  /** Makes one worker running the kernel loop; the built-in kernels' entry when absent. An app with kernels of its
   *  own writes an entry that calls `serveKernels(workerScopePort(), itsKernels)` and passes
   *  `() => new Worker(new URL('./its-entry.ts', import.meta.url), { type: 'module' })` (Vite bundles it). */
  createWorker?: () => Worker
}

function builtinWorker(): Worker {
  return new Worker(new URL('./kernel-worker.ts', import.meta.url), { type: 'module', name: 'noodlenet-kernel' })
}

export function createWebWorkerPool(options: WebWorkerPoolOptions = {}): WorkerPool {
  const create = options.createWorker ?? builtinWorker
  return {
    spawn(events: WorkerEvents): KernelWorker {
      const worker = create()
      worker.addEventListener('message', (event) => events.message(event.data))
      worker.addEventListener('error', (event) => {
        // Handled here: without preventDefault the page's console reports it as uncaught.
        event.preventDefault()
        events.error(new Error(event.message || 'its script failed to load'))
      })
      worker.addEventListener('messageerror', () => events.error(new Error('a message from it could not be read')))
      return {
        post: (message, transfer) => worker.postMessage(message, transfer ?? []),
        terminate: () => worker.terminate(),
      }
    },
  }
}
