// The wire codec as a specification: frames are CBOR, binary stays binary, every frame has a size cap, and bytes
// from the network turn into either a validated value or a NoodleError with a FRAME_* code — never anything else.

import fc from 'fast-check'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { decodeFrame, encodeFrame, encodeFrameParts, isNoodleError, NoodleError, RpcRequestSchema } from '../src/index.js'

const MAX = 64 * 1024
const anyValue = v.unknown()
const FRAME_CODES = ['FRAME_MALFORMED', 'FRAME_INVALID', 'FRAME_TOO_LARGE']

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values)
}

/** What decodeFrame threw, or undefined when it returned. */
function decodeError(frame: Uint8Array, schema: v.GenericSchema<unknown, unknown> = anyValue, max = MAX): unknown {
  try {
    decodeFrame(frame, schema, max)
    return undefined
  } catch (err) {
    return err
  }
}

function expectCode(err: unknown, code: string): void {
  expect(err).toBeInstanceOf(NoodleError)
  expect((err as NoodleError).code).toBe(code)
}

/** Plain data as frames carry it: JSON values with binary leaves. */
const plainData = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    // -0 is an integer to the encoder and arrives as 0; no protocol field tells the two apart.
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x)),
    fc.string(),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 5 }),
  ),
})).value

describe('round trip', () => {
  it('returns what was encoded, nested objects included', () => {
    const value = { id: 7, name: 'matmul', ok: true, none: null, ratio: 0.25, list: [1, 'two', [3]], nested: { a: { b: { c: 'deep' } } } }
    expect(decodeFrame(encodeFrame(value, MAX), anyValue, MAX)).toEqual(value)
  })

  it('keeps Uint8Array payloads binary, at any depth', () => {
    const payload = crypto.getRandomValues(new Uint8Array(1000))
    const decoded = decodeFrame(encodeFrame({ input: payload, more: [{ chunk: payload.subarray(0, 10) }] }, MAX), anyValue, MAX) as {
      input: Uint8Array
      more: Array<{ chunk: Uint8Array }>
    }
    expect(decoded.input).toBeInstanceOf(Uint8Array)
    expect(Array.from(decoded.input)).toEqual(Array.from(payload))
    expect(decoded.more[0].chunk).toBeInstanceOf(Uint8Array)
    expect(Array.from(decoded.more[0].chunk)).toEqual(Array.from(payload.subarray(0, 10)))
  })

  it('validates against the schema and returns its output', () => {
    const schema = v.object({ n: v.pipe(v.number(), v.integer()), tag: v.optional(v.string(), 'none') })
    expect(decodeFrame(encodeFrame({ n: 3 }, MAX), schema, MAX)).toEqual({ n: 3, tag: 'none' })
  })

  it('leaves out properties whose value is undefined, so optional fields can be passed as undefined', () => {
    const frame = encodeFrame({ id: 1, traceId: undefined, body: { a: undefined, b: 2 } }, MAX)
    expect(decodeFrame(frame, RpcRequestSchema, MAX)).toEqual({ id: 1, body: { b: 2 } })
  })

  it('any plain data survives the trip unchanged (property)', () => {
    fc.assert(
      fc.property(plainData, (value) => {
        expect(decodeFrame(encodeFrame(value, MAX), anyValue, MAX)).toEqual(value)
      }),
      { numRuns: 300 },
    )
  })

  it('whatever encodeFrame accepts, decodeFrame accepts: the rest is refused at encode with FRAME_INVALID (property)', () => {
    const anything = fc.anything({
      withTypedArray: true,
      withMap: true,
      withSet: true,
      withBigInt: true,
      withDate: true,
      withNullPrototype: true,
      withSparseArray: true,
    })
    fc.assert(
      fc.property(anything, (value) => {
        let frame: Uint8Array
        try {
          frame = encodeFrame(value, MAX)
        } catch (err) {
          expectCode(err, 'FRAME_INVALID')
          return
        }
        expect(decodeError(frame)).toBeUndefined()
      }),
      { numRuns: 500 },
    )
  })
})

describe('what encodeFrame refuses', () => {
  it.each([
    ['a function', { run: () => 1 }],
    ['a Date', new Date(0)],
    ['a Set', new Set([1])],
    ['undefined in an array', [1, undefined]],
    ['undefined itself', undefined],
    ['NaN', { x: Number.NaN }],
    ['Infinity', [Number.POSITIVE_INFINITY]],
    ['a Map with a number key', new Map([[1, 'one']])],
    ['a bigint too large for a number', 2n ** 70n],
    [
      'an object whose getter throws',
      {
        get x(): number {
          throw new Error('cannot read x')
        },
      },
    ],
  ])('refuses %s with FRAME_INVALID and a hint', (_what, value) => {
    let error: unknown
    try {
      encodeFrame(value, MAX)
    } catch (err) {
      error = err
    }
    expectCode(error, 'FRAME_INVALID')
    expect((error as NoodleError).hint).not.toBe('')
  })
})

describe('size cap', () => {
  it('refuses to encode a frame over the cap with FRAME_TOO_LARGE', () => {
    let error: unknown
    try {
      encodeFrame({ payload: new Uint8Array(2048) }, 1024)
    } catch (err) {
      error = err
    }
    expectCode(error, 'FRAME_TOO_LARGE')
    expect((error as NoodleError).message).toMatch(/1024-byte cap/)
  })

  it('refuses to decode a frame over the cap before parsing it, even garbage', () => {
    expectCode(decodeError(new Uint8Array(1025).fill(0xff), anyValue, 1024), 'FRAME_TOO_LARGE')
    const valid = encodeFrame({ payload: new Uint8Array(2048) }, MAX)
    expectCode(decodeError(valid, anyValue, 1024), 'FRAME_TOO_LARGE')
  })

  it('accepts a frame of exactly the cap', () => {
    const frame = encodeFrame(new Uint8Array(100), MAX)
    expect(decodeFrame(frame, anyValue, frame.byteLength)).toEqual(new Uint8Array(100))
    expect(encodeFrame(new Uint8Array(100), frame.byteLength)).toEqual(frame)
  })
})

describe('large byte strings (encodeFrameParts)', () => {
  const joined = (parts: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0))
    let at = 0
    for (const part of parts) {
      out.set(part, at)
      at += part.byteLength
    }
    return out
  }
  const big = (n: number, fill: number) => new Uint8Array(n).fill(fill)
  const CAP = 1024 * 1024

  it('gives the same bytes as encodeFrame, with the large byte strings as the caller passed them, not copies', () => {
    const input = big(70_000, 7)
    const values: unknown[] = [
      { id: 1, cap: 'nnt1.x', body: { kernel: 'echo', input, priority: 5 } },
      { id: 2, ok: true, body: { output: input, durationMs: 1, backend: 'cpu' } },
      { a: big(65_536, 1), b: [big(70_000, 2)], c: { d: { e: big(70_000, 3) } }, f: big(100, 4), g: input, h: input },
      big(1 << 17, 9),
      { small: new Uint8Array(10), text: 'no large bytes' },
    ]
    for (const value of values) {
      const parts = encodeFrameParts(value, CAP)
      expect(joined(parts)).toEqual(encodeFrame(value, CAP))
      expect(decodeFrame(joined(parts), anyValue, CAP)).toEqual(value)
    }
    expect(encodeFrameParts(values[0], CAP)).toContain(input)
    // The caller's value is left as it was.
    expect((values[0] as { body: { input: Uint8Array } }).body.input).toBe(input)
  })

  it('refuses a frame over the cap with FRAME_TOO_LARGE, as encodeFrame does', () => {
    let error: unknown
    try {
      encodeFrameParts({ body: { input: big(100_000, 1) } }, 100_000)
    } catch (err) {
      error = err
    }
    expectCode(error, 'FRAME_TOO_LARGE')
    const exact = encodeFrame({ body: { input: big(100_000, 1) } }, CAP).byteLength
    expect(joined(encodeFrameParts({ body: { input: big(100_000, 1) } }, exact)).byteLength).toBe(exact)
  })
})

describe('strict decoding: ambiguous or non-plain CBOR is FRAME_MALFORMED', () => {
  it.each([
    ['a map with a duplicate key', bytes(0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02)],
    ['undefined', bytes(0xf7)],
    ['undefined inside a map', bytes(0xa1, 0x61, 0x61, 0xf7)],
    ['an indefinite-length array', bytes(0x9f, 0x01, 0x02, 0xff)],
    ['an indefinite-length map', bytes(0xbf, 0x61, 0x61, 0x01, 0xff)],
    ['an indefinite-length string', bytes(0x7f, 0x61, 0x61, 0xff)],
    ['an indefinite-length byte string', bytes(0x5f, 0x41, 0x00, 0xff)],
    ['a tag (a date)', bytes(0xc1, 0x00)],
    ['a map with a non-string key', bytes(0xa1, 0x01, 0x02)],
    ['NaN', bytes(0xf9, 0x7e, 0x00)],
    ['Infinity', bytes(0xf9, 0x7c, 0x00)],
    ['a 64-bit integer beyond Number.MAX_SAFE_INTEGER', bytes(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)],
    ['a non-minimal integer encoding', bytes(0x18, 0x01)],
    ['trailing bytes after the value', bytes(0x01, 0x02)],
    ['a truncated value', bytes(0x62, 0x61)],
    ['nothing at all', bytes()],
  ])('%s', (_what, frame) => {
    expectCode(decodeError(frame), 'FRAME_MALFORMED')
  })

  it('CBOR of the wrong shape is FRAME_INVALID naming the field', () => {
    const err = decodeError(encodeFrame({ id: 'seven', body: null }, MAX), RpcRequestSchema)
    expectCode(err, 'FRAME_INVALID')
    expect((err as NoodleError).message).toMatch(/^frame field id is invalid/)
  })
})

describe('hostile input', () => {
  it('a __proto__ key becomes an own property and pollutes no prototype', () => {
    // {"__proto__": {"polluted": "yes"}} as CBOR; JSON.parse also makes __proto__ an own property.
    const frame = encodeFrame(JSON.parse('{"__proto__": {"polluted": "yes"}, "ok": 1}'), MAX)
    const decoded = decodeFrame(frame, anyValue, MAX) as Record<string, unknown>
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
    expect(Object.hasOwn(decoded, '__proto__')).toBe(true)
    expect(decoded.polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    // Through a schema the key is dropped altogether.
    const checked = decodeFrame(frame, v.looseObject({ ok: v.number() }), MAX) as Record<string, unknown>
    expect(checked.ok).toBe(1)
    expect(checked.polluted).toBeUndefined()
    expect(Object.getPrototypeOf(checked)).toBe(Object.prototype)
  })

  it('deep nesting that would overflow the stack is FRAME_MALFORMED, not a RangeError', () => {
    const frame = new Uint8Array(60_000).fill(0x81) // [[[[...]]]]: one-element arrays all the way down
    const err = decodeError(frame, anyValue, MAX)
    expect(isNoodleError(err)).toBe(true)
    expect(FRAME_CODES).toContain((err as NoodleError).code)
  })

  it('random bytes never throw anything but a FRAME_* NoodleError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (frame) => {
        const err = decodeError(frame, RpcRequestSchema)
        if (err === undefined) return
        expect(isNoodleError(err)).toBe(true)
        expect(FRAME_CODES).toContain((err as NoodleError).code)
      }),
      { numRuns: 500 },
    )
  })

  it('mutated valid frames never throw anything but a FRAME_* NoodleError (property)', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    )
    const request = fc.record({
      id: fc.nat(),
      timeoutMs: fc.option(fc.nat(), { nil: undefined }),
      traceId: fc.option(fc.string(), { nil: undefined }),
      body: plainData,
    })
    fc.assert(
      fc.property(request, fc.array(mutation, { minLength: 1, maxLength: 4 }), (value, mutations) => {
        let frame = encodeFrame(value, MAX)
        for (const m of mutations) {
          const at = m.at % (frame.byteLength + 1)
          if (m.kind === 'flip' && at < frame.byteLength) frame[at] ^= 1 << m.bit
          else if (m.kind === 'set' && at < frame.byteLength) frame[at] = m.byte
          else if (m.kind === 'truncate') frame = frame.slice(0, at)
          else if (m.kind === 'insert') frame = Uint8Array.from([...frame.subarray(0, at), m.byte, ...frame.subarray(at)])
        }
        const err = decodeError(frame, RpcRequestSchema)
        if (err === undefined) return
        expect(isNoodleError(err)).toBe(true)
        expect(FRAME_CODES).toContain((err as NoodleError).code)
      }),
      { numRuns: 500 },
    )
  })
})
