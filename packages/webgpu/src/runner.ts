// The WebGPU runner: one device from a GPU object handed in from outside (navigator.gpu in browsers, the `webgpu`
// package's create([]) in Node: see node.ts), the GPU kernels by name, one dispatch at a time, and typed errors:
// TASK_INPUT_INVALID from the kernel's validate, GPU_FAILED for a WebGPU error during a run, GPU_DEVICE_LOST once
// the device is gone (every later run fails the same way; make a new runner).

import { type GpuKernel, type KernelContext, NoodleError, type SecurityLevel } from '@noodlenet/shared'
import { GPU_KERNELS } from './kernels/index.js'

/** What the scheduler and the benchmarks want to know about the adapter behind a runner. */
export interface AdapterSummary {
  vendor: string
  architecture: string
  device: string
  description: string
  /** A software adapter (SwiftShader, WARP): correct, but no faster than the CPU kernels. */
  fallback: boolean
}

export interface WebGpuRunnerOptions {
  /** The kernels this runner offers, by name (default: GPU_KERNELS). */
  kernels?: ReadonlyMap<string, GpuKernel>
  powerPreference?: GPUPowerPreference
}

const NO_CONTEXT: KernelContext = { signal: new AbortController().signal, progress: () => {} }

export class WebGpuRunner {
  /** Asks `gpu` for an adapter and a device. GPU_UNAVAILABLE when there is no adapter (or it refuses a device). */
  static async requestDevice(gpu: GPU, options: WebGpuRunnerOptions = {}): Promise<WebGpuRunner> {
    const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference })
    if (adapter === null) {
      throw new NoodleError(
        'GPU_UNAVAILABLE',
        'No WebGPU adapter is available',
        'In Chromium pass --enable-unsafe-webgpu where WebGPU is not on by default; in Node a Vulkan, Metal or D3D12 driver must be installed.',
      )
    }
    let device: GPUDevice
    try {
      device = await adapter.requestDevice({ label: 'noodlenet' })
    } catch (err) {
      throw new NoodleError('GPU_UNAVAILABLE', `The WebGPU adapter refused a device: ${(err as Error).message}`, '', { cause: err })
    }
    return new WebGpuRunner(gpu, summarize(adapter), device, options.kernels ?? GPU_KERNELS)
  }

  readonly adapter: AdapterSummary
  readonly device: GPUDevice
  readonly #kernels: ReadonlyMap<string, GpuKernel>
  /** The GPU object the device came from, held for the device's lifetime: Dawn in Node frees its instance when the
   *  GPU object is garbage-collected, even with devices still open, and the next event it processes crashes the
   *  process (docs/decisions/0007). */
  readonly gpu: GPU
  /** Runs go one at a time: error scopes are a per-device stack, and a GPU runs one dispatch well, not many. */
  #queue: Promise<unknown> = Promise.resolve()
  #lost: NoodleError | undefined
  readonly #whenLost: Promise<never>

  private constructor(gpu: GPU, adapter: AdapterSummary, device: GPUDevice, kernels: ReadonlyMap<string, GpuKernel>) {
    this.gpu = gpu
    this.adapter = adapter
    this.device = device
    this.#kernels = kernels
    this.#whenLost = device.lost.then((info) => {
      this.#lost ??= new NoodleError(
        'GPU_DEVICE_LOST',
        `The WebGPU device was lost (${info.reason}${info.message === '' ? '' : `: ${info.message}`})`,
        info.reason === 'destroyed'
          ? 'This runner was destroyed; create a new one.'
          : 'Create a new WebGpuRunner; the task can be run again.',
      )
      throw this.#lost
    })
    this.#whenLost.catch(() => {})
  }

  /** The names of the kernels this runner can run. */
  get kernelNames(): string[] {
    return [...this.#kernels.keys()]
  }

  has(kernel: string): boolean {
    return this.#kernels.has(kernel)
  }

  /** The kernel's own security level (`wgsl`, which runs the caller's shader, is INTERNAL); undefined when absent. */
  levelOf(kernel: string): SecurityLevel | undefined {
    return this.#kernels.get(kernel)?.level
  }

  get lost(): boolean {
    return this.#lost !== undefined
  }

  /** Validates `input` with the kernel's validate, then runs it after any runs before it. */
  run(name: string, input: unknown, context: KernelContext = NO_CONTEXT): Promise<unknown> {
    const kernel = this.#kernels.get(name)
    if (kernel === undefined) {
      return Promise.reject(
        new NoodleError(
          'GPU_UNAVAILABLE',
          `There is no WebGPU implementation of kernel "${name}"`,
          `WebGPU kernels here: ${this.kernelNames.join(', ')}.`,
        ),
      )
    }
    let operands: unknown
    try {
      operands = kernel.validate(input)
    } catch (err) {
      return Promise.reject(err)
    }
    const result = this.#queue.then(() => this.#execute(kernel, operands, context))
    this.#queue = result.catch(() => {})
    return result
  }

  /** Releases the device; runs after this fail with GPU_DEVICE_LOST (reason `destroyed`). */
  destroy(): void {
    this.#lost ??= new NoodleError('GPU_DEVICE_LOST', 'The WebGPU device was destroyed', 'This runner was destroyed; create a new one.')
    this.device.destroy()
  }

  async #execute(kernel: GpuKernel, operands: unknown, context: KernelContext): Promise<unknown> {
    if (this.#lost !== undefined) throw this.#lost
    const device = this.device
    device.pushErrorScope('internal')
    device.pushErrorScope('out-of-memory')
    device.pushErrorScope('validation')
    let output: unknown
    let failure: unknown
    try {
      output = await Promise.race([kernel.run(device, operands, context), this.#whenLost])
    } catch (err) {
      failure = err
    }
    const gpuError = await this.#popScopes()
    if (this.#lost !== undefined) throw this.#lost
    if (gpuError !== null) {
      throw new NoodleError(
        'GPU_FAILED',
        `WebGPU failed running ${kernel.name}: ${gpuError.message}`,
        'This is a bug in the kernel or the driver; the CPU kernel can run the task instead.',
        {
          cause: gpuError,
        },
      )
    }
    if (failure !== undefined) throw failure
    return output
  }

  /** The first error the three scopes caught, or null. */
  async #popScopes(): Promise<GPUError | null> {
    let first: GPUError | null = null
    for (let i = 0; i < 3; i++) {
      try {
        first ??= await this.device.popErrorScope()
      } catch {
        // A lost device has no scopes left to pop; #lost says why.
      }
    }
    return first
  }
}

function summarize(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }
  const legacy = adapter as GPUAdapter & { isFallbackAdapter?: boolean }
  const text = (value: string | undefined): string => value ?? ''
  const software = /swiftshader|llvmpipe|lavapipe|warp|basic render/i.test(`${info.architecture} ${info.description} ${info.device}`)
  return {
    vendor: text(info.vendor),
    architecture: text(info.architecture),
    device: text(info.device),
    description: text(info.description),
    fallback: info.isFallbackAdapter ?? legacy.isFallbackAdapter ?? software,
  }
}
