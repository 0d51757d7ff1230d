// The kernel compliance suite in Node: the CPU kernels always; Dawn (the `webgpu` package, in a child process) when
// an adapter exists: the machine's own GPU, else Chromium's SwiftShader (a CPU Vulkan) when Chromium is installed.
// Plus what only Node has: a Dawn process that dies fails its runs with a typed error, and the node lives on.

import { isNoodleError } from '@noodlenet/shared'
import { afterAll, describe, expect, it } from 'vitest'
import { DawnProcess } from '../src/node.js'
import { cpuImplementation, kernelComplianceSuite } from './kernel-compliance.js'

kernelComplianceSuite(cpuImplementation)

let dawn: DawnProcess | undefined
let unavailable = ''
try {
  dawn = await DawnProcess.start({ adapter: 'any' })
} catch (err) {
  if (!isNoodleError(err, 'GPU_UNAVAILABLE')) throw err
  unavailable = err.message
}
afterAll(() => dawn?.stop())

if (dawn === undefined) {
  it.skip(`kernel compliance: webgpu (Dawn) [no adapter: ${unavailable}]`, () => {})
} else {
  const dawnProcess = dawn
  kernelComplianceSuite({
    name: `webgpu (Dawn, ${dawnProcess.adapter.architecture || dawnProcess.adapter.vendor})`,
    kernels: dawnProcess.kernels,
    run: (kernel, input) => dawnProcess.run(kernel, input),
  })

  describe('Dawn in a child process', () => {
    it('reports its adapter and the WGSL kernels', () => {
      expect(dawnProcess.kernels).toEqual(['matmul', 'saxpy', 'mandelbrot'])
      expect(dawnProcess.adapter.description).not.toBe('')
    })

    it('refuses a kernel it has no WGSL for with GPU_UNAVAILABLE', async () => {
      await expect(dawnProcess.run('sha256-search', { prefix: 'x', bits: 1 })).rejects.toMatchObject({ code: 'GPU_UNAVAILABLE' })
    })

    it('fails runs with GPU_DEVICE_LOST when the child dies, and the node carries on', async () => {
      const doomed = await DawnProcess.start({ adapter: 'any' })
      const big = Array.from({ length: 256 }, () => Array.from({ length: 256 }, () => 1))
      const running = doomed.run('matmul', { a: big, b: big })
      doomed.kill()
      await expect(running).rejects.toMatchObject({ code: 'GPU_DEVICE_LOST', message: expect.stringMatching(/killed by SIGKILL/) })
      await expect(doomed.run('saxpy', { a: 1, x: [1], y: [1] })).rejects.toMatchObject({ code: 'GPU_DEVICE_LOST' })
      expect(doomed.lost).toBe(true)
      // The other process, and this one, are unaffected.
      expect(await dawnProcess.run('saxpy', { a: 1, x: [1], y: [1] })).toEqual([2])
    })
  })
}
