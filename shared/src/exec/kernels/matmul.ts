// matmul: the product of two dense matrices, a (m×k) times b (k×n). The CPU kernel computes in f64 (JavaScript
// numbers); the WGSL kernel in packages/webgpu computes in f32 and agrees within the tolerance in docs/KERNELS.md.

import * as v from 'valibot'
import { LIMITS } from '../../limits.js'
import type { CpuKernel } from '../kernel.js'
import { KernelPacer } from './pacing.js'
import { invalidInput, packNumbers, parseInput } from './validation.js'

/** Row-major matrices as arrays of rows; a is m×k, b is k×n, every element finite and within ±3.4e38 (f32). */
export interface MatmulInput {
  a: number[][]
  b: number[][]
}
/** The m×n product, as rows. */
export type MatmulOutput = number[][]

/** What `validate` returns: both matrices packed row-major, the form every implementation works on. */
export interface MatmulOperands {
  m: number
  k: number
  n: number
  a: Float64Array
  b: Float64Array
}

const SHAPE =
  `{a: number[][], b: number[][]}: a is m×k and b is k×n (a's columns = b's rows), each matrix non-empty, rectangular, ` +
  `at most ${LIMITS.kernelMatmulMaxElements.toLocaleString('en')} elements and ${LIMITS.kernelGridMaxSide.toLocaleString('en')} per side`
// Rows are only checked to be arrays here: v.array(v.unknown()) per row would visit (and copy) every element, 90 ms
// for a 1024² operand; pack() checks the elements in one loop.
const Rows = v.array(v.custom<unknown[]>(Array.isArray, 'must be a row: an array of numbers'), 'must be an array of rows')
const MatmulInputSchema = v.object({ a: Rows, b: Rows }, 'must be an object {a, b}')

export const matmulKernel: CpuKernel<MatmulOperands, MatmulOutput> = {
  name: 'matmul',
  level: 'PUBLIC',
  summary: 'Multiplies matrix a (m×k) by matrix b (k×n).',
  validate(input) {
    const { a, b } = parseInput('matmul', MatmulInputSchema, input, SHAPE)
    const [m, k] = dimensions('a', a)
    const [kb, n] = dimensions('b', b)
    if (kb !== k) invalidInput('matmul', `the inner dimensions differ: a is ${m}×${k}, so b must be ${k}×n, but it is ${kb}×${n}`, SHAPE)
    if (m * n > LIMITS.kernelMatmulMaxElements)
      invalidInput('matmul', `the product would be ${m}×${n}, more than ${LIMITS.kernelMatmulMaxElements} elements`, SHAPE)
    return { m, k, n, a: pack('a', a, k), b: pack('b', b, n) }
  },
  async run({ m, k, n, a, b }, context) {
    const pacer = new KernelPacer('matmul', context)
    // b transposed, so each output element is a dot product of two contiguous rows; four partial sums let the CPU
    // overlap the additions (1.7× faster than one sum here, and no less accurate).
    const bt = new Float64Array(k * n)
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bt[j * k + p] = b[p * n + j]
    const rows: number[][] = new Array(m)
    for (let i = 0; i < m; i++) {
      const row: number[] = new Array(n)
      const ai = i * k
      for (let j = 0; j < n; j++) {
        const bj = j * k
        let s0 = 0
        let s1 = 0
        let s2 = 0
        let s3 = 0
        let p = 0
        for (; p + 3 < k; p += 4) {
          s0 += a[ai + p] * bt[bj + p]
          s1 += a[ai + p + 1] * bt[bj + p + 1]
          s2 += a[ai + p + 2] * bt[bj + p + 2]
          s3 += a[ai + p + 3] * bt[bj + p + 3]
        }
        for (; p < k; p++) s0 += a[ai + p] * bt[bj + p]
        row[j] = s0 + s1 + (s2 + s3)
      }
      rows[i] = row
      if (pacer.due) await pacer.pause((i + 1) / m)
    }
    context.progress(1)
    return rows
  },
  estimateWork(input) {
    const { a, b } = (input ?? {}) as Partial<MatmulInput>
    if (!Array.isArray(a) || !Array.isArray(b) || !Array.isArray(b[0])) return 1
    return Math.max(1, a.length * b.length * b[0].length)
  },
}

/** [rows, columns] of a non-empty rectangular matrix within the limits, or TASK_INPUT_INVALID. */
function dimensions(name: string, rows: unknown[][]): [number, number] {
  const columns = rows[0]?.length ?? 0
  if (rows.length === 0 || columns === 0) invalidInput('matmul', `${name} is empty`, SHAPE)
  if (rows.length > LIMITS.kernelGridMaxSide || columns > LIMITS.kernelGridMaxSide) {
    invalidInput('matmul', `${name} is ${rows.length}×${columns}, longer than ${LIMITS.kernelGridMaxSide} on a side`, SHAPE)
  }
  if (rows.length * columns > LIMITS.kernelMatmulMaxElements) {
    invalidInput('matmul', `${name} is ${rows.length}×${columns}, more than ${LIMITS.kernelMatmulMaxElements} elements`, SHAPE)
  }
  for (let i = 1; i < rows.length; i++) {
    if (rows[i].length !== columns)
      invalidInput('matmul', `${name} is not rectangular: row 0 has ${columns} elements, row ${i} has ${rows[i].length}`, SHAPE)
  }
  return [rows.length, columns]
}

function pack(name: string, rows: unknown[][], columns: number): Float64Array {
  const packed = new Float64Array(rows.length * columns)
  rows.forEach((row, i) => {
    packNumbers('matmul', row, packed, i * columns, (j) => `${name}[${i}][${j}]`, SHAPE)
  })
  return packed
}
