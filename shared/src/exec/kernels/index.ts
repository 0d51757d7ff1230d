// The built-in CPU kernels (docs/KERNELS.md): name → kernel, and each kernel's input and output types. WGSL
// implementations of matmul, saxpy and mandelbrot live in packages/webgpu and reuse these kernels' validate.

import type { CpuKernel } from '../kernel.js'
import { delayKernel } from './delay.js'
import { echoKernel } from './echo.js'
import { mandelbrotKernel } from './mandelbrot.js'
import { matmulKernel } from './matmul.js'
import { saxpyKernel } from './saxpy.js'
import { sha256SearchKernel } from './sha256-search.js'

// The kernel contract travels with the kernels, so `export *` of this module gives packages everything they need.
export type { CpuKernel, GpuKernel, KernelBackend, KernelContext, KernelInfo } from '../kernel.js'
export type { DelayInput, DelayOutput } from './delay.js'
export type { EchoInput, EchoOutput } from './echo.js'
export type { MandelbrotInput, MandelbrotOperands, MandelbrotOutput } from './mandelbrot.js'
export type { MatmulInput, MatmulOperands, MatmulOutput } from './matmul.js'
export { taskAborted } from './pacing.js'
export type { SaxpyInput, SaxpyOperands, SaxpyOutput } from './saxpy.js'
export type { Sha256SearchInput, Sha256SearchOperands, Sha256SearchOutput } from './sha256-search.js'
export { delayKernel, echoKernel, mandelbrotKernel, matmulKernel, saxpyKernel, sha256SearchKernel }

/** Every built-in CPU kernel by name. */
export const BUILTIN_CPU_KERNELS: ReadonlyMap<string, CpuKernel> = new Map<string, CpuKernel>(
  [echoKernel, delayKernel, matmulKernel, saxpyKernel, mandelbrotKernel, sha256SearchKernel].map((kernel) => [
    kernel.name,
    kernel as CpuKernel,
  ]),
)
