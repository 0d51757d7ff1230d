// saxpy: a·x + y over two vectors, in single precision as BLAS names it. Every backend rounds a, x and y to f32 and
// returns f32 values, so the CPU kernel and the WGSL one agree to within an ulp or two (docs/KERNELS.md).

import * as v from 'valibot'
import { LIMITS } from '../../limits.js'
import type { CpuKernel } from '../kernel.js'
import { KernelPacer } from './pacing.js'
import { F32_MAX, f32Number, invalidInput, packNumbers, parseInput } from './validation.js'

/** x and y have the same length n (1 to 2^21); every number finite and within ±3.4e38. */
export interface SaxpyInput {
  a: number
  x: number[] | Float32Array
  y: number[] | Float32Array
}
/** out[i] = f32(a·x[i] + y[i]), n numbers (each exactly representable in f32), as a plain array so it crosses the
 *  wire codec, which carries only Uint8Array as binary. */
export type SaxpyOutput = number[]

/** What `validate` returns: a, x and y rounded to f32. */
export interface SaxpyOperands {
  a: number
  x: Float32Array
  y: Float32Array
}

const SHAPE = `{a: number, x: number[] | Float32Array, y: number[] | Float32Array} with x and y of the same length, 1 to ${LIMITS.kernelSaxpyMaxLength.toLocaleString('en')}`
const Vector = v.union([v.instance(Float32Array), v.array(v.unknown())], 'must be a number[] or a Float32Array')
const SaxpyInputSchema = v.object({ a: f32Number(), x: Vector, y: Vector }, 'must be an object {a, x, y}')

export const saxpyKernel: CpuKernel<SaxpyOperands, SaxpyOutput> = {
  name: 'saxpy',
  level: 'PUBLIC',
  summary: 'Computes a·x + y for vectors x and y in single precision (f32).',
  validate(input) {
    const { a, x, y } = parseInput('saxpy', SaxpyInputSchema, input, SHAPE)
    if (x.length !== y.length) invalidInput('saxpy', `x has ${x.length} elements but y has ${y.length}`, SHAPE)
    if (x.length === 0) invalidInput('saxpy', 'x and y are empty', SHAPE)
    if (x.length > LIMITS.kernelSaxpyMaxLength)
      invalidInput('saxpy', `x and y have ${x.length} elements, more than ${LIMITS.kernelSaxpyMaxLength}`, SHAPE)
    return { a: Math.fround(a), x: toF32('x', x), y: toF32('y', y) }
  },
  async run({ a, x, y }, context) {
    const pacer = new KernelPacer('saxpy', context)
    const out: number[] = new Array(x.length)
    const chunk = 1 << 16
    for (let start = 0; start < x.length; start += chunk) {
      const end = Math.min(x.length, start + chunk)
      // a·x[i] of two f32 values is exact in f64, so this rounds once to f64 and once to f32, as an f32 fma would
      // round once (the two differ only when the f64 rounding lands on an f32 midpoint).
      for (let i = start; i < end; i++) out[i] = Math.fround(a * x[i] + y[i])
      if (pacer.due) await pacer.pause(end / x.length)
    }
    context.progress(1)
    return out
  },
  estimateWork(input) {
    const x = (input as Partial<SaxpyInput> | null)?.x
    return Math.max(1, typeof x?.length === 'number' ? x.length : 1)
  },
}

function toF32(name: string, values: unknown[] | Float32Array): Float32Array {
  if (values instanceof Float32Array) {
    // Already f32; only NaN and ±Infinity can be wrong.
    for (let i = 0; i < values.length; i++) {
      if (!(Math.abs(values[i]) <= F32_MAX)) invalidInput('saxpy', `${name}[${i}] is ${values[i]}, not a finite number`, SHAPE)
    }
    return values
  }
  const checked = new Float64Array(values.length)
  packNumbers('saxpy', values, checked, 0, (i) => `${name}[${i}]`, SHAPE)
  return Float32Array.from(checked)
}
