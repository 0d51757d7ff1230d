// A fast path for the wire codec (codec.ts): CBOR for the values frames are made of, byte for byte what cborg
// writes and value for value what cborg reads with the codec's options, without cborg's tokens. cborg stays the
// codec: anything these functions do not cover — NaN or an infinity, a non-ASCII string or key, a tag, an undefined,
// an indefinite length, a non-minimal integer, a duplicate or `__proto__` key, bad bytes, deep nesting, a cycle —
// returns FALLBACK, and the caller asks cborg, which encodes it or says what is wrong with it. A 100-byte task's
// request and answer cost ~25 µs in cborg on each side of a round trip (its map-key tokens and sort, a token per
// item read); here they cost a few. shared/test/wire-cbor.test.ts holds both functions to cborg's bytes and values
// on generated inputs (decision 0018).

/** The answer that means "ask cborg". */
export const FALLBACK: unique symbol = Symbol('wire-cbor fallback')

/** Deeper than this, cborg decides (a cycle on the way out, deep nesting on the way in). */
const MAX_DEPTH = 64
/** The encoder writes into one reused buffer; one grown past this for a large value is not kept. */
const KEEP_BYTES = 64 * 1024
/** ASCII strings up to this long are made with one String.fromCharCode call (its arguments are bounded). */
const MAX_CHAR_CODES = 4096
/** Strings up to this long are looked up in a direct-mapped cache of CACHE_SLOTS (a power of two) before one is made. */
const CACHED_MAX_LENGTH = 64
const CACHE_SLOTS = 1024
const strings: Array<string | undefined> = new Array(CACHE_SLOTS).fill(undefined)

const textDecoder = new TextDecoder()

// ---- encoding

let out = new Uint8Array(4096)
let at = 0

/** Encodes `value` as cborg's `encode(value, { ignoreUndefinedProperties: true })` would, or returns FALLBACK. */
export function wireEncode(value: unknown): Uint8Array | typeof FALLBACK {
  at = 0
  const ok = put(value, 0)
  const bytes = ok ? out.slice(0, at) : FALLBACK
  if (out.byteLength > KEEP_BYTES) out = new Uint8Array(4096)
  return bytes
}

function room(bytes: number): void {
  if (at + bytes <= out.byteLength) return
  let size = out.byteLength * 2
  while (size < at + bytes) size *= 2
  const grown = new Uint8Array(size)
  grown.set(out.subarray(0, at))
  out = grown
}

/** A head: major type and argument, in the fewest bytes (as cborg writes it). */
function head(major: number, n: number): void {
  room(9)
  if (n < 24) out[at++] = major | n
  else if (n < 0x100) {
    out[at++] = major | 24
    out[at++] = n
  } else if (n < 0x10000) {
    out[at++] = major | 25
    out[at++] = n >>> 8
    out[at++] = n & 0xff
  } else if (n < 0x100000000) {
    out[at++] = major | 26
    out[at++] = n >>> 24
    out[at++] = (n >>> 16) & 0xff
    out[at++] = (n >>> 8) & 0xff
    out[at++] = n & 0xff
  } else {
    const hi = Math.floor(n / 0x100000000)
    const lo = n >>> 0
    out[at++] = major | 27
    out[at++] = hi >>> 24
    out[at++] = (hi >>> 16) & 0xff
    out[at++] = (hi >>> 8) & 0xff
    out[at++] = hi & 0xff
    out[at++] = lo >>> 24
    out[at++] = (lo >>> 16) & 0xff
    out[at++] = (lo >>> 8) & 0xff
    out[at++] = lo & 0xff
  }
}

/** An ASCII string as a text string; false for any other. */
function putAscii(text: string): boolean {
  const length = text.length
  head(0x60, length)
  room(length)
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i)
    if (code > 0x7f) return false
    out[at++] = code
  }
  return true
}

function put(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return putAscii(value)
    case 'number':
      if (Number.isSafeInteger(value)) {
        if (value >= 0) head(0x00, value)
        else head(0x20, -1 - value)
        return true
      }
      // NaN and the infinities are refused, by cborg.
      return Number.isFinite(value) && putFloat(value)
    case 'boolean':
      room(1)
      out[at++] = value ? 0xf5 : 0xf4
      return true
    case 'object':
      break
    default:
      return false
  }
  if (value === null) {
    room(1)
    out[at++] = 0xf6
    return true
  }
  if (depth >= MAX_DEPTH) return false
  if (value instanceof Uint8Array) {
    head(0x40, value.byteLength)
    room(value.byteLength)
    out.set(value, at)
    at += value.byteLength
    return true
  }
  if (Array.isArray(value)) {
    const length = value.length
    head(0x80, length)
    for (let i = 0; i < length; i++) if (!put(value[i], depth + 1)) return false
    return true
  }
  // cborg writes any object whose tag is Object as a map; here only plain ones (a null prototype included).
  if (value.constructor !== Object && !isPlain(value)) return false
  return putMap(value as Record<string, unknown>, depth)
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return (proto === null || proto === Object.prototype) && Object.prototype.toString.call(value) === '[object Object]'
}

const floats = new DataView(new ArrayBuffer(8))

/** A float in the shortest of half, single and double precision that gives it back exactly, as cborg writes it. */
function putFloat(value: number): true {
  room(9)
  const half16 = toHalf(value)
  if (half(half16) === value) {
    out[at++] = 0xf9
    out[at++] = half16 >>> 8
    out[at++] = half16 & 0xff
    return true
  }
  floats.setFloat32(0, value)
  const width = floats.getFloat32(0) === value ? 4 : 8
  if (width === 8) floats.setFloat64(0, value)
  out[at++] = width === 4 ? 0xfa : 0xfb
  for (let i = 0; i < width; i++) out[at++] = floats.getUint8(i)
  return true
}

/** cborg's float-to-half conversion (lib/7float.js encodeFloat16, for finite values), through single precision;
 *  where it loses the value, putFloat sees it in the round trip and takes a wider width. */
function toHalf(value: number): number {
  floats.setFloat32(0, value)
  const bits = floats.getUint32(0)
  const sign = (bits >>> 16) & 0x8000
  const exponent = (bits & 0x7f800000) >>> 23
  const mantissa = bits & 0x7fffff
  if (exponent === 0xff) return 0x7c00
  if (exponent === 0) return sign | (mantissa >>> 13)
  const logical = exponent - 127
  if (logical < -24) return 0
  if (logical < -14) return sign | (1 << (24 + logical))
  return (sign | ((logical + 15) << 10) | (mantissa >>> 13)) & 0xffff
}

/** A plain object's defined entries, keys in cborg's order: shorter first, then bytewise (ASCII keys only). */
function putMap(value: Record<string, unknown>, depth: number): boolean {
  const keys = Object.keys(value)
  let count = 0
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]
    if (value[key] === undefined) continue
    // Insertion sort: maps on the wire have a handful of keys, often already in order.
    let j = count++
    while (j > 0 && keyBefore(key, keys[j - 1])) {
      keys[j] = keys[j - 1]
      j--
    }
    keys[j] = key
  }
  head(0xa0, count)
  for (let i = 0; i < count; i++) {
    if (!putAscii(keys[i])) return false
    if (!put(value[keys[i]], depth + 1)) return false
  }
  return true
}

/** For ASCII keys, UTF-16 code units compare as their bytes do; a non-ASCII key falls back when written. */
function keyBefore(a: string, b: string): boolean {
  return a.length < b.length || (a.length === b.length && a < b)
}

// ---- decoding

let data: Uint8Array = new Uint8Array(0)
let pos = 0

/** Decodes one CBOR item filling `bytes` as cborg's `decode` does with the codec's strict options, or returns FALLBACK.
 *  Byte strings are taken out with `bytes.slice` as cborg takes them (codec.ts's OwnedFrame relies on that). */
export function wireDecode(bytes: Uint8Array): unknown {
  // cborg reads a Buffer through a plain Uint8Array view, so a byte string comes out as a copy, not a Buffer view.
  data = bytes.constructor === Uint8Array || !isBuffer(bytes) ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  pos = 0
  try {
    const value = item(0)
    return value !== FALLBACK && pos === data.byteLength ? value : FALLBACK
  } finally {
    data = EMPTY
  }
}

const EMPTY = new Uint8Array(0)
const NodeBuffer = (globalThis as { Buffer?: { isBuffer(value: unknown): boolean } }).Buffer
function isBuffer(bytes: Uint8Array): boolean {
  return NodeBuffer?.isBuffer(bytes) === true
}

/** The argument of the head whose first byte was `first`, or -1 where cborg refuses it or decodes it otherwise:
 *  indefinite or reserved lengths, a non-minimal encoding (strict), beyond the safe integers, past the end. */
function argument(first: number): number {
  const minor = first & 31
  if (minor < 24) return minor
  const end = data.byteLength
  if (minor === 24) {
    if (pos + 1 > end) return -1
    const n = data[pos++]
    return n < 24 ? -1 : n
  }
  if (minor === 25) {
    if (pos + 2 > end) return -1
    const n = (data[pos] << 8) | data[pos + 1]
    pos += 2
    return n < 0x100 ? -1 : n
  }
  if (minor === 26) {
    if (pos + 4 > end) return -1
    const n = data[pos] * 0x1000000 + ((data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3])
    pos += 4
    return n < 0x10000 ? -1 : n
  }
  if (minor === 27) {
    if (pos + 8 > end) return -1
    const hi = data[pos] * 0x1000000 + ((data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3])
    const lo = data[pos + 4] * 0x1000000 + ((data[pos + 5] << 16) | (data[pos + 6] << 8) | data[pos + 7])
    pos += 8
    if (hi === 0 || hi > 0x1fffff) return -1
    return hi * 0x100000000 + lo
  }
  return -1
}

function item(depth: number): unknown {
  if (pos >= data.byteLength || depth > MAX_DEPTH) return FALLBACK
  const first = data[pos++]
  const major = first >>> 5
  if (major === 7) return simple(first)
  const n = argument(first)
  if (n < 0) return FALLBACK
  switch (major) {
    case 0:
      return n
    case 1:
      // -1 - n must stay a safe integer.
      return n >= Number.MAX_SAFE_INTEGER ? FALLBACK : -1 - n
    case 2: {
      if (pos + n > data.byteLength) return FALLBACK
      const bytes = data.slice(pos, pos + n)
      pos += n
      return bytes
    }
    case 3:
      return text(n)
    case 4: {
      // Each item takes a byte at least: a head that claims more items than bytes left is cborg's to refuse (and
      // must not size an array).
      if (n > data.byteLength - pos) return FALLBACK
      const list = new Array(n)
      for (let i = 0; i < n; i++) {
        const element = item(depth + 1)
        if (element === FALLBACK) return FALLBACK
        list[i] = element
      }
      return list
    }
    case 5: {
      if (2 * n > data.byteLength - pos) return FALLBACK
      const map: Record<string, unknown> = {}
      for (let i = 0; i < n; i++) {
        if (pos >= data.byteLength || data[pos] >>> 5 !== 3) return FALLBACK
        const key = item(depth + 1)
        if (key === FALLBACK || key === '__proto__' || Object.hasOwn(map, key as string)) return FALLBACK
        const element = item(depth + 1)
        if (element === FALLBACK) return FALLBACK
        map[key as string] = element
      }
      return map
    }
    default:
      // Tags.
      return FALLBACK
  }
}

/** A text string of `length` bytes at pos, read as cborg reads it: TextDecoder's answer. ASCII, which has no BOM to
 *  strip and decodes to its own bytes, is read without it, and short ASCII strings (map keys, kernel names, peer
 *  ids) come from a cache: the same string each time, which V8 finds faster as a property key, and no new one. */
function text(length: number): string | typeof FALLBACK {
  const end = pos + length
  if (end > data.byteLength) return FALLBACK
  const start = pos
  pos = end
  if (length <= CACHED_MAX_LENGTH) {
    let hash = length
    for (let i = start; i < end; i++) {
      const code = data[i]
      if (code > 0x7f) return textDecoder.decode(data.subarray(start, end))
      hash = (Math.imul(hash, 31) + code) | 0
    }
    const slot = hash & (CACHE_SLOTS - 1)
    const cached = strings[slot]
    if (cached !== undefined && cached.length === length && sameChars(cached, start)) return cached
    const made = String.fromCharCode.apply(null, data.subarray(start, end) as unknown as number[])
    strings[slot] = made
    return made
  }
  for (let i = start; i < end; i++) if (data[i] > 0x7f) return textDecoder.decode(data.subarray(start, end))
  if (length > MAX_CHAR_CODES) return textDecoder.decode(data.subarray(start, end))
  return String.fromCharCode.apply(null, data.subarray(start, end) as unknown as number[])
}

/** Whether `cached` is the ASCII at data[start...]. */
function sameChars(cached: string, start: number): boolean {
  for (let i = 0; i < cached.length; i++) if (cached.charCodeAt(i) !== data[start + i]) return false
  return true
}

/** Major type 7: false, true, null and finite floats; cborg refuses or decodes the rest (undefined, NaN, Infinity,
 *  break, other simple values). */
function simple(first: number): unknown {
  switch (first) {
    case 0xf4:
      return false
    case 0xf5:
      return true
    case 0xf6:
      return null
    case 0xf9:
      return float(2)
    case 0xfa:
      return float(4)
    case 0xfb:
      return float(8)
    default:
      return FALLBACK
  }
}

function float(width: 2 | 4 | 8): number | typeof FALLBACK {
  if (pos + width > data.byteLength) return FALLBACK
  const view = new DataView(data.buffer, data.byteOffset + pos, width)
  pos += width
  const value = width === 8 ? view.getFloat64(0) : width === 4 ? view.getFloat32(0) : half(view.getUint16(0))
  return Number.isFinite(value) ? value : FALLBACK
}

/** An IEEE 754 half-precision float. */
function half(bits: number): number {
  const exponent = (bits >>> 10) & 0x1f
  const fraction = bits & 0x3ff
  const sign = bits & 0x8000 ? -1 : 1
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024)
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : Number.NaN
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024)
}
