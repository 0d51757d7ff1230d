// The WGSL kernels by name: each has the same name, validate and output as the CPU kernel of that name
// (shared/src/exec/kernels), and agrees with it within the tolerance in docs/KERNELS.md.

import type { GpuKernel } from '@noodlenet/shared'
import { mandelbrotGpuKernel } from './mandelbrot.js'
import { matmulGpuKernel } from './matmul.js'
import { saxpyGpuKernel } from './saxpy.js'

export { mandelbrotGpuKernel, matmulGpuKernel, saxpyGpuKernel }

export const GPU_KERNELS: ReadonlyMap<string, GpuKernel> = new Map<string, GpuKernel>(
  [matmulGpuKernel, saxpyGpuKernel, mandelbrotGpuKernel].map((kernel) => [kernel.name, kernel as GpuKernel]),
)
