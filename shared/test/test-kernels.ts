// CPU kernels that misbehave on purpose, for the executor tests' worker entries (node/test/support,
// packages/noodlenet/test/support): never part of BUILTIN_CPU_KERNELS. Worker-safe: no test framework imports.

import type { CpuKernel } from '../src/index.js'

const plain = { level: 'PUBLIC' as const, summary: 'misbehaves for a test', validate: (input: unknown) => input }

/** `test-throw` throws; `test-hang` loops synchronously, so its signal can never fire and only terminating its
 *  worker ends it. */
export const MISBEHAVING_KERNELS: CpuKernel[] = [
  {
    ...plain,
    name: 'test-throw',
    run: () => {
      throw new Error('the kernel broke')
    },
  },
  {
    ...plain,
    name: 'test-hang',
    run: () => {
      for (;;) {}
    },
  },
]

/** A kernel named `name` that does `run`, for kernels only one platform can have (process.exit on Node). */
export function testKernel(name: string, run: () => unknown): CpuKernel {
  return { ...plain, name, run }
}
