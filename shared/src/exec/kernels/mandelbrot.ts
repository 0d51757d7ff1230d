// mandelbrot: escape-time iteration counts for a rectangular tile of the complex plane. Every backend iterates in
// f32 with the same operations in the same order (this CPU kernel rounds each one with Math.fround), and the pixel
// coordinates are computed once, here, for all of them: so the CPU and WGSL kernels agree exactly wherever both
// round every operation (a GPU that fuses a multiply-add may differ at a few pixels on the set's boundary, where
// escape time is chaotic; docs/KERNELS.md states the tolerance).

import * as v from 'valibot'
import { LIMITS } from '../../limits.js'
import type { CpuKernel } from '../kernel.js'
import { KernelPacer } from './pacing.js'
import { f32Number, invalidInput, parseInput, wholeNumber } from './validation.js'

/** The tile spans [x0, x1] × [y0, y1] in width × height pixels; pixel (column i, row j) samples its centre,
 *  c = (x0 + (i + ½)·(x1 − x0)/width) + (y0 + (j + ½)·(y1 − y0)/height)·i, row 0 at y0. */
export interface MandelbrotInput {
  x0: number
  y0: number
  x1: number
  y1: number
  width: number
  height: number
  maxIterations: number
}
/** Row-major, width × height counts: the iterations of z ← z² + c from z = 0 before |z|² > 4, at most
 *  maxIterations (a point that never escapes counts maxIterations). A plain array so it crosses the wire codec. */
export type MandelbrotOutput = number[]

/** What `validate` returns: each column's and row's coordinate, already rounded to f32. */
export interface MandelbrotOperands {
  width: number
  height: number
  maxIterations: number
  /** Real part of c for each column. */
  xs: Float32Array
  /** Imaginary part of c for each row. */
  ys: Float32Array
}

const SHAPE =
  `{x0, y0, x1, y1: finite numbers, width, height: whole numbers from 1 to ${LIMITS.kernelGridMaxSide} with width·height at most ` +
  `${LIMITS.kernelMandelbrotMaxPixels.toLocaleString('en')}, maxIterations: a whole number from 1 to ${LIMITS.kernelMandelbrotMaxIterations}}`
const side = wholeNumber(1, LIMITS.kernelGridMaxSide, `a whole number from 1 to ${LIMITS.kernelGridMaxSide}`)
const MandelbrotInputSchema = v.object(
  {
    x0: f32Number(),
    y0: f32Number(),
    x1: f32Number(),
    y1: f32Number(),
    width: side,
    height: side,
    maxIterations: wholeNumber(1, LIMITS.kernelMandelbrotMaxIterations, `a whole number from 1 to ${LIMITS.kernelMandelbrotMaxIterations}`),
  },
  'must be an object {x0, y0, x1, y1, width, height, maxIterations}',
)

export const mandelbrotKernel: CpuKernel<MandelbrotOperands, MandelbrotOutput> = {
  name: 'mandelbrot',
  level: 'PUBLIC',
  summary: 'Escape-time iteration counts of the Mandelbrot set over one tile of the complex plane, in f32.',
  validate(input) {
    const tile = parseInput('mandelbrot', MandelbrotInputSchema, input, SHAPE)
    const { width, height, maxIterations } = tile
    if (width * height > LIMITS.kernelMandelbrotMaxPixels) {
      invalidInput('mandelbrot', `the tile is ${width}×${height}, more than ${LIMITS.kernelMandelbrotMaxPixels} pixels`, SHAPE)
    }
    return { width, height, maxIterations, xs: centres(tile.x0, tile.x1, width), ys: centres(tile.y0, tile.y1, height) }
  },
  async run({ width, height, maxIterations, xs, ys }, context) {
    const pacer = new KernelPacer('mandelbrot', context)
    const f = Math.fround
    const counts: number[] = new Array(width * height)
    for (let row = 0; row < height; row++) {
      const cy = ys[row]
      for (let column = 0; column < width; column++) {
        const cx = xs[column]
        let zx = 0
        let zy = 0
        let n = 0
        // The same operations, in the same order, as MANDELBROT_WGSL in packages/webgpu.
        while (n < maxIterations) {
          const zx2 = f(zx * zx)
          const zy2 = f(zy * zy)
          if (f(zx2 + zy2) > 4) break
          const twoZxZy = f(f(zx + zx) * zy)
          zx = f(f(zx2 - zy2) + cx)
          zy = f(twoZxZy + cy)
          n++
        }
        counts[row * width + column] = n
      }
      if (pacer.due) await pacer.pause((row + 1) / height)
    }
    context.progress(1)
    return counts
  },
  estimateWork(input) {
    const { width, height, maxIterations } = (input ?? {}) as Partial<MandelbrotInput>
    const work = (width ?? 1) * (height ?? 1) * (maxIterations ?? 1)
    return Number.isFinite(work) && work > 0 ? work : 1
  },
}

/** The f32 coordinate of each pixel centre along one axis (computed in f64, rounded once). */
function centres(from: number, to: number, pixels: number): Float32Array {
  const step = (to - from) / pixels
  return Float32Array.from({ length: pixels }, (_, i) => from + (i + 0.5) * step)
}
