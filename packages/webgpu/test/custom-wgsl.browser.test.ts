// The `wgsl` kernel in Chromium (navigator.gpu: SwiftShader in headless Chromium): a caller's compute shader over
// its buffers gives the right bytes; a shader that does not compile is WGSL_INVALID with the compiler's message; an
// input or shader that does not fit is TASK_INPUT_INVALID with a sentence saying what is wrong.

import { LIMITS } from '@noodlenet/shared'
import { afterAll, describe, expect, it } from 'vitest'
import { WebGpuRunner } from '../src/index.js'

const runner = await WebGpuRunner.requestDevice(navigator.gpu)
afterAll(() => runner.destroy())

const DOUBLE = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> values: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < arrayLength(&values)) {
    values[id.x] = values[id.x] * 2.0;
  }
}
`

/** Reads an input buffer, writes a sum and a copy plus one: two outputs, a helper function, a 3-D grid. */
const SUM_AND_COPY = /* wgsl */ `
@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> total: atomic<u32>;
@group(0) @binding(2) var<storage, read_write> copy: array<u32>;

fn plusOne(i: u32) -> u32 {
  return input[i] + 1u;
}

@compute @workgroup_size(4)
fn sumAndCopy(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = id.x + 4u * groups.x * (id.y + groups.y * id.z);
  if (i < arrayLength(&input)) {
    atomicAdd(&total, input[i]);
    copy[i] = plusOne(i);
  }
}
`

const bytes = (view: ArrayBufferView): Uint8Array => new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
const floats = (out: unknown): number[] => Array.from(new Float32Array((out as Uint8Array).slice().buffer))
const words = (out: unknown): number[] => Array.from(new Uint32Array((out as Uint8Array).slice().buffer))

describe('wgsl: a compute shader the caller sends', () => {
  it('is an INTERNAL kernel of the runner', () => {
    expect(runner.kernelNames).toContain('wgsl')
    expect(runner.levelOf('wgsl')).toBe('INTERNAL')
  })

  it('doubles an f32 buffer in place and returns its bytes', async () => {
    const input = new Float32Array([1, 2.5, -3, 1e-3, 65_504, 0])
    const out = await runner.run('wgsl', { code: DOUBLE, workgroups: [1], buffers: [{ data: bytes(input), output: true }] })
    expect(out).toBeInstanceOf(Uint8Array)
    expect((out as Uint8Array).byteLength).toBe(24)
    expect(floats(out)).toEqual(Array.from(input, (x) => Math.fround(x * 2)))
  })

  it('binds buffers in order, returns several outputs in buffer order, runs the named entry point over a 3-D grid', async () => {
    const input = Uint32Array.from({ length: 64 }, (_, i) => i)
    const out = await runner.run('wgsl', {
      code: SUM_AND_COPY,
      entryPoint: 'sumAndCopy',
      workgroups: [2, 4, 2],
      buffers: [{ data: input }, { size: 4, output: true }, { size: 64 * 4, output: true }],
    })
    expect(Array.isArray(out)).toBe(true)
    const [total, copy] = out as Uint8Array[]
    expect(words(total)).toEqual([(63 * 64) / 2])
    expect(words(copy)).toEqual(Array.from(input, (i) => i + 1))
  })

  it('returns exactly `size` bytes of a buffer whose size is not a multiple of 4, zeros after its data', async () => {
    const code = /* wgsl */ `
      @group(0) @binding(0) var<storage, read_write> w: array<u32>;
      @compute @workgroup_size(1) fn main() { w[0] = w[0] + 0x01010101u; w[1] = w[1] + 0x01010101u; }
    `
    const out = await runner.run('wgsl', { code, workgroups: [1], buffers: [{ data: Uint8Array.of(1, 2, 3), size: 6, output: true }] })
    expect(Array.from(out as Uint8Array)).toEqual([2, 3, 4, 1, 1, 1])
  })

  it('accepts buffers the entry point does not use (they are not bound)', async () => {
    const code = /* wgsl */ `
      @group(0) @binding(0) var<storage, read_write> unused: array<u32>;
      @group(0) @binding(1) var<storage, read_write> used: array<u32>;
      @compute @workgroup_size(1) fn main() { used[0] = 7u; }
    `
    const out = await runner.run('wgsl', { code, workgroups: [1], buffers: [{ size: 4 }, { size: 4, output: true }] })
    expect(words(out)).toEqual([7])
  })

  it('gives the same answer for the same shader again (compiled once, kept per device)', async () => {
    const input = new Float32Array([3, 4])
    const run = () => runner.run('wgsl', { code: DOUBLE, workgroups: [1], buffers: [{ data: bytes(input), output: true }] })
    expect(floats(await run())).toEqual([6, 8])
    expect(floats(await run())).toEqual([6, 8])
  })
})

describe('wgsl: shaders that do not compile or do not fit', () => {
  const one = { workgroups: [1], buffers: [{ size: 4, output: true }] }

  it('a syntax error is WGSL_INVALID with the line and the compiler’s first message, and the runner carries on', async () => {
    const code = '@group(0) @binding(0) var<storage, read_write> v: array<u32>;\n@compute @workgroup_size(1)\nfn main() { v[0] = 1u +; }\n'
    const error = await runner.run('wgsl', { ...one, code }).catch((err: unknown) => err)
    expect(error).toMatchObject({
      code: 'WGSL_INVALID',
      message: expect.stringMatching(/^wgsl: the shader does not compile: line 3:\d+: \S/),
    })
    expect(
      floats(await runner.run('wgsl', { code: DOUBLE, workgroups: [1], buffers: [{ data: bytes(new Float32Array([1])), output: true }] })),
    ).toEqual([2])
  })

  it('a type error is WGSL_INVALID too', async () => {
    const code = '@group(0) @binding(0) var<storage, read_write> v: array<u32>;\n@compute @workgroup_size(1) fn main() { v[0] = 1.5; }'
    await expect(runner.run('wgsl', { ...one, code })).rejects.toMatchObject({
      code: 'WGSL_INVALID',
      message: expect.stringMatching(/line 2/),
    })
  })

  it('a workgroup larger than the device allows is WGSL_INVALID: the pipeline is refused', async () => {
    const code = '@group(0) @binding(0) var<storage, read_write> v: array<u32>;\n@compute @workgroup_size(1024) fn main() { v[0] = 1u; }'
    await expect(runner.run('wgsl', { ...one, code })).rejects.toMatchObject({
      code: 'WGSL_INVALID',
      message: expect.stringMatching(/WebGPU refused its compute pipeline \(entry point main\)/),
    })
  })

  it.each([
    [
      'an entry point that is not there',
      { ...one, code: DOUBLE, entryPoint: 'double' },
      /no @compute function named double \(it has main\)/,
    ],
    [
      'a uniform buffer',
      { ...one, code: '@group(0) @binding(0) var<uniform> u: vec4f;\n@compute @workgroup_size(1) fn main() { _ = u; }' },
      /the shader's u is @group\(0\) @binding\(0\), a uniform buffer; only storage buffers at @group\(0\) are bound/,
    ],
    [
      'a binding beyond the buffers',
      {
        ...one,
        code: '@group(0) @binding(1) var<storage, read_write> v: array<u32>;\n@compute @workgroup_size(1) fn main() { v[0] = 1u; }',
      },
      /the shader's v is @binding\(1\), but there is 1 buffer \(binding 0\)/,
    ],
    [
      'a buffer smaller than its fixed-size type',
      {
        ...one,
        code: '@group(0) @binding(0) var<storage, read_write> v: array<u32, 4>;\n@compute @workgroup_size(1) fn main() { v[3] = 1u; }',
      },
      /buffers\[0\] has 4 bytes, but the shader's v needs at least 16/,
    ],
  ])('%s is TASK_INPUT_INVALID', async (_what, input, message) => {
    await expect(runner.run('wgsl', input)).rejects.toMatchObject({ code: 'TASK_INPUT_INVALID', message: expect.stringMatching(message) })
  })
})

describe('wgsl: inputs outside the limits are TASK_INPUT_INVALID before any GPU work', () => {
  const code = DOUBLE
  const out = { size: 4, output: true }
  it.each([
    ['no code', { workgroups: [1], buffers: [out] }, /code is missing/],
    ['code that is not a string', { code: 1, workgroups: [1], buffers: [out] }, /code must be the WGSL source/],
    [
      'too much code',
      { code: ' '.repeat(LIMITS.kernelWgslMaxCodeChars + 1), workgroups: [1], buffers: [out] },
      /code is longer than 65536/,
    ],
    ['no buffers', { code, workgroups: [1], buffers: [] }, /buffers is empty/],
    ['too many buffers', { code, workgroups: [1], buffers: Array.from({ length: 9 }, () => out) }, /has more than 8 buffers/],
    ['no output', { code, workgroups: [1], buffers: [{ size: 4 }] }, /no buffer is marked output/],
    ['a buffer of nothing', { code, workgroups: [1], buffers: [{ output: true }] }, /buffers\[0\] has neither data nor size/],
    ['data that is not bytes', { code, workgroups: [1], buffers: [{ data: [1, 2], output: true }] }, /buffers\.0\.data must be bytes/],
    [
      'data beyond its size',
      { code, workgroups: [1], buffers: [{ data: new Uint8Array(8), size: 4, output: true }] },
      /has 8 bytes, more than its size 4/,
    ],
    [
      'buffers larger than the limit together',
      { code, workgroups: [1], buffers: [{ size: 9 << 20 }, { size: 9 << 20, output: true }] },
      /hold 18874368 bytes together, more than 16777216/,
    ],
    ['zero workgroups', { code, workgroups: [0], buffers: [out] }, /workgroups\.0 must be a whole number from 1 to 65535/],
    ['four dimensions', { code, workgroups: [1, 1, 1, 1], buffers: [out] }, /workgroups must have at most 3 dimensions/],
    ['too many workgroups in all', { code, workgroups: [65_535, 65_535], buffers: [out] }, /are 4294836225 in all, more than 4194304/],
    [
      'an entry point that is not a name',
      { code, entryPoint: 'main()', workgroups: [1], buffers: [out] },
      /entryPoint must be a WGSL function name/,
    ],
  ])('%s', async (_what, input, message) => {
    const error = await runner.run('wgsl', input).catch((err: unknown) => err)
    expect(error).toMatchObject({ code: 'TASK_INPUT_INVALID', message: expect.stringMatching(/^wgsl input is invalid: /) })
    expect((error as Error).message).toMatch(message)
    expect((error as { sentence: string }).sentence).toMatch(/It must be \{code: string, entryPoint\?: string, workgroups: \[x, y\?, z\?\]/)
  })
})
