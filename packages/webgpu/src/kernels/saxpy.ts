// saxpy on WebGPU: the CPU kernel's validation (a, x, y rounded to f32), then SAXPY_WGSL in place on y's buffer.

import { type GpuKernel, type SaxpyOperands, type SaxpyOutput, saxpyKernel } from '@noodlenet/shared'
import { makeShaderDataDefinitions, makeStructuredView } from 'webgpu-utils'
import { BufferUsage, GpuJob } from '../gpu-job.js'
import { cachedPipeline } from '../pipeline-cache.js'
import { gpuKernelFor } from './from-cpu-kernel.js'
import { SAXPY_WGSL, SAXPY_WORKGROUP } from './saxpy.wgsl.js'

const definitions = makeShaderDataDefinitions(SAXPY_WGSL)

export const saxpyGpuKernel: GpuKernel<SaxpyOperands, SaxpyOutput> = gpuKernelFor(saxpyKernel, async (device, { a, x, y }, context) => {
  const pipeline = await cachedPipeline(device, 'saxpy', SAXPY_WGSL)
  const params = makeStructuredView(definitions.uniforms.params)
  params.set({ a, n: x.length })
  const job = new GpuJob(device)
  try {
    const result = job.storage(y, BufferUsage.COPY_SRC)
    const bytes = await job.dispatch(
      pipeline,
      [job.uniform(params.arrayBuffer), job.storage(x), result],
      [Math.ceil(x.length / SAXPY_WORKGROUP)],
      result,
    )
    context.progress(1)
    return Array.from(new Float32Array(bytes, 0, x.length))
  } finally {
    job.destroy()
  }
})
