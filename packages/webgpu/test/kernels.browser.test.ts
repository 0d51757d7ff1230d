// The kernel compliance suite in Chromium: the CPU kernels, and the WGSL kernels on navigator.gpu (SwiftShader in
// headless Chromium with --enable-unsafe-webgpu, vite.config.ts). Plus the runner's own behaviour: typed errors for
// an unknown kernel, a cancelled run and a destroyed device.

import { afterAll, describe, expect, it } from 'vitest'
import { WebGpuRunner } from '../src/index.js'
import { cpuImplementation, kernelComplianceSuite } from './kernel-compliance.js'

kernelComplianceSuite(cpuImplementation)

it('Chromium exposes WebGPU (navigator.gpu, --enable-unsafe-webgpu)', () => {
  expect(navigator.gpu).toBeDefined()
})

const runner = navigator.gpu === undefined ? undefined : await WebGpuRunner.requestDevice(navigator.gpu)
afterAll(() => runner?.destroy())

if (runner !== undefined) {
  kernelComplianceSuite({
    name: `webgpu (Chromium, ${runner.adapter.architecture || runner.adapter.vendor})`,
    // `wgsl` has no CPU twin to agree with: custom-wgsl.browser.test.ts is its own suite.
    kernels: runner.kernelNames.filter((kernel) => kernel !== 'wgsl'),
    run: (kernel, input) => runner.run(kernel, input),
  })

  describe('WebGpuRunner', () => {
    it('refuses a kernel it has no WGSL for with GPU_UNAVAILABLE', async () => {
      await expect(runner.run('echo', 1)).rejects.toMatchObject({ code: 'GPU_UNAVAILABLE' })
    })

    it('ends a run whose signal is already aborted with TASK_ABORTED', async () => {
      const controller = new AbortController()
      controller.abort(new Error('deadline'))
      await expect(runner.run('saxpy', { a: 1, x: [1], y: [1] }, { signal: controller.signal, progress: () => {} })).rejects.toMatchObject({
        code: 'TASK_ABORTED',
        message: 'saxpy was cancelled: deadline',
      })
    })

    it('runs concurrent requests one after another, each with its own result', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => runner.run('saxpy', { a: i, x: [1, 2], y: [0, 0] })))
      expect(results).toEqual(Array.from({ length: 8 }, (_, i) => [i, 2 * i]))
    })

    it('fails every run after its device is destroyed with GPU_DEVICE_LOST', async () => {
      const own = await WebGpuRunner.requestDevice(navigator.gpu)
      expect(await own.run('saxpy', { a: 2, x: [1], y: [1] })).toEqual([3])
      own.destroy()
      await expect(own.run('saxpy', { a: 2, x: [1], y: [1] })).rejects.toMatchObject({ code: 'GPU_DEVICE_LOST' })
      expect(own.lost).toBe(true)
    })
  })
}
