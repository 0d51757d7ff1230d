// @noodlenet/webgpu: the WGSL kernels and the runner that executes them on a WebGPU device. Browser-safe: the Node
// adapter (the `webgpu` Dawn package, run in a child process) is in `@noodlenet/webgpu/node`.

export { BufferUsage, GpuJob } from './gpu-job.js'
export type { WgslInput, WgslOperands, WgslOutput } from './kernels/custom-wgsl.js'
export { GPU_KERNELS, mandelbrotGpuKernel, matmulGpuKernel, saxpyGpuKernel, wgslGpuKernel } from './kernels/index.js'
export { MANDELBROT_WGSL } from './kernels/mandelbrot.wgsl.js'
export { MATMUL_WGSL } from './kernels/matmul.wgsl.js'
export { SAXPY_WGSL } from './kernels/saxpy.wgsl.js'
export { cachedPipeline } from './pipeline-cache.js'
export { type AdapterSummary, WebGpuRunner, type WebGpuRunnerOptions } from './runner.js'
