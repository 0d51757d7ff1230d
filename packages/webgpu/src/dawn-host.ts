// The child process that holds a Dawn (`webgpu` package) device for a node, so that a crash in the native code
// (docs/decisions/0007) ends this process, not the node. It announces the adapter (or that there is none), then
// runs kernels one at a time for its parent over IPC until the parent disconnects.

import { isNoodleError } from '@noodlenet/shared'
import { type HostMessage, type ParentMessage, packNumbers, unpackNumbers, type WireError } from './dawn-protocol.js'
import type { WebGpuRunner as Runner } from './runner.js'

const send = (message: HostMessage): void => {
  process.send?.(message)
}

let runner: Runner
try {
  const { create, globals } = await import('webgpu')
  // webgpu-utils reads WebGPU's global constants (GPUShaderStage, GPUBufferUsage…), which browsers define and Node
  // does not; the Dawn package exports them for exactly this. This process is the only place they become globals.
  Object.assign(globalThis, globals)
  await import('./float16.js')
  const { WebGpuRunner } = await import('./runner.js')
  runner = await WebGpuRunner.requestDevice(create([]))
} catch (err) {
  send({ type: 'unavailable', message: (err as Error).message })
  process.disconnect?.()
  process.exit(0)
}

const running = new Map<number, AbortController>()
process.on('message', (message: ParentMessage) => {
  if (message.type === 'cancel') {
    running.get(message.id)?.abort(new Error(message.reason))
    return
  }
  const { id, kernel } = message
  const input = unpackNumbers(message.input, message.packed)
  const controller = new AbortController()
  running.set(id, controller)
  const started = performance.now()
  runner
    .run(kernel, input, { signal: controller.signal, progress: () => {} })
    .then(
      (output) => {
        const packed = packNumbers(output)
        send({ type: 'result', id, output: packed.value, packed: packed.packed, ms: performance.now() - started })
      },
      (err: unknown) => send({ type: 'error', id, error: toWire(err) }),
    )
    .finally(() => running.delete(id))
})
process.on('disconnect', () => {
  runner.destroy()
  process.exit(0)
})
send({ type: 'ready', adapter: runner.adapter, kernels: runner.kernelNames })

function toWire(err: unknown): WireError {
  if (isNoodleError(err)) return { code: err.code, message: err.message, hint: err.hint }
  return { code: 'GPU_FAILED', message: err instanceof Error ? err.message : String(err), hint: '' }
}
