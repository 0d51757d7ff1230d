// The page's side of the GPU worker: a GpuTaskRunner (shared/src/exec/task-executor.ts) whose runs happen in
// gpu-worker.ts. It resolves once the worker has a device, or rejects with the worker's GPU_UNAVAILABLE.

import { type GpuTaskRunner, type KernelContext, NoodleError, type NoodleErrorCode } from '@noodlenet/shared'
import type { AdapterInfo, GpuWorkerReply, GpuWorkerRequest } from './gpu-worker-protocol.js'

export async function startGpuWorker(): Promise<GpuTaskRunner> {
  const worker = new Worker(new URL('./gpu-worker.ts', import.meta.url), { type: 'module', name: 'noodlenet-gpu' })
  const pending = new Map<number, { resolve: (output: unknown) => void; reject: (err: NoodleError) => void }>()
  let nextId = 1
  let lost: NoodleError | undefined
  const send = (message: GpuWorkerRequest): void => worker.postMessage(message)
  const started = new Promise<{ adapter: AdapterInfo; kernels: readonly string[] }>((resolve, reject) => {
    worker.addEventListener('message', (event: MessageEvent<GpuWorkerReply>) => {
      const reply = event.data
      if (reply.type === 'started') resolve(reply)
      else if (reply.type === 'unavailable') reject(new NoodleError(reply.error.code as NoodleErrorCode, reply.error.message))
      else {
        const run = pending.get(reply.id)
        pending.delete(reply.id)
        if (reply.type === 'result') run?.resolve(reply.output)
        else run?.reject(new NoodleError(reply.error.code as NoodleErrorCode, reply.error.message))
      }
    })
    worker.addEventListener('error', (event) => {
      event.preventDefault()
      lost = new NoodleError('GPU_DEVICE_LOST', `the GPU worker failed: ${event.message || 'its script did not load'}`)
      reject(lost)
      for (const run of pending.values()) run.reject(lost)
      pending.clear()
    })
  })
  send({ type: 'start' })
  let info: { adapter: AdapterInfo; kernels: readonly string[] }
  try {
    info = await started
  } catch (err) {
    worker.terminate()
    throw err
  }
  return {
    adapter: info.adapter,
    has: (kernel) => info.kernels.includes(kernel),
    // Listed in the profile: a GPU-only kernel (`wgsl`) is placed only on a peer whose runner has it.
    kernelNames: info.kernels,
    run: (kernel: string, input: unknown, context: KernelContext) =>
      new Promise((resolve, reject) => {
        if (lost !== undefined) return reject(lost)
        const id = nextId++
        pending.set(id, { resolve, reject })
        context.signal.addEventListener('abort', () => send({ type: 'abort', id }), { once: true })
        send({ type: 'run', id, kernel, input })
      }),
    destroy: () => {
      send({ type: 'destroy' })
      worker.terminate()
    },
  }
}
