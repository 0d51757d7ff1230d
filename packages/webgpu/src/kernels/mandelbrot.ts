// mandelbrot on WebGPU: the CPU kernel's validation (which computes the f32 pixel coordinates), then
// MANDELBROT_WGSL, one invocation per pixel.

import { type GpuKernel, type MandelbrotOperands, type MandelbrotOutput, mandelbrotKernel } from '@noodlenet/shared'
import { makeShaderDataDefinitions, makeStructuredView } from 'webgpu-utils'
import { GpuJob } from '../gpu-job.js'
import { cachedPipeline } from '../pipeline-cache.js'
import { gpuKernelFor } from './from-cpu-kernel.js'
import { MANDELBROT_TILE, MANDELBROT_WGSL } from './mandelbrot.wgsl.js'

const definitions = makeShaderDataDefinitions(MANDELBROT_WGSL)

export const mandelbrotGpuKernel: GpuKernel<MandelbrotOperands, MandelbrotOutput> = gpuKernelFor(
  mandelbrotKernel,
  async (device, { width, height, maxIterations, xs, ys }, context) => {
    const pipeline = await cachedPipeline(device, 'mandelbrot', MANDELBROT_WGSL)
    const tile = makeStructuredView(definitions.uniforms.tile)
    tile.set({ width, height, maxIterations })
    const job = new GpuJob(device)
    try {
      const counts = job.output(width * height * 4)
      const resources = [job.uniform(tile.arrayBuffer), job.storage(xs), job.storage(ys), counts]
      const bytes = await job.dispatch(
        pipeline,
        resources,
        [Math.ceil(width / MANDELBROT_TILE), Math.ceil(height / MANDELBROT_TILE)],
        counts,
      )
      context.progress(1)
      return Array.from(new Uint32Array(bytes, 0, width * height))
    } finally {
      job.destroy()
    }
  },
)
