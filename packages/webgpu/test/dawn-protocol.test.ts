// packNumbers/unpackNumbers: large arrays of numbers cross the Dawn process's IPC as Float64Arrays, and come out
// as the same value, exactly, without touching the sender's.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { packNumbers, unpackNumbers } from '../src/dawn-protocol.js'

/** What crossing the IPC channel does to a value (structured clone), then unpacking on the far side. */
const cross = (value: unknown): unknown => {
  const { value: crossing, packed } = packNumbers(value)
  return unpackNumbers(structuredClone(crossing), structuredClone(packed))
}

const numbers = (minLength: number) => fc.array(fc.double(), { minLength, maxLength: minLength + 200 })

describe('packNumbers', () => {
  it('packs a matrix into one Float64Array, an array of 64 or more numbers into another, and leaves the rest', () => {
    const rows = Array.from({ length: 3 }, (_, i) => Array.from({ length: i + 30 }, (_, j) => i * 100 + j))
    const input = { a: rows, nested: [{ x: Array(64).fill(0.5) }], b: [1, 2, 3], label: 'x', bytes: new Uint8Array([1]) }
    const { value, packed } = packNumbers(input)
    expect(packed).toEqual([{ path: ['a'], rows: [30, 31, 32] }, { path: ['nested', 0, 'x'] }])
    const crossing = value as Record<string, unknown>
    expect(crossing.a).toBeInstanceOf(Float64Array)
    expect((crossing.a as Float64Array).length).toBe(93)
    expect(crossing.b).toBe(input.b)
    expect(crossing.bytes).toBe(input.bytes)
    // The caller's input is untouched.
    expect(input.a[0]).toBeInstanceOf(Array)
    expect(input.nested[0].x).toBeInstanceOf(Array)
    expect(cross(input)).toStrictEqual(input)
  })

  it('leaves a small matrix, and rows that are not all numbers, as they are', () => {
    expect(packNumbers([[1, 2], [3]]).packed).toEqual([])
    const mixed = [Array(64).fill(1), ['1']]
    expect(packNumbers(mixed).packed).toEqual([{ path: [0] }])
  })

  it('packs a top-level array and an array with -0, NaN and ±Infinity exactly', () => {
    const special = [-0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 5e-324, ...Array(60).fill(1.5)]
    expect(packNumbers(special).packed).toEqual([{ path: [] }])
    expect(Object.is((cross(special) as number[])[0], -0)).toBe(true)
    expect(cross(special)).toStrictEqual(special)
  })

  it('packs under a key named __proto__ as under any other (an own property, not the prototype)', () => {
    const input = JSON.parse(`{"__proto__": [${Array(64).fill(2).join(',')}]}`) as Record<string, unknown>
    const output = cross(input) as Record<string, unknown>
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(output, '__proto__')?.value).toStrictEqual(Array(64).fill(2))
  })

  it('leaves an array that holds anything but numbers as it is', () => {
    const mixed = [...Array(100).fill(1), '1']
    expect(packNumbers(mixed)).toEqual({ value: mixed, packed: [] })
  })

  it('round-trips any JSON value and any nesting of number arrays', () => {
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue(),
        numbers(64),
        fc.array(numbers(0), { minLength: 1, maxLength: 4 }),
        fc.array(tie('node'), { maxLength: 4 }),
        // Structured clone gives every object Object.prototype, so none is generated without one.
        fc.dictionary(fc.string(), tie('node'), { maxKeys: 4, noNullPrototype: true }),
      ),
    })).node
    fc.assert(
      fc.property(value, (input) => {
        const before = structuredClone(input)
        expect(cross(input)).toStrictEqual(input)
        expect(input).toStrictEqual(before)
      }),
      { numRuns: 200 },
    )
  })
})
