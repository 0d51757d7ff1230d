// CpuTaskExecutor's routing between the CPU workers and the GPU runner: a kernel only the GPU runner has (`wgsl`, a
// caller's own shader) is listed in the node's kernels, carries its runner's level (INTERNAL where the runner does not
// say) and runs on the GPU whether or not the task asked for one.

import { afterEach, describe, expect, it } from 'vitest'
import { CpuExecutor, CpuTaskExecutor, type GpuTaskRunner, type KernelContext, type WorkerPool } from '../src/index.js'
import { failure } from './executor-support.js'

/** A pool that must not be used: these tasks never reach a CPU worker. */
const NO_WORKERS: WorkerPool = {
  spawn() {
    throw new Error('a CPU worker was asked for')
  },
}

/** A GPU runner with `saxpy` (a twin of the CPU kernel) and `wgsl` (GPU only); it records what it ran. */
function fakeGpu(options: { levels?: boolean } = {}): GpuTaskRunner & { ran: string[] } {
  const kernels = ['saxpy', 'wgsl']
  const ran: string[] = []
  return {
    ran,
    kernelNames: kernels,
    has: (kernel) => kernels.includes(kernel),
    ...(options.levels === false ? {} : { levelOf: (kernel: string) => (kernel === 'wgsl' ? ('INTERNAL' as const) : 'PUBLIC') }),
    async run(kernel: string, input: unknown, _context: KernelContext) {
      ran.push(kernel)
      return { kernel, input }
    },
  }
}

const executors: CpuTaskExecutor[] = []
afterEach(async () => {
  for (const executor of executors.splice(0)) await executor.stop()
})

function executor(gpu?: GpuTaskRunner): CpuTaskExecutor {
  const made = new CpuTaskExecutor(new CpuExecutor({ pool: NO_WORKERS, concurrency: 1 }), { gpu })
  executors.push(made)
  return made
}

const run = { signal: new AbortController().signal }

describe('CpuTaskExecutor with a GPU runner', () => {
  it('lists the GPU-only kernels after the CPU ones, once, and none without a GPU', () => {
    const kernels = executor(fakeGpu()).kernels()
    expect(kernels).toContain('wgsl')
    expect(kernels.filter((kernel) => kernel === 'saxpy')).toHaveLength(1)
    expect(kernels.at(-1)).toBe('wgsl')
    expect(executor().kernels()).not.toContain('wgsl')
  })

  it("takes a GPU-only kernel's level from its runner, INTERNAL where the runner does not say; a CPU kernel's from the CPU kernel", () => {
    expect(executor(fakeGpu()).levelOf('wgsl')).toBe('INTERNAL')
    expect(executor(fakeGpu({ levels: false })).levelOf('wgsl')).toBe('INTERNAL')
    expect(executor(fakeGpu()).levelOf('saxpy')).toBe('PUBLIC')
    expect(executor().levelOf('wgsl')).toBeUndefined()
  })

  it('runs a GPU-only kernel on the GPU without `gpu` in the task; a kernel with a CPU twin only when asked', async () => {
    const gpu = fakeGpu()
    const tasks = executor(gpu)
    const result = await tasks.run({ kernel: 'wgsl', input: 1, priority: 5 }, run)
    expect(result).toMatchObject({ output: { kernel: 'wgsl', input: 1 }, backend: 'webgpu' })
    await tasks.run({ kernel: 'saxpy', input: 2, priority: 5, gpu: true }, run)
    expect(gpu.ran).toEqual(['wgsl', 'saxpy'])
  })

  it('a peer without a GPU answers a wgsl task with GPU_UNAVAILABLE', async () => {
    const error = await failure(executor().run({ kernel: 'wgsl', input: 1, priority: 5, gpu: true }, run))
    expect(error.code).toBe('GPU_UNAVAILABLE')
  })
})
