// The wire codec: every frame is CBOR (binary payloads stay binary) with a size cap, and every inbound frame is
// validated against its schema before any other code sees it. Anything else is a typed error: FRAME_TOO_LARGE,
// FRAME_MALFORMED (not CBOR) or FRAME_INVALID (CBOR of the wrong shape). Decoding never throws anything else.
// Plain data takes a fast path (wire-cbor.ts) that gives cborg's bytes and values; cborg handles the rest.

import { decode, encode } from 'cborg'
import * as v from 'valibot'
import { compileSchema, INVALID } from '../compiled-schema.js'
import { NoodleError } from '../errors.js'
import { FALLBACK, wireDecode, wireEncode } from './wire-cbor.js'

/** cborg's options for frames (exported for wire-cbor's test). Strict decoding: no undefined, no indefinite lengths,
 *  no duplicate keys, no tags; maps become plain objects. */
export const DECODE_OPTIONS = {
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
export const ENCODE_OPTIONS = {
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
  let bytes: Uint8Array | typeof FALLBACK
  try {
    // A getter that throws does so here as in cborg: a FRAME_INVALID either way.
    bytes = wireEncode(value)
    if (bytes === FALLBACK) bytes = encode(value, ENCODE_OPTIONS)
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

/** Byte strings at least this long are not copied into the encoded frame (encodeFrameParts). */
const LARGE_BYTES = 64 * 1024
/** How deep encodeFrameParts looks for them: an RPC envelope's body and its fields (a task's input, a result's
 *  output) are at depth 1 and 2. */
const LARGE_BYTES_DEPTH = 3

/** encodeFrame's bytes as a list of parts, byte for byte the same CBOR, without copying large byte strings into
 *  it: each is encoded as a 16-byte placeholder, found again in the (small) output and replaced by its CBOR header
 *  and the caller's own bytes. A 16 MB task input is then handed to the stream as it is, where encodeFrame copies it
 *  once more (the transport copies it anyway, to encrypt it). The value is not changed. */
export function encodeFrameParts(value: unknown, maxBytes: number): Uint8Array[] {
  const large: Array<{ marker: Uint8Array; bytes: Uint8Array }> = []
  const swapped = withPlaceholders(value, 0, large)
  if (large.length === 0) return [encodeFrame(value, maxBytes)]
  const encoded = encodeFrame(swapped, Number.MAX_SAFE_INTEGER)
  let size = encoded.byteLength
  for (const { marker, bytes } of large) size += bytesHeader(bytes.byteLength).byteLength + bytes.byteLength - 1 - marker.byteLength
  if (size > maxBytes) throw tooLarge(size, maxBytes)
  const parts: Uint8Array[] = []
  let from = 0
  for (const { marker, bytes } of large) {
    // The placeholder is a 16-byte byte string: header 0x50, then the marker.
    const at = indexOfMarker(encoded, marker, from)
    parts.push(encoded.subarray(from, at), bytesHeader(bytes.byteLength), bytes)
    from = at + 1 + marker.byteLength
  }
  parts.push(encoded.subarray(from))
  return parts
}

function withPlaceholders(value: unknown, depth: number, large: Array<{ marker: Uint8Array; bytes: Uint8Array }>): unknown {
  if (value instanceof Uint8Array && value.byteLength >= LARGE_BYTES) {
    const marker = crypto.getRandomValues(new Uint8Array(16))
    large.push({ marker, bytes: value })
    return marker
  }
  if (depth >= LARGE_BYTES_DEPTH || value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype)
    return value
  let copy: Record<string, unknown> | undefined
  for (const [key, item] of Object.entries(value)) {
    const swapped = withPlaceholders(item, depth + 1, large)
    if (swapped !== item) {
      copy ??= { ...(value as Record<string, unknown>) }
      copy[key] = swapped
    }
  }
  return copy ?? value
}

/** Where the placeholder byte string `0x50 marker` starts in `encoded`, at or after `from`. */
function indexOfMarker(encoded: Uint8Array, marker: Uint8Array, from: number): number {
  outer: for (let i = from; i + marker.byteLength < encoded.byteLength; i++) {
    if (encoded[i] !== 0x50) continue
    for (let j = 0; j < marker.byteLength; j++) if (encoded[i + 1 + j] !== marker[j]) continue outer
    return i
  }
  throw new Error('encoded frame lost a placeholder')
}

/** The CBOR header of a byte string of `length` bytes (major type 2). */
function bytesHeader(length: number): Uint8Array {
  if (length < 24) return Uint8Array.of(0x40 | length)
  if (length < 0x100) return Uint8Array.of(0x58, length)
  if (length < 0x10000) return Uint8Array.of(0x59, length >>> 8, length & 0xff)
  if (length < 0x100000000) return Uint8Array.of(0x5a, length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff)
  throw new NoodleError('FRAME_TOO_LARGE', `a byte string of ${length} bytes cannot be framed`, 'Split the payload.')
}

/** Where the data of the first byte string of LARGE_BYTES or more starts in a frame that begins with `head`: the
 *  one decodeFrame(…, owned) leaves in place, so a buffer can be laid out for it to start 8-byte aligned and need no
 *  move (FrameAssembler). -1 when `head` ends first or holds what this walk does not read (an indefinite length).
 *  CBOR lists its items in the order a decoder meets them, each head followed by its string's bytes or by its
 *  children, so one pass over the heads finds it. */
export function largeBytesAt(head: Uint8Array): number {
  let pos = 0
  while (pos < head.byteLength) {
    const first = head[pos++]
    const major = first >>> 5
    const minor = first & 31
    let n = minor
    if (minor >= 24) {
      const width = minor === 24 ? 1 : minor === 25 ? 2 : minor === 26 ? 4 : minor === 27 ? 8 : 0
      if (width === 0 || pos + width > head.byteLength) return -1
      n = 0
      for (let i = 0; i < width; i++) n = n * 256 + head[pos + i]
      pos += width
    }
    if (major === 2 && n >= LARGE_BYTES) return pos
    // Strings carry their bytes; other heads carry nothing more (numbers, floats and simple values end with their
    // argument, and arrays, maps and tags are followed by their items).
    if (major === 2 || major === 3) pos += n
  }
  return -1
}

/**
 * `bytes` as decodeFrame's input where the caller owns the frame's memory outright (a buffer allocated for this frame
 * alone, that nothing else reads or writes). The first large byte string in it (≥ LARGE_BYTES) is decoded as a view
 * into the frame instead of a copy, saving a copy of a 16 MB task input on each side. The view starts 8-byte aligned,
 * as a copy would, for a kernel that reads floats from it: the string is moved back over its own CBOR header and what
 * came before it (already decoded) where it is not. Later large byte strings are copied: a second view would share the
 * first's ArrayBuffer, and moving one to a worker (transfer) would empty the other.
 */
class OwnedFrame extends Uint8Array {
  #viewed = false

  // cborg takes a byte string out of its input with input.slice(start, end) (lib/2bytes.js), reading on from end.
  override slice(start = 0, end = this.byteLength): Uint8Array<ArrayBuffer> {
    const length = end - start
    const at = this.byteOffset + start
    const shift = at % 8
    if (length < LARGE_BYTES || this.#viewed || start < shift) {
      const copy = new Uint8Array(length)
      copy.set(new Uint8Array(this.buffer, at, length))
      return copy
    }
    this.#viewed = true
    if (shift !== 0) this.copyWithin(start - shift, start, end)
    return new Uint8Array(this.buffer as ArrayBuffer, at - shift, length)
  }
}

/** Decodes one frame and validates it against `schema`. `owned`: the frame's memory is the caller's alone (see
 *  OwnedFrame), so a large byte string may stay where it is; decoding may then change the frame's bytes. */
export function decodeFrame<T>(bytes: Uint8Array, schema: FrameSchema<T>, maxBytes: number, owned = false): T {
  if (bytes.byteLength > maxBytes) throw tooLarge(bytes.byteLength, maxBytes)
  let value: unknown
  try {
    // A frame the caller owns is cborg's alone: the fast path could not give it back unchanged after viewing into it.
    value = owned ? FALLBACK : wireDecode(bytes)
    if (value === FALLBACK)
      value = decode(owned ? new OwnedFrame(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength) : bytes, DECODE_OPTIONS)
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
  const output = compileSchema(schema)(value)
  if (output !== INVALID) return output
  // valibot itself decides, and says what is wrong.
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
