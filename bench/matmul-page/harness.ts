// The matmul benchmark page: the CPU kernel and the WebGPU kernel in the same tab, on the same matrices.

import { type KernelContext, matmulKernel } from '@noodlenet/shared'
import { WebGpuRunner } from '@noodlenet/webgpu'
import { matmulOperands, relativeError } from '../support/matmul-operands.js'
import type { MatmulHarness } from './harness-api.js'

const context: KernelContext = { signal: new AbortController().signal, progress: () => {} }
const inputs = new Map<number, ReturnType<typeof matmulOperands>>()
const inputOf = (n: number) => {
  let input = inputs.get(n)
  if (input === undefined) {
    input = matmulOperands(n)
    inputs.set(n, input)
  }
  return input
}
let runner: WebGpuRunner | undefined

const cpu = async (n: number): Promise<number[][]> => matmulKernel.run(matmulKernel.validate(inputOf(n)), context)
const gpu = async (n: number): Promise<number[][]> => {
  if (runner === undefined) throw new Error('no WebGPU device: call start() first')
  return (await runner.run('matmul', inputOf(n))) as number[][]
}

const harness: MatmulHarness = {
  async start() {
    if (navigator.gpu === undefined) return { unavailable: 'navigator.gpu is undefined (Chromium needs --enable-unsafe-webgpu)' }
    try {
      runner = await WebGpuRunner.requestDevice(navigator.gpu)
      return { adapter: runner.adapter }
    } catch (err) {
      return { unavailable: (err as Error).message }
    }
  },
  async run(backend, n) {
    inputOf(n)
    const started = performance.now()
    await (backend === 'cpu' ? cpu(n) : gpu(n))
    return performance.now() - started
  },
  async relativeError(n) {
    return relativeError(await gpu(n), await cpu(n))
  },
}
window.matmulBench = harness
