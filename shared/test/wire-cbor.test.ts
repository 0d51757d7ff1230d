// The wire codec's fast path against cborg itself. Encoding: where wireEncode answers, its bytes are cborg's, and
// it answers for every value made of ASCII strings, finite numbers, booleans, null, byte strings, arrays and plain
// objects (undefined properties left out). Decoding: where wireDecode answers, cborg decodes the same bytes to a
// strictly equal value with the codec's options (so it never accepts what cborg refuses), and it answers for
// cborg's own encodings of such values. Inputs: generated values, their encodings with bytes changed, cut or added,
// random bytes, and the edge cases cborg's strict options are about.

import { decode, encode } from 'cborg'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DECODE_OPTIONS, ENCODE_OPTIONS } from '../src/net/codec.js'
import { FALLBACK, wireDecode, wireEncode } from '../src/net/wire-cbor.js'

const ascii = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEF0123456789 _-.:/'.split('')), maxLength: 40 })
const anyString = fc.oneof(
  ascii,
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\uFEFFbom', 'é', '\uD800', '__proto__', 'constructor'),
)
const safeInt = fc.oneof(
  fc.integer({ min: -30, max: 300 }),
  fc.maxSafeInteger(),
  fc.constantFrom(
    23,
    24,
    255,
    256,
    65535,
    65536,
    2 ** 32 - 1,
    2 ** 32,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    -(2 ** 32),
    -(2 ** 32) - 1,
    -0,
  ),
)
/** Finite floats, with the edges of half and single precision. */
const finite = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.float({ noNaN: true, noDefaultInfinity: true }).map(Math.fround),
  fc.constantFrom(
    0.5,
    -1.5,
    1 / 3,
    65504,
    65505,
    2 ** -24,
    2 ** -25,
    2 ** -14,
    1e-7,
    1e-40,
    3.4028234663852886e38,
    2 ** 53,
    -(2 ** 60),
    1e300,
    Number.MIN_VALUE,
  ),
)
const bytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(new Uint8Array(300), new Uint8Array(66_000)))

/** Values the fast path must take whole. */
const { plain } = fc.letrec((tie) => ({
  plain: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    ascii,
    safeInt,
    finite,
    fc.boolean(),
    fc.constant(null),
    bytes,
    fc.array(tie('plain'), { maxLength: 5 }),
    fc.dictionary(
      ascii.filter((key) => key !== '__proto__'), // left to cborg when read
      fc.oneof(tie('plain'), fc.constant(undefined)),
      { maxKeys: 6 },
    ),
  ),
}))

/** Anything cborg may be given: floats, odd numbers, non-ASCII, Maps, undefined, class instances, bigints. */
const { wild } = fc.letrec((tie) => ({
  wild: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    anyString,
    safeInt,
    finite,
    fc.double(),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 0.5, 1e300, 2 ** 53, -(2 ** 53), 10n, undefined),
    fc.boolean(),
    fc.constant(null),
    bytes,
    fc.array(tie('wild'), { maxLength: 4 }),
    fc.dictionary(anyString, tie('wild'), { maxKeys: 5 }),
    fc.constantFrom(new Map([['a', 1]]), new Date(0), Object.create(null), new Uint16Array(2), { constructor: 1 }),
  ),
}))

function cborgDecode(input: Uint8Array): { value: unknown } | 'refused' {
  try {
    return { value: decode(input, DECODE_OPTIONS) }
  } catch {
    return 'refused'
  }
}

function cborgEncode(value: unknown): Uint8Array | 'refused' {
  try {
    return encode(value, ENCODE_OPTIONS)
  } catch {
    return 'refused'
  }
}

function agreesOnDecode(input: Uint8Array): void {
  const fast = wireDecode(input)
  if (fast === FALLBACK) return
  const slow = cborgDecode(input)
  expect(slow).not.toBe('refused')
  expectSame(fast, (slow as { value: unknown }).value)
}

/** The same bytes: cborg hands back a Buffer or a Uint8Array, depending on how its writer's chunks fell. */
function expectSameBytes(fast: Uint8Array | typeof FALLBACK, slow: Uint8Array | 'refused'): void {
  expect(slow).not.toBe('refused')
  expect(fast).toBeInstanceOf(Uint8Array)
  expect([...(fast as Uint8Array)]).toEqual([...(slow as Uint8Array)])
}

/** Strict equality that also holds for objects with an own `constructor` key (toStrictEqual compares constructors):
 *  same prototypes, same own keys in the same order, same bytes, Object.is for the rest. */
function expectSame(a: unknown, b: unknown, path = '(root)'): void {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    expect(Object.is(a, b), `${path}: ${String(a)} vs ${String(b)}`).toBe(true)
    return
  }
  expect(Object.getPrototypeOf(a), path).toBe(Object.getPrototypeOf(b))
  if (a instanceof Uint8Array) {
    expect([...a], path).toEqual([...(b as Uint8Array)])
    return
  }
  expect(Reflect.ownKeys(a), path).toEqual(Reflect.ownKeys(b))
  for (const key of Reflect.ownKeys(a)) expectSame(Reflect.get(a, key), Reflect.get(b, key), `${path}.${String(key)}`)
}

const hex = (text: string): Uint8Array => Uint8Array.from(text.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16))

describe('wire CBOR fast path', () => {
  it('writes cborg bytes for every plain value, and takes all of them', () => {
    fc.assert(
      fc.property(plain, (value) => {
        const fast = wireEncode(value)
        expect(fast).not.toBe(FALLBACK)
        expectSameBytes(fast, cborgEncode(value))
      }),
      { numRuns: 300 },
    )
  })

  it('writes cborg bytes or leaves the value to cborg, whatever the value', () => {
    fc.assert(
      fc.property(wild, (value) => {
        const fast = wireEncode(value)
        if (fast !== FALLBACK) expectSameBytes(fast, cborgEncode(value))
      }),
      { numRuns: 600 },
    )
  })

  it('leaves cycles, NaN, infinities and non-ASCII text to cborg', () => {
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    for (const value of [cycle, Number.NaN, Number.NEGATIVE_INFINITY, 'é', { é: 1 }, [undefined], new Map(), 10n, () => 1, Symbol('s')])
      expect(wireEncode(value)).toBe(FALLBACK)
  })

  it('reads what cborg reads from cborg encodings, and takes every plain one', () => {
    fc.assert(
      fc.property(plain, (value) => {
        const input = encode(value, ENCODE_OPTIONS)
        const fast = wireDecode(input)
        expect(fast).not.toBe(FALLBACK)
        expectSame(fast, decode(input, DECODE_OPTIONS))
      }),
      { numRuns: 300 },
    )
  })

  it('never reads a value cborg would not, from changed, cut, extended or random bytes', () => {
    const encoded = fc
      .oneof(plain, wild)
      .map((value) => cborgEncode(value))
      .filter((input): input is Uint8Array => input !== 'refused')
    const changed = fc
      .tuple(encoded, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'add'))
      .map(([input, where, byte, how]) => {
        const at = input.byteLength === 0 ? 0 : where % input.byteLength
        if (how === 'cut') return input.subarray(0, at)
        if (how === 'add') return Uint8Array.from([...input, byte])
        const copy = input.slice()
        copy[at] = byte
        return copy
      })
    fc.assert(fc.property(fc.oneof(encoded, changed, fc.uint8Array({ maxLength: 24 })), agreesOnDecode), { numRuns: 3000 })
  })

  it('agrees with cborg on the cases its strict options are about', () => {
    const cases = {
      'integers and lengths not in their fewest bytes': ['1817', '190017', '1a000000ff', '1b000000000000ffff', '5817', '780100'],
      'the edges of each width': ['1818', '190100', '1900ff', '1a00010000', '1a0000ffff', '1b0000000100000000', '1b00000000ffffffff'],
      'the safe integers and past them': ['1b001fffffffffffff', '1b0020000000000000', '3b001ffffffffffffe', '3b001fffffffffffff'],
      'indefinite lengths': ['5f4101ff', '9f01ff', 'bf616101ff', '7f6161ff'],
      tags: ['c06161', 'd82a4100'],
      'undefined, simple values, a lone break': ['f7', 'f8ff', 'ff', 'e0'],
      'NaN and the infinities': ['f97e00', 'f97c00', 'f9fc00', 'fa7fc00000', 'fb7ff8000000000000'],
      'finite floats, a subnormal half, -0': ['f93c00', 'f90001', 'f98000', 'fa3f800000', 'fb3ff8000000000000'],
      'map keys: duplicate, __proto__, not text': ['a2616101616102', 'a1695f5f70726f746f5f5f01', 'a10101', 'a1f601', 'a1410001'],
      'a BOM in a short and in a long string': ['63efbbbf61', `7820efbbbf${'61'.repeat(29)}`],
      'invalid UTF-8': ['62c328', '61ff', `7820${'ff'.repeat(32)}`],
      'empty, trailing, truncated': ['', '0101', '5a00000010', '8201'],
      'more items than bytes': ['9b0000000100000000', '9a7fffffff', 'ba7fffffff', '8301', 'a201'],
      'deep nesting': [`${'81'.repeat(200)}01`],
    }
    for (const text of Object.values(cases).flat()) agreesOnDecode(hex(text))
    expect(wireDecode(hex('1b001fffffffffffff'))).toBe(Number.MAX_SAFE_INTEGER)
    expect(wireDecode(hex('3b001ffffffffffffe'))).toBe(-Number.MAX_SAFE_INTEGER)
    expect(wireDecode(hex('f90001'))).toBe(2 ** -24)
  })

  // Node only: browsers have no Buffer.
  it.runIf(typeof globalThis.Buffer === 'function')('reads byte strings out of a Buffer as copies, as cborg does', () => {
    const input = Buffer.from(encode({ b: new Uint8Array([1, 2, 3]) }))
    const fast = wireDecode(input) as { b: Uint8Array }
    expectSame(fast, decode(input, DECODE_OPTIONS))
    expect(Buffer.isBuffer(fast.b)).toBe(false)
    input.fill(0)
    expect([...fast.b]).toEqual([1, 2, 3])
  })
})
