// What a kernel is, in one place: the contract between the kernels (built-in CPU functions, WGSL in packages/webgpu,
// custom WebAssembly), the executors that run them (worker pools, the WebGPU runner) and the scheduler that places
// them. Kernels are pure: input in, output out, no access to the node; everything platform-specific is a runner.

import type { SecurityLevel } from '../security/levels.js'

/** Where a kernel implementation runs. */
export type KernelBackend = 'cpu' | 'webgpu' | 'wasm'

/** What a running kernel may use besides its input: cancellation and progress. */
export interface KernelContext {
  /** Aborted when the task is cancelled or times out; long loops check it (or `throwIfAborted()`) now and then. */
  readonly signal: AbortSignal
  /** Reports progress as a fraction in [0, 1]; cheap to call, the runner rate-limits what it forwards. */
  progress(fraction: number): void
}

/** A kernel's static description: what the scheduler and the security gate need to know without running it. */
export interface KernelInfo {
  /** Lower-case name, `[a-z0-9-]+` (e.g. `matmul`); custom kernels are `custom:<sha256 hex>`. */
  readonly name: string
  /** The lowest security level a task for this kernel carries (the gate checks the token against it). */
  readonly level: SecurityLevel
  /** One sentence for `--help` and error messages. */
  readonly summary: string
  /** Rough work of one call, in arbitrary units, before any observed timing exists (the cost model's prior). */
  estimateWork?(input: unknown): number
}

/** A CPU implementation. Runs inside a worker (worker_threads / Web Worker), so it must be importable there:
 *  no DOM, no `node:` modules, no closures over node state. `validate` throws NoodleError('TASK_INPUT_INVALID')
 *  with a sentence saying what the input must look like. */
export interface CpuKernel<I = unknown, O = unknown> extends KernelInfo {
  validate(input: unknown): I
  run(input: I, context: KernelContext): O | Promise<O>
  /** May run on the executor's own thread, without the hop to a worker, when its input takes at most
   *  `maxInputBytes` as `inputByteLength` counts them (larger inputs go to a worker). Only for a kernel whose time is
   *  trivially bounded by such an input (`echo`): nothing can stop a kernel on the executor's thread, so there it has
   *  no timeout and holds up the node while it runs. It must be synchronous and return fresh plain data. */
  readonly inline?: { readonly maxInputBytes: number }
}

/** A WebGPU implementation (packages/webgpu): same name, same input and output as the CPU kernel of that name,
 *  equal within the tolerance the kernel compliance suite states. */
export interface GpuKernel<I = unknown, O = unknown> extends KernelInfo {
  validate(input: unknown): I
  run(device: GPUDevice, input: I, context: KernelContext): Promise<O>
}
