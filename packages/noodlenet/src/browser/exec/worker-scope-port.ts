// A kernel worker's port in a browser: the dedicated worker's global scope. Shared by the default entry and by app
// (or test) entries that serve kernels of their own.

import type { KernelWorkerPort } from '@noodlenet/shared/exec/kernel-worker'

interface DedicatedScope {
  postMessage(message: unknown, transfer: Transferable[]): void
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void
}

export function workerScopePort(): KernelWorkerPort {
  const scope = globalThis as unknown as DedicatedScope
  return {
    post: (message, transfer) => scope.postMessage(message, transfer),
    listen: (handler) => scope.addEventListener('message', (event) => handler(event.data)),
  }
}
