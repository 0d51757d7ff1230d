// The tab's GPU worker: a module Web Worker that owns the WebGPU device (navigator.gpu works in workers in Chromium)
// and runs the WGSL kernels there, so that validating inputs, encoding and reading results back never block the
// page. One message in per run, one out; cancellation reaches the kernel through an AbortSignal of its own.

import { isNoodleError } from '@noodlenet/shared'
import { WebGpuRunner } from '@noodlenet/webgpu'
import type { GpuWorkerReply, GpuWorkerRequest } from './gpu-worker-protocol.js'

interface DedicatedScope {
  postMessage(message: unknown, transfer: Transferable[]): void
  addEventListener(type: 'message', listener: (event: MessageEvent<GpuWorkerRequest>) => void): void
}

const scope = globalThis as unknown as DedicatedScope
const runs = new Map<number, AbortController>()
let runner: Promise<WebGpuRunner> | undefined

function reply(message: GpuWorkerReply, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer)
}

function failure(err: unknown): { code: string; message: string } {
  return isNoodleError(err)
    ? { code: err.code, message: err.sentence }
    : { code: 'GPU_FAILED', message: String((err as Error)?.message ?? err) }
}

scope.addEventListener('message', (event) => {
  const request = event.data
  if (request.type === 'start') {
    runner ??= WebGpuRunner.requestDevice(navigator.gpu)
    runner.then(
      (ready) => reply({ type: 'started', adapter: ready.adapter, kernels: ready.kernelNames }),
      (err: unknown) => reply({ type: 'unavailable', error: failure(err) }),
    )
    return
  }
  if (request.type === 'abort') {
    runs.get(request.id)?.abort()
    return
  }
  if (request.type === 'destroy') {
    void runner?.then((ready) => ready.destroy())
    return
  }
  const controller = new AbortController()
  runs.set(request.id, controller)
  const context = { signal: controller.signal, progress: () => {} }
  ;(runner ?? Promise.reject(new Error('the GPU worker was not started')))
    .then((ready) => ready.run(request.kernel, request.input, context))
    .then(
      (output) => reply({ type: 'result', id: request.id, output }, ArrayBuffer.isView(output) ? [output.buffer] : []),
      (err: unknown) => reply({ type: 'error', id: request.id, error: failure(err) }),
    )
    .finally(() => runs.delete(request.id))
})
