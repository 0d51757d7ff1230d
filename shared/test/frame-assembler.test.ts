// FrameAssembler (net/frame-stream.ts) cuts a stream's chunks into frames, wherever the chunks are cut; a large frame
// is gathered into memory of its own as it arrives. decodeFrame leaves one large byte string of such a frame in place.

import fc from 'fast-check'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { decodeFrame, encodeFrame, largeBytesAt } from '../src/net/codec.js'
import { type Frame, FrameAssembler } from '../src/net/frame-stream.js'

const MiB = 1 << 20

/** A frame's bytes: a pattern that tells any two positions and frames apart. */
function payload(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff
  return bytes
}

/** Whether two byte arrays hold the same bytes (toStrictEqual compares megabytes element by element, for minutes). */
function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/** The frames length-prefixed one after the other, cut at `cuts` (fractions of the whole). */
function chunked(frames: Uint8Array[], cuts: number[]): Uint8Array[] {
  const whole = new Uint8ArrayList()
  for (const frame of frames) whole.append(varint.encode(frame.byteLength), frame)
  const bytes = whole.subarray()
  const at = [...new Set(cuts.map((cut) => Math.floor(cut * bytes.byteLength)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let from = 0
  for (const to of [...at, bytes.byteLength]) {
    if (to > from) chunks.push(bytes.slice(from, to))
    from = to
  }
  return chunks
}

describe('FrameAssembler', () => {
  it('gives back every non-empty frame, byte for byte and in order, however the chunks are cut (property)', () => {
    const size = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: MiB - 2, max: 3 * MiB }))
    fc.assert(
      fc.property(
        fc.array(size, { minLength: 1, maxLength: 4 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }),
        (sizes, cuts) => {
          const frames = sizes.map((length, k) => payload(length, k))
          const assembler = new FrameAssembler(4 * MiB)
          const out: Frame[] = []
          for (const chunk of chunked(frames, cuts)) assembler.push(chunk, out)
          const expected = frames.filter((frame) => frame.byteLength > 0)
          expect(out).toHaveLength(expected.length)
          expected.forEach((frame, k) => {
            expect(same(out[k].bytes, frame), `frame ${k}`).toBe(true)
          })
          // An owned frame has a buffer of its own, exactly its size.
          for (const frame of out) if (frame.owned) expect(frame.bytes.buffer.byteLength).toBe(frame.bytes.byteLength)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('gathers a large frame that arrives in pieces into memory of its own', () => {
    const frame = payload(2 * MiB + 3, 1)
    const out: Frame[] = []
    const assembler = new FrameAssembler(4 * MiB)
    for (const chunk of chunked([frame], [0.1, 0.3, 0.31, 0.7])) assembler.push(chunk, out)
    expect(out).toHaveLength(1)
    expect(out[0].owned).toBe(true)
    expect(same(out[0].bytes, frame)).toBe(true)
  })

  it('holds memory in proportion to the bytes received, not to the length a peer announces', () => {
    const assembler = new FrameAssembler(16 * MiB)
    const out: Frame[] = []
    assembler.push(varint.encode(16 * MiB), out)
    assembler.push(new Uint8Array(MiB / 2), out)
    expect((assembler as unknown as { large?: unknown }).large).toBeUndefined()
    assembler.push(new Uint8Array(MiB), out)
    const large = (assembler as unknown as { large: { bytes: Uint8Array } }).large
    expect(large.bytes.byteLength).toBeLessThanOrEqual(6 * MiB)
    expect(out).toHaveLength(0)
  })

  it('refuses a frame announced over the cap with a RangeError (FrameStream makes it FRAME_TOO_LARGE)', () => {
    expect(() => new FrameAssembler(1000).push(varint.encode(1001), [])).toThrow(RangeError)
  })

  it('waits for a length split across chunks, and refuses one that never ends instead of buffering what follows', () => {
    const assembler = new FrameAssembler(100_000)
    const out: Frame[] = []
    const frame = crypto.getRandomValues(new Uint8Array(300))
    const prefix = varint.encode(frame.byteLength)
    assembler.push(prefix.subarray(0, 1), out)
    assembler.push(prefix.subarray(1), out)
    expect(out).toHaveLength(0)
    assembler.push(frame, out)
    expect(out.map((f) => f.bytes)).toEqual([frame])
    // Eight bytes that each say "more follows": no length a peer may send.
    expect(() => new FrameAssembler(100_000).push(new Uint8Array(8).fill(0x80), [])).toThrow(RangeError)
  })
})

describe('decodeFrame of a frame whose memory is its own', () => {
  const Body = v.object({ a: v.instance(Uint8Array), b: v.optional(v.instance(Uint8Array)), small: v.instance(Uint8Array) })

  it('leaves the first large byte string in the frame (a view, 8-byte aligned) and copies small ones', () => {
    for (const pad of ['', 'x', 'xyz', 'abcdefg']) {
      // The pad (key `_`: written before `a`) moves the byte string to every offset modulo 8 in the frame.
      const frame = encodeFrame({ _: pad, a: payload(100_000, 2), small: payload(10, 3) }, 16 * MiB)
      const owned = decodeFrame(frame.slice(), v.object({ ...Body.entries, _: v.string() }), 16 * MiB, true)
      expect(same(owned.a, payload(100_000, 2))).toBe(true)
      expect(owned._).toBe(pad)
      expect(owned.a.buffer.byteLength).toBe(frame.byteLength)
      expect(owned.a.byteOffset % 8).toBe(0)
      expect(owned.small.buffer.byteLength).toBe(10)
      // Not owned: every byte string is a copy.
      expect(decodeFrame(frame, Body, 16 * MiB).a.buffer.byteLength).toBe(100_000)
    }
  })

  it('lays a large frame out in its buffer so that its large byte string starts aligned and nothing is moved', () => {
    const offsets = new Set<number>()
    for (const pad of ['', 'x', 'xyz', 'abcdefg']) {
      const sent = encodeFrame({ _: pad, a: payload(2 * MiB, 7), small: payload(3, 8) }, 16 * MiB)
      const at = largeBytesAt(sent)
      offsets.add(at % 8)
      expect(same(sent.subarray(at, at + 64), payload(2 * MiB, 7).subarray(0, 64))).toBe(true)
      const frames: Frame[] = []
      const assembler = new FrameAssembler(16 * MiB)
      for (const chunk of chunked([sent], [0.1, 0.3, 0.6, 0.9])) assembler.push(chunk, frames)
      const [frame] = frames
      expect(frame.owned).toBe(true)
      expect((frame.bytes.byteOffset + at) % 8).toBe(0)
      // The buffer (not zeroed when allocated) holds the frame and a zeroed pad before it, nothing else.
      expect(frame.bytes.buffer.byteLength).toBe(frame.bytes.byteOffset + frame.bytes.byteLength)
      expect(new Uint8Array(frame.bytes.buffer, 0, frame.bytes.byteOffset).every((byte) => byte === 0)).toBe(true)
      const decoded = decodeFrame(frame.bytes, v.object({ ...Body.entries, _: v.string() }), 16 * MiB, true)
      expect(decoded.a.buffer).toBe(frame.bytes.buffer)
      expect(decoded.a.byteOffset % 8).toBe(0)
      expect(same(decoded.a, payload(2 * MiB, 7))).toBe(true)
      // Left where it was: the frame's bytes are as they arrived (a move would have shifted them).
      expect(same(frame.bytes, sent)).toBe(true)
    }
    expect(offsets.size).toBe(4)
    expect(largeBytesAt(encodeFrame({ small: payload(10, 1) }, MiB))).toBe(-1)
    expect(largeBytesAt(Uint8Array.of(0x5f, 0x41, 0x00, 0xff))).toBe(-1)
  })

  it("copies a second large byte string, which would otherwise share the first one's buffer", () => {
    const frame = encodeFrame({ a: payload(70_000, 4), b: payload(80_000, 5), small: payload(1, 6) }, 16 * MiB)
    const decoded = decodeFrame(frame.slice(), Body, 16 * MiB, true)
    expect(decoded.a.buffer.byteLength).toBe(frame.byteLength)
    expect(decoded.b?.buffer.byteLength).toBe(80_000)
    expect(same(decoded.a, payload(70_000, 4))).toBe(true)
    expect(same(decoded.b, payload(80_000, 5))).toBe(true)
  })
})
