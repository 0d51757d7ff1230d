// One suite that every implementation of the built-in kernels must pass: the CPU kernels (shared/src/exec/kernels)
// and each WebGPU backend (Chromium's navigator.gpu, Dawn in a Node child process). For every kernel the
// implementation has, fixed and fast-check-generated inputs go through it and through the CPU kernel, and the two
// must agree within the kernel's tolerance below (docs/KERNELS.md). The CPU kernel itself is checked against an
// independent reference written here (naive loops, WebCrypto's digest).
// kernels.test.ts (Node) and kernels.browser.test.ts (Chromium) run it for each implementation in their realm.

import { BUILTIN_CPU_KERNELS, type KernelContext, type MandelbrotInput } from '@noodlenet/shared'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

export interface KernelImplementation {
  /** e.g. `cpu`, `webgpu (Chromium, swiftshader)`. */
  name: string
  /** The kernels it implements. */
  kernels: readonly string[]
  /** Validates and runs `kernel` on `input` (the same wire-shaped input a task carries). */
  run(kernel: string, input: unknown): Promise<unknown>
}

const NO_CONTEXT: KernelContext = { signal: new AbortController().signal, progress: () => {} }

/** The CPU kernels as an implementation: the reference every other one is compared with. */
export const cpuImplementation: KernelImplementation = {
  name: 'cpu',
  kernels: [...BUILTIN_CPU_KERNELS.keys()],
  run: async (name, input) => {
    const kernel = BUILTIN_CPU_KERNELS.get(name)
    if (kernel === undefined) throw new Error(`no CPU kernel ${name}`)
    return kernel.run(kernel.validate(input), NO_CONTEXT)
  },
}

/** f32's unit roundoff (half an ulp of 1) and f64's; f32's smallest normal number. */
const U32 = 2 ** -24
const U64 = 2 ** -53
const F32_MIN_NORMAL = 2 ** -126

/**
 * Tolerances, f32 on the GPU against f64 or f32 on the CPU (docs/KERNELS.md):
 * - matmul: |gpu − cpu| ≤ ((k + 2)·u32 + k·u64)·(|a|·|b|) + (k + 1)·2^-126 per element: the classic bound for a k-term dot product
 *   in f32 (k roundings) plus rounding both inputs to f32 (2), plus the CPU's own f64 error; an FMA only tightens it.
 *   A GPU may flush subnormal values to zero (WGSL allows it; SwiftShader does): each of the k products and the result
 *   may lose up to 2^-126 more, so (k + 1)·2^-126 is added. Subnormal inputs are outside the bound (generated inputs
 *   have none: they are flushed to 0 first).
 * - saxpy: both compute f32(a·x + y) from f32 operands; a GPU may round a·x before adding (two roundings) or fuse
 *   (one), and flush a subnormal a·x or result: |gpu − cpu| ≤ 2·u32·(|a·x| + |y|) + 2·2^-126.
 * - mandelbrot: the same f32 operations in the same order on both, so equal wherever the GPU rounds every operation
 *   (SwiftShader does: exact here). A GPU that fuses multiply-adds (an H100 through Dawn does: 301 of 4,096 pixels
 *   of the boundary zoom below differ) may change by any amount a pixel whose count changes when the CPU fuses them
 *   (mandelbrotDeviation); of the other pixels at most 1 % (at least one) may differ.
 * - echo, delay, sha256-search: exact (CPU only).
 */
export const TOLERANCE = {
  /** Element (i, j) of a product with inner dimension k, given (|a|·|b|)_ij. */
  matmul: (k: number, magnitude: number): number => ((k + 2) * U32 + k * U64) * magnitude + (k + 1) * F32_MIN_NORMAL,
  /** Element i, given a·x[i] and y[i]. */
  saxpy: (ax: number, y: number): number => 2 * U32 * (Math.abs(ax) + Math.abs(y)) + 2 * F32_MIN_NORMAL,
  /** Pixels of a tile that may differ where fused multiply-adds do not explain it. */
  mandelbrotPixels: (pixels: number): number => Math.max(1, Math.floor(0.01 * pixels)),
} as const

interface KernelCases {
  /** Named inputs, each with the CPU kernel's exact expected output where it is known. */
  fixed: Array<{ what: string; input: unknown; expected?: unknown }>
  generated: fc.Arbitrary<unknown>
  /** fast-check runs per implementation (fewer where a run is slow). */
  runs: number
  /** The CPU kernel's output against the independent reference (throws when they differ). */
  checkCpu(output: unknown, input: unknown): void | Promise<void>
  /** Another implementation's output against the CPU kernel's, within the tolerance. */
  agree(actual: unknown, cpu: unknown, input: unknown): void
}

/** Finite f32 values in ±limit with subnormals flushed to 0 (outside the tolerance, see above). */
const f32 = (limit: number) =>
  fc
    .float({ min: Math.fround(-limit), max: Math.fround(limit), noNaN: true, noDefaultInfinity: true })
    .map((x) => (Math.abs(x) < 2 ** -126 ? 0 : x))
const matrix = (rows: number, columns: number, value: fc.Arbitrary<number>) =>
  fc.array(fc.array(value, { minLength: columns, maxLength: columns }), { minLength: rows, maxLength: rows })

/** A chaotic tile: most of its pixels lie near the set's boundary, where one rounding can change a count. */
export const MANDELBROT_BOUNDARY_ZOOM: MandelbrotInput = {
  x0: -0.75,
  y0: 0.1,
  x1: -0.74,
  y1: 0.11,
  width: 64,
  height: 64,
  maxIterations: 500,
}

const CASES: Record<string, KernelCases> = {
  echo: {
    fixed: [
      { what: 'a nested object', input: { a: [1, 'two', null, { three: true }] }, expected: { a: [1, 'two', null, { three: true }] } },
      { what: 'bytes', input: new Uint8Array([1, 2, 3]), expected: new Uint8Array([1, 2, 3]) },
    ],
    generated: fc.jsonValue(),
    runs: 50,
    checkCpu: (output, input) => expect(output).toStrictEqual(input),
    agree: (actual, cpu) => expect(actual).toStrictEqual(cpu),
  },
  delay: {
    fixed: [
      { what: 'a value after 1 ms', input: { ms: 1, value: { done: true } }, expected: { done: true } },
      { what: 'no value', input: { ms: 0 }, expected: null },
    ],
    generated: fc.record({ ms: fc.integer({ min: 0, max: 3 }), value: fc.jsonValue() }),
    runs: 10,
    checkCpu: (output, input) => expect(output).toStrictEqual((input as { value?: unknown }).value ?? null),
    agree: (actual, cpu) => expect(actual).toStrictEqual(cpu),
  },
  matmul: {
    fixed: [
      {
        what: '2×2 integers',
        input: {
          a: [
            [1, 2],
            [3, 4],
          ],
          b: [
            [5, 6],
            [7, 8],
          ],
        },
        expected: [
          [19, 22],
          [43, 50],
        ],
      },
      { what: '1×3 by 3×1 (a dot product)', input: { a: [[1, -2, 3]], b: [[4], [5], [-6]] }, expected: [[-24]] },
      { what: 'identity', input: { a: identity(17), b: counting(17, 5) }, expected: counting(17, 5) },
      // Sizes that are not multiples of the WGSL's 64×64 block or its 16-deep steps along k, within one block and
      // across several.
      { what: '33×17 by 17×31 integers', input: { a: counting(33, 17), b: counting(17, 31) } },
      {
        what: '130×37 by 37×70 integers (3×2 blocks, ragged)',
        input: { a: counting(130, 37), b: counting(37, 70) },
        expected: naiveProduct(counting(130, 37), counting(37, 70)),
      },
      { what: '64×64 fractions', input: { a: fractions(64, 64, 1), b: fractions(64, 64, 2) } },
    ],
    generated: fc
      .record({ m: fc.integer({ min: 1, max: 40 }), k: fc.integer({ min: 1, max: 40 }), n: fc.integer({ min: 1, max: 40 }) })
      .chain(({ m, k, n }) => fc.record({ a: matrix(m, k, f32(1000)), b: matrix(k, n, f32(1000)) })),
    runs: 25,
    checkCpu(output, input) {
      const { a, b } = input as { a: number[][]; b: number[][] }
      const k = b.length
      const exact = naiveProduct(a, b)
      const scale = naiveProduct(abs(a), abs(b))
      expectWithin(output as number[][], exact, (i, j) => 2 * (k + 2) * U64 * scale[i][j], 'CPU matmul vs naive f64 product')
    },
    agree(actual, cpu, input) {
      const { a, b } = input as { a: number[][]; b: number[][] }
      const k = b.length
      const scale = naiveProduct(abs(a), abs(b))
      expectWithin(actual as number[][], cpu as number[][], (i, j) => TOLERANCE.matmul(k, scale[i][j]), 'matmul vs the CPU kernel')
    },
  },
  saxpy: {
    fixed: [
      { what: 'small integers', input: { a: 2, x: [1, 2, 3], y: [10, 20, 30] }, expected: [12, 24, 36] },
      { what: 'a Float32Array', input: { a: -0.5, x: new Float32Array([2, 4]), y: new Float32Array([1, 1]) }, expected: [0, -1] },
      { what: 'f32 rounding', input: { a: 0.1, x: [3], y: [0.2] }, expected: [Math.fround(Math.fround(0.1) * 3 + Math.fround(0.2))] },
      {
        what: '1000 elements (four workgroups)',
        input: { a: 1.5, x: Array.from({ length: 1000 }, (_, i) => i), y: Array.from({ length: 1000 }, (_, i) => -i) },
      },
    ],
    generated: fc.integer({ min: 1, max: 300 }).chain((n) =>
      fc.record({
        a: f32(1e6),
        x: fc.array(f32(1e6), { minLength: n, maxLength: n }),
        y: fc.array(f32(1e6), { minLength: n, maxLength: n }),
      }),
    ),
    runs: 25,
    checkCpu(output, input) {
      const { a, x, y } = input as { a: number; x: ArrayLike<number>; y: ArrayLike<number> }
      const f = Math.fround
      // a·x of f32 values is exact in f64; one f64 addition, then f32.
      expect(output).toStrictEqual(Array.from(x, (xi, i) => f(f(a) * f(xi) + f(y[i]))))
    },
    agree(actual, cpu, input) {
      const { a, x, y } = input as { a: number; x: ArrayLike<number>; y: ArrayLike<number> }
      const expected = cpu as number[]
      expect((actual as number[]).length).toBe(expected.length)
      expectWithin([actual as number[]], [expected], (_, i) => TOLERANCE.saxpy(Math.fround(a) * x[i], y[i]), 'saxpy vs the CPU kernel')
    },
  },
  mandelbrot: {
    fixed: [
      {
        what: 'the whole set, 48×32, 100 iterations',
        input: { x0: -2.5, y0: -1.25, x1: 1, y1: 1.25, width: 48, height: 32, maxIterations: 100 },
      },
      // c = 0 never escapes; c = 1 escapes after 3 iterations (z: 0 → 1 → 2 → 5, and |5|² > 4).
      { what: 'known points', input: { x0: -0.5, y0: -0.5, x1: 0.5, y1: 0.5, width: 1, height: 1, maxIterations: 50 }, expected: [50] },
      { what: 'c = 1', input: { x0: 0.5, y0: -0.5, x1: 1.5, y1: 0.5, width: 1, height: 1, maxIterations: 50 }, expected: [3] },
      { what: 'a boundary zoom, 64×64, 500 iterations', input: MANDELBROT_BOUNDARY_ZOOM },
      { what: 'one column, 17 rows', input: { x0: -1, y0: -1, x1: -0.9, y1: 1, width: 1, height: 17, maxIterations: 40 } },
    ],
    generated: fc
      .record({
        cx: fc.double({ min: -2, max: 1, noNaN: true }),
        cy: fc.double({ min: -1.5, max: 1.5, noNaN: true }),
        span: fc.double({ min: 1e-3, max: 4, noNaN: true }),
        width: fc.integer({ min: 1, max: 48 }),
        height: fc.integer({ min: 1, max: 48 }),
        maxIterations: fc.integer({ min: 1, max: 300 }),
      })
      .map(({ cx, cy, span, width, height, maxIterations }) => ({
        x0: cx - span / 2,
        y0: cy - span / 2,
        x1: cx + span / 2,
        y1: cy + span / 2,
        width,
        height,
        maxIterations,
      })),
    runs: 25,
    checkCpu(output, input) {
      expect(output).toStrictEqual(naiveMandelbrot(input as MandelbrotInput))
    },
    agree(actual, cpu, input) {
      const { differing, unexplained, pixels } = mandelbrotDeviation(actual as number[], cpu as number[], input as MandelbrotInput)
      expect(
        unexplained,
        `${differing} of ${pixels} pixels differ, ${unexplained} of them where fusing multiply-adds leaves the count alone`,
      ).toBeLessThanOrEqual(TOLERANCE.mandelbrotPixels(pixels))
    },
  },
  'sha256-search': {
    fixed: [
      { what: '12 bits after "noodlenet"', input: { prefix: 'noodlenet', bits: 12 } },
      { what: 'bits 0: the first nonce', input: { prefix: 'x', bits: 0, start: 7 } },
      { what: 'a byte prefix', input: { prefix: new Uint8Array([0, 255, 10]), bits: 8, start: 100 } },
      { what: 'nothing in a short range', input: { prefix: 'noodlenet', bits: 24, start: 0, count: 50 }, expected: { found: false } },
    ],
    generated: fc.record({
      prefix: fc.oneof(fc.string({ maxLength: 80 }), fc.uint8Array({ maxLength: 130 })),
      bits: fc.integer({ min: 0, max: 9 }),
      start: fc.integer({ min: 0, max: 1_000_000 }),
      count: fc.integer({ min: 1, max: 2_000 }),
    }),
    runs: 15,
    async checkCpu(output, input) {
      expect(output).toStrictEqual(await naiveSearch(input as SearchInput))
    },
    agree: (actual, cpu) => expect(actual).toStrictEqual(cpu),
  },
}

export function kernelComplianceSuite(subject: KernelImplementation): void {
  describe(`kernel compliance: ${subject.name}`, () => {
    it('implements only kernels that have a CPU kernel and cases here', () => {
      for (const kernel of subject.kernels) {
        expect(BUILTIN_CPU_KERNELS.has(kernel), kernel).toBe(true)
        expect(CASES[kernel], kernel).toBeDefined()
      }
    })

    for (const kernel of subject.kernels) {
      const cases = CASES[kernel]
      if (cases === undefined) continue
      const compare = async (input: unknown): Promise<{ cpu: unknown }> => {
        const cpu = await cpuImplementation.run(kernel, input)
        await cases.checkCpu(cpu, input)
        if (subject !== cpuImplementation) cases.agree(await subject.run(kernel, input), cpu, input)
        return { cpu }
      }

      describe(kernel, () => {
        for (const { what, input, expected } of cases.fixed) {
          it(`agrees with the CPU kernel: ${what}`, async () => {
            const { cpu } = await compare(input)
            if (expected !== undefined) expect(cpu).toStrictEqual(expected)
          })
        }
        it(`agrees with the CPU kernel on ${cases.runs} generated inputs`, async () => {
          await fc.assert(
            fc.asyncProperty(cases.generated, async (input) => {
              await compare(input)
            }),
            { numRuns: cases.runs },
          )
        })
        if (kernel !== 'echo') {
          it('refuses an invalid input with TASK_INPUT_INVALID and a sentence, as the CPU kernel does', async () => {
            await expect(subject.run(kernel, { nonsense: true })).rejects.toMatchObject({
              code: 'TASK_INPUT_INVALID',
              message: expect.stringMatching(new RegExp(`^${kernel} input is invalid: .+`)),
            })
          })
        }
      })
    }
  })
}

// The independent references: written for clarity, not speed, and sharing no code with the kernels.

function naiveProduct(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0].map((_, j) => row.reduce((sum, aip, p) => sum + aip * b[p][j], 0)))
}

function abs(m: number[][]): number[][] {
  return m.map((row) => row.map(Math.abs))
}

function identity(n: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)))
}

function counting(rows: number, columns: number): number[][] {
  return Array.from({ length: rows }, (_, i) => Array.from({ length: columns }, (_, j) => ((i * columns + j) % 13) - 6))
}

function fractions(rows: number, columns: number, seed: number): number[][] {
  return Array.from({ length: rows }, (_, i) => Array.from({ length: columns }, (_, j) => Math.sin(seed * 1000 + i * columns + j) * 10))
}

/** |actual − expected| ≤ bound(i, j) for every element. */
function expectWithin(actual: number[][], expected: number[][], bound: (i: number, j: number) => number, what: string): void {
  expect(actual.length, `${what}: rows`).toBe(expected.length)
  let worst = { excess: 0, at: '' }
  expected.forEach((row, i) => {
    expect(actual[i].length, `${what}: columns of row ${i}`).toBe(row.length)
    row.forEach((value, j) => {
      const error = Math.abs(actual[i][j] - value)
      const excess = error - bound(i, j)
      if (!(excess <= 0) && !(excess < worst.excess))
        worst = { excess, at: `[${i}][${j}]: ${actual[i][j]} vs ${value}, bound ${bound(i, j)}` }
    })
  })
  expect(worst.at, `${what}: outside the tolerance`).toBe('')
}

/** The definition in docs/KERNELS.md, in f32: centres computed in f64 and rounded once, then every operation rounded. */
function naiveMandelbrot(input: MandelbrotInput): number[] {
  return mandelbrotF32(input, UNFUSED)
}

/** Which multiply-adds of an iteration are fused (one rounding, as an FMA instruction does): in |z|² = zx² + zy²,
 *  the square that is not rounded first (0: none); in zx² − zy², likewise; in 2·zx·zy + cy, whether it is. */
export interface Fusion {
  norm: 0 | 'zx' | 'zy'
  real: 0 | 'zx' | 'zy'
  imag: boolean
}
export const UNFUSED: Fusion = { norm: 0, real: 0, imag: false }
/** The ways a compiler may contract the WGSL's multiply-adds (each expression either way, or only 2·zx·zy + cy). */
export const FUSIONS: Fusion[] = [
  { norm: 'zx', real: 'zx', imag: true },
  { norm: 'zy', real: 'zy', imag: true },
  { norm: 0, real: 0, imag: true },
]

/** mandelbrot in f32 with the multiply-adds fused as `fusion` says. An f32 product is exact in f64 (48 bits), so
 *  fround(a·b + c) is the FMA, bar a rare double rounding of the sum. */
export function mandelbrotF32({ x0, y0, x1, y1, width, height, maxIterations }: MandelbrotInput, fusion: Fusion): number[] {
  const f = Math.fround
  const counts: number[] = []
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < width; i++) {
      const cx = f(x0 + (i + 0.5) * ((x1 - x0) / width))
      const cy = f(y0 + (j + 0.5) * ((y1 - y0) / height))
      let [zx, zy, n] = [0, 0, 0]
      for (; n < maxIterations; n++) {
        const [zx2, zy2] = [f(zx * zx), f(zy * zy)]
        const norm = fusion.norm === 'zx' ? f(zx * zx + zy2) : fusion.norm === 'zy' ? f(zy * zy + zx2) : f(zx2 + zy2)
        if (norm > 4) break
        const real = fusion.real === 'zx' ? f(zx * zx - zy2) : fusion.real === 'zy' ? f(zx2 - zy * zy) : f(zx2 - zy2)
        const twoZx = f(zx + zx)
        ;[zx, zy] = [f(real + cx), fusion.imag ? f(twoZx * zy + cy) : f(f(twoZx * zy) + cy)]
      }
      counts.push(n)
    }
  }
  return counts
}

/**
 * How far a backend's mandelbrot tile is from the CPU kernel's: the pixels that differ, and of those the ones that
 * fused multiply-adds do not explain. A pixel whose orbit passes close to the escape radius changes its count when one
 * rounding changes; a GPU compiler may contract a multiply and an add into one FMA (NVIDIA's Vulkan driver does), so
 * such a pixel may differ by any amount. The explained ones are those whose count changes under one of FUSIONS.
 */
export function mandelbrotDeviation(
  actual: number[],
  cpu: number[],
  input: MandelbrotInput,
): { pixels: number; differing: number; unexplained: number } {
  expect(actual.length).toBe(cpu.length)
  const differing = actual.flatMap((count, i) => (count === cpu[i] ? [] : [i]))
  const fused = differing.length === 0 ? [] : FUSIONS.map((fusion) => mandelbrotF32(input, fusion))
  const unexplained = differing.filter((i) => fused.every((counts) => counts[i] === cpu[i])).length
  return { pixels: actual.length, differing: differing.length, unexplained }
}

interface SearchInput {
  prefix: string | Uint8Array
  bits: number
  start?: number
  count?: number
}

/** Scans the range with WebCrypto's digest, one nonce at a time. */
async function naiveSearch({ prefix, bits, start = 0, count = 2 ** 32 }: SearchInput): Promise<unknown> {
  const head = typeof prefix === 'string' ? new TextEncoder().encode(prefix) : prefix
  for (let nonce = start; nonce < start + count; nonce++) {
    const digits = new TextEncoder().encode(String(nonce))
    const message = new Uint8Array(head.length + digits.length)
    message.set(head)
    message.set(digits, head.length)
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', message))
    const bitString = Array.from(digest, (byte) => byte.toString(2).padStart(8, '0')).join('')
    if (bitString.startsWith('0'.repeat(bits))) {
      return { found: true, nonce, hash: Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('') }
    }
  }
  return { found: false }
}
