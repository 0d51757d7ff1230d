// The entry of every Node kernel worker (worker_threads). The workspace runs its TypeScript sources through tsx
// (docs/decisions/0002-run-typescript-with-tsx.md) and a worker starts without the parent's loader, so this plain
// module registers tsx first, then serves the built-in kernels plus the `kernels` export of workerData.kernelsModule
// (an app's own JavaScript kernels, or tests' misbehaving ones) on parentPort.

import { parentPort, workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
const { serveKernels } = await import('@noodlenet/shared/exec/kernel-worker')
const extra = workerData?.kernelsModule ? (await import(workerData.kernelsModule)).kernels : []
serveKernels(
  {
    post: (message, transfer) => parentPort.postMessage(message, transfer),
    listen: (handler) => parentPort.on('message', handler),
  },
  extra,
)
