// The WGSL kernels by name: each built-in one has the same name, validate and output as the CPU kernel of that name
// (shared/src/exec/kernels), and agrees with it within the tolerance in docs/KERNELS.md. `wgsl` has no CPU twin: it
// runs the shader its caller sends.

import type { GpuKernel } from '@noodlenet/shared'
import { wgslGpuKernel } from './custom-wgsl.js'
import { mandelbrotGpuKernel } from './mandelbrot.js'
import { matmulGpuKernel } from './matmul.js'
import { saxpyGpuKernel } from './saxpy.js'

export { mandelbrotGpuKernel, matmulGpuKernel, saxpyGpuKernel, wgslGpuKernel }

export const GPU_KERNELS: ReadonlyMap<string, GpuKernel> = new Map<string, GpuKernel>(
  [matmulGpuKernel, saxpyGpuKernel, mandelbrotGpuKernel, wgslGpuKernel].map((kernel) => [kernel.name, kernel as GpuKernel]),
)
