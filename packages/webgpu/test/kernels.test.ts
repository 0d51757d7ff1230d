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
    // `wgsl` has no CPU twin to agree with: custom-wgsl.browser.test.ts is its own suite.
    kernels: dawnProcess.kernels.filter((kernel) => kernel !== 'wgsl'),
    run: (kernel, input) => dawnProcess.run(kernel, input),
  })

  describe('Dawn in a child process', () => {
    it('reports its adapter and the WGSL kernels', () => {
      expect(dawnProcess.kernels).toEqual(['matmul', 'saxpy', 'mandelbrot', 'wgsl'])
      expect(dawnProcess.adapter.description).not.toBe('')
    })

    it("runs a caller's own shader (wgsl): its bytes cross to the child and back; a syntax error is WGSL_INVALID", async () => {
      const code = `@group(0) @binding(0) var<storage, read_write> v: array<f32>;
        @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
          if (id.x < arrayLength(&v)) { v[id.x] = v[id.x] * 2.0; }
        }`
      const data = new Uint8Array(new Float32Array([1, -2.5, 3]).buffer)
      const output = await dawnProcess.run('wgsl', { code, workgroups: [1], buffers: [{ data, output: true }] })
      expect(Array.from(new Float32Array((output as Uint8Array).slice().buffer))).toEqual([2, -5, 6])
      await expect(
        dawnProcess.run('wgsl', { code: 'fn main( {', workgroups: [1], buffers: [{ size: 4, output: true }] }),
      ).rejects.toMatchObject({
        code: 'WGSL_INVALID',
        message: expect.stringMatching(/^wgsl: the shader does not compile: line 1:/),
      })
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
