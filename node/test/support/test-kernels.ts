// The kernels node/test/executor.test.ts adds to its Node kernel workers (createNodeWorkerPool's kernelsModule):
// the isomorphic misbehaving ones plus those only a Node worker can do. Never part of BUILTIN_CPU_KERNELS.

import { MISBEHAVING_KERNELS, testKernel } from '../../../shared/test/test-kernels.js'

export const kernels = [
  ...MISBEHAVING_KERNELS,
  testKernel('test-exit', () => process.exit(3)),
  // Throws outside the task's own code path, where the message loop cannot catch it.
  testKernel(
    'test-uncaught',
    () =>
      new Promise(() => {
        setTimeout(() => {
          throw new Error('thrown at the top level')
        }, 0)
      }),
  ),
  testKernel('test-oom', () => {
    const hoard: unknown[] = []
    for (;;) hoard.push(new Array(100_000).fill({ grow: hoard.length }))
  }),
]
