// What a node runs tasks with: its CpuExecutor (the platform's worker pool: built-in CPU kernels, an app's own
// kernels, custom WebAssembly) and, where the platform has a WebGPU device, a GPU runner for the kernels with a WGSL
// implementation, behind the TaskExecutor interface the task service serves and schedules against. A task that
// required a GPU runs on the GPU runner, and so does one for a kernel only the GPU runner has (`wgsl`, a caller's
// own shader); every other task on the CPU.

import { NoodleError } from '../errors.js'
import type { TaskResult, TaskRun } from '../net/protocols.js'
import type { TaskExecutor, TaskExecutorRunOptions } from '../orchestrator/task-service.js'
import { CUSTOM_KERNELS } from '../scheduler/candidates.js'
import type { SecurityLevel } from '../security/levels.js'
import type { CpuExecutor } from './executor.js'
import type { CpuKernel, KernelContext } from './kernel.js'
import { BUILTIN_CPU_KERNELS } from './kernels/index.js'
import { isCustomKernel } from './wasm-kernel.js'

/** Custom kernels arrive from other peers as WebAssembly: never below INTERNAL (docs/SECURITY.md). */
const CUSTOM_KERNEL_LEVEL: SecurityLevel = 'INTERNAL'
/** The level of a GPU-only kernel whose runner does not say: such a kernel (`wgsl`) runs code the caller sends. */
const GPU_ONLY_KERNEL_LEVEL: SecurityLevel = 'INTERNAL'

/** A WebGPU runner as the executor uses it (packages/webgpu's WebGpuRunner): one dispatch at a time. */
export interface GpuTaskRunner {
  /** The adapter behind it, for the node's profile when the platform's probe did not see one (Dawn in Node). */
  readonly adapter?: { vendor: string; architecture: string; device: string; description: string; fallback: boolean }
  has(kernel: string): boolean
  /** Its kernels, listed in the profile beside the CPU ones, so the scheduler sends a GPU-only kernel only here. */
  readonly kernelNames?: readonly string[]
  /** A kernel's own security level; a GPU-only kernel of a runner that does not say is taken as INTERNAL. */
  levelOf?(kernel: string): SecurityLevel | undefined
  run(kernel: string, input: unknown, context: KernelContext): Promise<unknown>
  destroy?(): void
}

export class CpuTaskExecutor implements TaskExecutor {
  readonly cpu: CpuExecutor
  readonly gpu: GpuTaskRunner | undefined
  private readonly kernelsByName: ReadonlyMap<string, CpuKernel>
  /** GPU tasks waiting or running (the runner serialises them; this bounds the line). */
  private gpuTasks = 0

  constructor(cpu: CpuExecutor, options: { kernels?: ReadonlyMap<string, CpuKernel>; gpu?: GpuTaskRunner } = {}) {
    this.cpu = cpu
    this.gpu = options.gpu
    this.kernelsByName = options.kernels ?? BUILTIN_CPU_KERNELS
    cpu.start()
  }

  kernels(): string[] {
    const gpuOnly = (this.gpu?.kernelNames ?? []).filter((kernel) => !this.kernelsByName.has(kernel))
    return [...this.kernelsByName.keys(), CUSTOM_KERNELS, ...gpuOnly]
  }

  levelOf(kernel: string): SecurityLevel | undefined {
    if (isCustomKernel(kernel)) return CUSTOM_KERNEL_LEVEL
    const cpu = this.kernelsByName.get(kernel)
    if (cpu !== undefined) return cpu.level
    if (this.gpu?.has(kernel) !== true) return undefined
    return this.gpu.levelOf?.(kernel) ?? GPU_ONLY_KERNEL_LEVEL
  }

  async run(task: TaskRun, options: TaskExecutorRunOptions): Promise<TaskResult> {
    if (task.gpu === true || this.onlyOnGpu(task.kernel)) return this.runOnGpu(task, options)
    const result = await this.cpu.run(
      {
        kernel: task.kernel,
        input: task.input,
        priority: task.priority,
        timeoutMs: task.timeoutMs,
        module: task.module,
        transferInput: options.owned === true,
      },
      // As given: its signal may be made on first read (ExecutorRunOptions.aborted).
      options,
    )
    return { output: result.output, durationMs: result.durationMs, backend: result.backend }
  }

  load(): { running: number; queueLength: number; queueLimit: number } {
    const stats = this.cpu.stats()
    const gpuWaiting = Math.max(0, this.gpuTasks - 1)
    return {
      running: stats.running + Math.min(1, this.gpuTasks),
      queueLength: stats.queueLength + gpuWaiting,
      queueLimit: stats.queueLimit,
    }
  }

  stats(): Record<string, number> {
    return { ...this.cpu.stats(), gpuTasks: this.gpuTasks }
  }

  async stop(): Promise<void> {
    this.cpu.stop()
    this.gpu?.destroy?.()
  }

  /** A kernel no CPU worker runs but the GPU runner does: it goes to the GPU whether or not the task said `gpu`. */
  private onlyOnGpu(kernel: string): boolean {
    return !this.kernelsByName.has(kernel) && !isCustomKernel(kernel) && this.gpu?.has(kernel) === true
  }

  private async runOnGpu(task: TaskRun, options: TaskExecutorRunOptions): Promise<TaskResult> {
    const gpu = this.gpu
    if (gpu === undefined || !gpu.has(task.kernel)) {
      throw new NoodleError(
        'GPU_UNAVAILABLE',
        `this peer has no WebGPU implementation of ${task.kernel}${gpu === undefined ? ' (no WebGPU device)' : ''}`,
        'Leave out requires.gpu to run it on a CPU, or let the scheduler pick a peer with a GPU.',
      )
    }
    if (this.gpuTasks >= this.cpu.queueLimit) {
      throw new NoodleError('TASK_BUSY', 'the GPU queue is full', 'Retry later or elsewhere.', { retryAfterMs: 100 })
    }
    this.gpuTasks++
    try {
      const started = performance.now()
      const output = await gpu.run(task.kernel, task.input, {
        signal: options.signal,
        progress: (fraction) => options.onProgress?.(fraction),
      })
      return { output, durationMs: performance.now() - started, backend: 'webgpu' }
    } finally {
      this.gpuTasks--
    }
  }
}
