// What a node runs tasks with: its CpuExecutor (the platform's worker pool: built-in CPU kernels, an app's own
// kernels, custom WebAssembly) behind the TaskExecutor interface the task service serves and schedules against.

import type { TaskResult, TaskRun } from '../net/protocols.js'
import type { TaskExecutor, TaskExecutorRunOptions } from '../orchestrator/task-service.js'
import { CUSTOM_KERNELS } from '../scheduler/candidates.js'
import type { SecurityLevel } from '../security/levels.js'
import type { CpuExecutor } from './executor.js'
import type { CpuKernel } from './kernel.js'
import { BUILTIN_CPU_KERNELS } from './kernels/index.js'
import { isCustomKernel } from './wasm-kernel.js'

/** Custom kernels arrive from other peers as WebAssembly: never below INTERNAL (docs/SECURITY.md). */
const CUSTOM_KERNEL_LEVEL: SecurityLevel = 'INTERNAL'

export class CpuTaskExecutor implements TaskExecutor {
  readonly cpu: CpuExecutor
  private readonly kernelsByName: ReadonlyMap<string, CpuKernel>

  constructor(cpu: CpuExecutor, kernels: ReadonlyMap<string, CpuKernel> = BUILTIN_CPU_KERNELS) {
    this.cpu = cpu
    this.kernelsByName = kernels
    cpu.start()
  }

  kernels(): string[] {
    return [...this.kernelsByName.keys(), CUSTOM_KERNELS]
  }

  levelOf(kernel: string): SecurityLevel | undefined {
    if (isCustomKernel(kernel)) return CUSTOM_KERNEL_LEVEL
    return this.kernelsByName.get(kernel)?.level
  }

  async run(task: TaskRun, options: TaskExecutorRunOptions): Promise<TaskResult> {
    const result = await this.cpu.run(
      {
        kernel: task.kernel,
        input: task.input,
        priority: task.priority,
        timeoutMs: task.timeoutMs,
        module: task.module,
        transferInput: options.owned === true,
      },
      { signal: options.signal, onProgress: options.onProgress },
    )
    return { output: result.output, durationMs: result.durationMs, backend: result.backend }
  }

  load(): { running: number; queueLength: number; queueLimit: number } {
    const stats = this.cpu.stats()
    return { running: stats.running, queueLength: stats.queueLength, queueLimit: stats.queueLimit }
  }

  async stop(): Promise<void> {
    this.cpu.stop()
  }
}
