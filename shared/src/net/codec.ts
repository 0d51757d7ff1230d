// The wire codec: every frame is CBOR (binary payloads stay binary) with a size cap, and every inbound frame is
// validated against its schema before any other code sees it. Anything else is a typed error: FRAME_TOO_LARGE,
// FRAME_MALFORMED (not CBOR) or FRAME_INVALID (CBOR of the wrong shape). Decoding never throws anything else.

import { decode, encode } from 'cborg'
import * as v from 'valibot'
import { NoodleError } from '../errors.js'

/** Strict decoding: no undefined, no indefinite lengths, no duplicate keys, no tags; maps become plain objects. */
const DECODE_OPTIONS = {
  strict: true,
  allowUndefined: false,
  allowIndefinite: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: false,
} as const

/** Encoding refuses what DECODE_OPTIONS refuses, so every frame we send is one a peer accepts: otherwise a NaN in a
 *  result would pass here and surface at the caller as the peer's FRAME_MALFORMED. Optional fields left undefined
 *  are omitted, as JSON would; undefined anywhere else is not valid on the wire. */
const ENCODE_OPTIONS = {
  ignoreUndefinedProperties: true,
  typeEncoders: {
    undefined: () => refuse('undefined', 'leave the field out, or send null'),
    number: (n: number) => (Number.isFinite(n) ? null : refuse(String(n), 'send finite numbers only')),
    bigint: (n: bigint) => (Number.isSafeInteger(Number(n)) ? null : refuse(`${n}n`, 'integers must be within Number.MAX_SAFE_INTEGER')),
    Map: (map: Map<unknown, unknown>) => {
      for (const key of map.keys()) {
        if (typeof key !== 'string') refuse(`a Map with the ${typeof key} key ${String(key)}`, 'map keys must be strings')
      }
      return null
    },
  },
}

function refuse(what: string, why: string): never {
  throw new Error(`${what} cannot cross the wire: ${why}`)
}

export type FrameSchema<T> = v.GenericSchema<unknown, T>

export function encodeFrame(value: unknown, maxBytes: number): Uint8Array {
  let bytes: Uint8Array
  try {
    bytes = encode(value, ENCODE_OPTIONS)
  } catch (err) {
    throw new NoodleError(
      'FRAME_INVALID',
      `cannot encode frame: ${(err as Error).message}`,
      'Send plain data: objects, arrays, strings, numbers, booleans, null and Uint8Arrays.',
      { cause: err },
    )
  }
  if (bytes.byteLength > maxBytes) throw tooLarge(bytes.byteLength, maxBytes)
  return bytes
}

export function decodeFrame<T>(bytes: Uint8Array, schema: FrameSchema<T>, maxBytes: number): T {
  if (bytes.byteLength > maxBytes) throw tooLarge(bytes.byteLength, maxBytes)
  let value: unknown
  try {
    value = decode(bytes, DECODE_OPTIONS)
  } catch (err) {
    // cborg throws Error for bad input and RangeError for nesting too deep for the stack: both are bad bytes.
    throw new NoodleError(
      'FRAME_MALFORMED',
      `frame is not valid CBOR: ${(err as Error).message}`,
      'The sender must speak this protocol version.',
      {
        cause: err,
      },
    )
  }
  return validateFrame(value, schema)
}

export function validateFrame<T>(value: unknown, schema: FrameSchema<T>): T {
  const result = v.safeParse(schema, value, { abortEarly: true })
  if (result.success) return result.output
  const issue = result.issues[0]
  const path = (issue.path ?? []).map((item) => String(item.key)).join('.')
  throw new NoodleError(
    'FRAME_INVALID',
    `frame field ${path === '' ? '(root)' : path} is invalid: ${issue.message}`,
    'The sender must speak this protocol version.',
  )
}

function tooLarge(size: number, maxBytes: number): NoodleError {
  return new NoodleError(
    'FRAME_TOO_LARGE',
    `frame of ${size} bytes exceeds the ${maxBytes}-byte cap`,
    'Split the payload, or raise network.frameMaxBytes on both peers.',
  )
}
