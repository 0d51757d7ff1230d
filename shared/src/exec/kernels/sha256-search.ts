// sha256-search: a proof-of-work search. Tries nonces start, start+1, … and returns the first whose
// SHA-256(prefix ‖ decimal digits of the nonce) begins with `bits` zero bits. A long search is split into
// (start, count) ranges, one per task. Hashing is synchronous (@noble/hashes, from the prefix's precomputed
// state): ~2 µs a digest here, where WebCrypto's async digest() takes ~18 µs per call (measured, Node 20).

import { sha256 } from '@noble/hashes/sha2.js'
import * as v from 'valibot'
import { LIMITS } from '../../limits.js'
import type { CpuKernel } from '../kernel.js'
import { KernelPacer } from './pacing.js'
import { invalidInput, parseInput, wholeNumber } from './validation.js'

/** `prefix`: text (hashed as UTF-8) or bytes. `bits`: 0 to 40. `start` (default 0) and `count` (default and at most
 *  2^32): the nonces tried are start … start + count − 1, all within Number.MAX_SAFE_INTEGER. */
export interface Sha256SearchInput {
  prefix: string | Uint8Array
  bits: number
  start?: number
  count?: number
}
/** The first nonce in the range that meets the target, with its digest in lower-case hex; or `found: false`. */
export type Sha256SearchOutput = { found: true; nonce: number; hash: string } | { found: false }

export interface Sha256SearchOperands {
  prefix: Uint8Array
  bits: number
  start: number
  count: number
}

const SHAPE =
  `{prefix: string | Uint8Array (at most ${LIMITS.kernelSha256MaxPrefixBytes} bytes), bits: a whole number from 0 to ${LIMITS.kernelSha256MaxBits}, ` +
  `start?: a whole number ≥ 0, count?: a whole number from 1 to 2^32}, with start + count within Number.MAX_SAFE_INTEGER`
const Sha256SearchInputSchema = v.object(
  {
    prefix: v.union([v.string(), v.instance(Uint8Array)], 'must be a string or a Uint8Array'),
    bits: wholeNumber(0, LIMITS.kernelSha256MaxBits, `a whole number from 0 to ${LIMITS.kernelSha256MaxBits}`),
    start: v.optional(wholeNumber(0, Number.MAX_SAFE_INTEGER, 'a whole number ≥ 0')),
    count: v.optional(wholeNumber(1, LIMITS.kernelSha256MaxCount, 'a whole number from 1 to 2^32')),
  },
  'must be an object {prefix, bits, start?, count?}',
)

/** Nonces between two looks at the clock (a few ms of hashing). */
const BATCH = 1024

export const sha256SearchKernel: CpuKernel<Sha256SearchOperands, Sha256SearchOutput> = {
  name: 'sha256-search',
  level: 'PUBLIC',
  summary: 'Finds the first nonce in a range whose SHA-256(prefix ‖ nonce in decimal) starts with the given number of zero bits.',
  validate(input) {
    const parsed = parseInput('sha256-search', Sha256SearchInputSchema, input, SHAPE)
    const prefix = typeof parsed.prefix === 'string' ? new TextEncoder().encode(parsed.prefix) : parsed.prefix
    if (prefix.length > LIMITS.kernelSha256MaxPrefixBytes) {
      invalidInput('sha256-search', `prefix is ${prefix.length} bytes, more than ${LIMITS.kernelSha256MaxPrefixBytes}`, SHAPE)
    }
    const start = parsed.start ?? 0
    const count = parsed.count ?? LIMITS.kernelSha256MaxCount
    if (count - 1 > Number.MAX_SAFE_INTEGER - start) invalidInput('sha256-search', 'start + count passes Number.MAX_SAFE_INTEGER', SHAPE)
    return { prefix, bits: parsed.bits, start, count }
  },
  async run({ prefix, bits, start, count }, context) {
    const pacer = new KernelPacer('sha256-search', context)
    const prefixed = sha256.create().update(prefix)
    const digits = new Uint8Array(16)
    const end = start + count
    for (let batch = start; batch < end; batch += BATCH) {
      const batchEnd = Math.min(end, batch + BATCH)
      for (let nonce = batch; nonce < batchEnd; nonce++) {
        const length = writeDecimal(nonce, digits)
        const digest = prefixed
          .clone()
          .update(digits.subarray(digits.length - length))
          .digest()
        if (leadingZeroBits(digest, bits)) {
          context.progress(1)
          return { found: true, nonce, hash: toHex(digest) }
        }
      }
      if (pacer.due) await pacer.pause((batchEnd - start) / count)
    }
    context.progress(1)
    return { found: false }
  },
  estimateWork(input) {
    const { count, bits } = (input ?? {}) as Partial<Sha256SearchInput>
    // The expected number of digests: 2^bits, or the whole range when that is shorter.
    const expected = typeof bits === 'number' ? 2 ** Math.min(bits, 64) : LIMITS.kernelSha256MaxCount
    const work = Math.min(expected, typeof count === 'number' ? count : LIMITS.kernelSha256MaxCount)
    return Number.isFinite(work) && work >= 1 ? work : 1
  },
}

/** Writes `value`'s decimal digits right-aligned at the end of `into` (ASCII); returns how many. */
function writeDecimal(value: number, into: Uint8Array): number {
  let i = into.length
  do {
    const rest = Math.floor(value / 10)
    into[--i] = 48 + (value - rest * 10)
    value = rest
  } while (value > 0)
  return into.length - i
}

/** Whether `digest` begins with at least `bits` zero bits. */
export function leadingZeroBits(digest: Uint8Array, bits: number): boolean {
  const whole = bits >>> 3
  for (let i = 0; i < whole; i++) if (digest[i] !== 0) return false
  const rest = bits & 7
  return rest === 0 || digest[whole] >>> (8 - rest) === 0
}

function toHex(bytes: Uint8Array): string {
  let hex = ''
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0')
  return hex
}
