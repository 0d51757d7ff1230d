// How every built-in kernel turns a bad input into TASK_INPUT_INVALID: one sentence naming the kernel, the field and
// what it must be, plus the shape the kernel takes. Structure is checked with valibot; the element loops of large
// arrays are hand-written (a valibot schema per element costs ~10× more on a million numbers).

import * as v from 'valibot'
import { NoodleError } from '../../errors.js'

/** Throws the kernel's TASK_INPUT_INVALID error: `<kernel> input is invalid: <problem>`, hinting at `shape`. */
export function invalidInput(kernel: string, problem: string, shape: string): never {
  throw new NoodleError('TASK_INPUT_INVALID', `${kernel} input is invalid: ${problem}`, `It must be ${shape}.`)
}

/** Parses `input` with `schema`, or throws TASK_INPUT_INVALID naming the first offending field. The schema's
 *  messages read after the field's name: `must be …`. */
export function parseInput<S extends v.GenericSchema>(kernel: string, schema: S, input: unknown, shape: string): v.InferOutput<S> {
  const result = v.safeParse(schema, input, { abortEarly: true })
  if (result.success) return result.output
  const issue = result.issues[0]
  const path = v.getDotPath(issue)
  // A missing key is reported with its object's message; say what is wrong instead.
  const problem = path !== null && issue.input === undefined ? 'is missing' : issue.message
  invalidInput(kernel, `${path ?? 'the input'} ${problem}`, shape)
}

/** f32's largest finite value: inputs of kernels with a WebGPU implementation stay within it, so every backend can
 *  hold them (beyond it f32 is Infinity). */
export const F32_MAX = 3.4028234663852886e38

const F32_NUMBER = 'must be a finite number within ±3.4e38'
/** A finite number within f32's range, the element type of matmul and saxpy. */
export const f32Number = () =>
  v.pipe(v.number(F32_NUMBER), v.finite(F32_NUMBER), v.minValue(-F32_MAX, F32_NUMBER), v.maxValue(F32_MAX, F32_NUMBER))

/** A whole number from `min` to `max`; `what` says so in words (`a whole number from 1 to 10`). */
export const wholeNumber = (min: number, max: number, what: string) =>
  v.pipe(v.number(`must be ${what}`), v.integer(`must be ${what}`), v.minValue(min, `must be ${what}`), v.maxValue(max, `must be ${what}`))

/** Copies a list of numbers into a Float64Array, checking each is finite and within f32's range. */
export function packNumbers(
  kernel: string,
  values: ArrayLike<unknown>,
  into: Float64Array,
  offset: number,
  field: (index: number) => string,
  shape: string,
): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i]
    if (typeof value !== 'number' || !(Math.abs(value) <= F32_MAX)) {
      invalidInput(kernel, `${field(i)} is ${describe(value)}, not a finite number within ±3.4e38`, shape)
    }
    into[offset + i] = value
  }
}

/** A short description of a bad value for an error message (never the whole value: it may be large). */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value === 'string') return value.length > 20 ? `a string of ${value.length} characters` : JSON.stringify(value)
  return typeof value === 'object' ? 'an object' : typeof value
}
