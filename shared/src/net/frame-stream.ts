// Length-prefixed, schema-checked frames over one libp2p stream. Push-based: the stream's 'message' events feed a
// FrameAssembler, whole chunks at a time (libp2p's lpStream reads the length prefix byte by byte), and
// reading pauses the stream when frames pile up, so a fast sender cannot fill our memory. The end of the stream
// reads as null; a frame cut off by that end is dropped with it.

import type { Stream } from '@libp2p/interface'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { allocUnsafe } from 'uint8arrays/alloc'
import { NoodleError } from '../errors.js'
import { decodeFrame, encodeFrameParts, type FrameSchema, largeBytesAt } from './codec.js'

/** Frames buffered before the stream is paused. */
const MAX_QUEUED_FRAMES = 16

/** A JavaScript number needs at most 8 varint bytes; a longer length never decodes, as with varint.decode. */
const MAX_LENGTH_BYTES = 8

/** A frame's varint length at the start of `buffer`, -1 while not enough bytes have arrived for it, or Infinity when
 *  its first MAX_LENGTH_BYTES bytes all say "more follows" (no length a peer may send). Read chunk by chunk:
 *  varint.decode reads a list byte by byte through get(), which walks its chunks each time, and it throws a fresh
 *  RangeError, stack trace and all, at the end of every chunk (the buffer is empty once its last frame is taken).
 *  Even a RangeError made once cost ~8 µs a received message to throw and catch. */
function frameLength(buffer: Uint8ArrayList | Uint8Array): number {
  let value = 0
  let scale = 1
  let read = 0
  for (const chunk of buffer instanceof Uint8Array ? [buffer] : buffer) {
    for (let i = 0; i < chunk.byteLength && read < MAX_LENGTH_BYTES; i++, read++, scale *= 128) {
      const byte = chunk[i]
      value += (byte & 0x7f) * scale
      if (byte < 0x80) return value
    }
  }
  return read < MAX_LENGTH_BYTES ? -1 : Number.POSITIVE_INFINITY
}

/** Frames at least this long are gathered into a buffer of their own as their chunks arrive (FrameAssembler). */
const LARGE_FRAME_BYTES = 1 << 20
/** How much of a large frame's start is read for where its large byte string begins (its envelope is far shorter). */
const FRAME_HEAD_BYTES = 4096

export interface Frame {
  bytes: Uint8Array
  /** The frame's memory is its own: allocated for it, shared with nothing (decodeFrame's `owned`). */
  owned: boolean
}

/**
 * Cuts a stream's chunks into length-prefixed frames (what libp2p's LengthPrefixedDecoder does, with frameLength).
 * A small frame is taken from the chunks it came in: a view when it lies in one, else joined. A large one (at least
 * LARGE_FRAME_BYTES) is copied chunk by chunk, as the stream hands them over, into a buffer of its own, so that the
 * frame's memory is its own and decodeFrame can leave a large byte string in place (the frame is laid out in its
 * buffer for that string to start 8-byte aligned, as a kernel reading floats needs). The buffer starts once
 * LARGE_FRAME_BYTES of the frame have arrived and grows ×4 up to the announced length, so memory follows the bytes
 * received, not the length a peer announces. Over yamux a stream gets a data frame only once it is whole, and a data
 * frame is as large as the sender's window (up to 16 MiB): a large frame then comes in one piece, copied at once.
 */
export class FrameAssembler {
  private readonly buffered = new Uint8ArrayList()
  private large: { length: number; bytes: Uint8Array; filled: number; pad: number } | undefined
  private readonly maxBytes: number

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
  }

  /** Appends the frames `data` completes to `frames`; throws a RangeError when one announces more than maxBytes. */
  push(data: Uint8Array | Uint8ArrayList, frames: Frame[]): void {
    for (const chunk of data instanceof Uint8Array ? [data] : data) {
      let offset = 0
      while (offset < chunk.byteLength) {
        const large = this.large
        if (large === undefined) {
          this.buffered.append(offset === 0 ? chunk : chunk.subarray(offset))
          offset = chunk.byteLength
          this.takeFrames(frames)
          continue
        }
        const n = Math.min(chunk.byteLength - offset, large.length - large.filled)
        if (large.filled + n > large.bytes.byteLength) {
          const grown = padded(Math.min(large.length, Math.max(large.filled + n, large.bytes.byteLength * 4)), large.pad)
          grown.set(large.bytes.subarray(0, large.filled))
          large.bytes = grown
        }
        large.bytes.set(chunk.subarray(offset, offset + n), large.filled)
        large.filled += n
        offset += n
        if (large.filled === large.length) {
          frames.push({ bytes: large.bytes, owned: true })
          this.large = undefined
        }
      }
    }
  }

  private takeFrames(frames: Frame[]): void {
    while (this.buffered.byteLength > 0) {
      const length = frameLength(this.buffered)
      if (length < 0) return
      if (length > this.maxBytes) throw new RangeError(`a frame of ${length} bytes`)
      const header = varint.encodingLength(length)
      const have = this.buffered.byteLength - header
      if (have >= length) {
        if (length > 0) frames.push({ bytes: this.buffered.subarray(header, header + length), owned: false })
        this.buffered.consume(header + length)
        continue
      }
      if (length >= LARGE_FRAME_BYTES && have >= LARGE_FRAME_BYTES) {
        this.buffered.consume(header)
        // The frame starts `pad` bytes into its buffer, so that its large byte string (a task's input, a result's
        // output) starts 8-byte aligned and decodeFrame need not move 16 MB to align it.
        const start = largeBytesAt(this.buffered.subarray(0, FRAME_HEAD_BYTES))
        const pad = start < 0 ? 0 : (8 - (start % 8)) % 8
        const bytes = padded(Math.min(length, have * 4), pad)
        let at = 0
        for (const chunk of this.buffered) {
          bytes.set(chunk, at)
          at += chunk.byteLength
        }
        this.buffered.consume(have)
        this.large = { length, bytes, filled: have, pad }
      }
      return
    }
  }
}

/** `size` bytes starting `pad` bytes into a buffer of their own, the pad zeroed and the rest not: a large frame is
 *  written in full before it is handed on. Zeroed memory (`new Uint8Array`, calloc) is either fresh from the kernel,
 *  a page fault per 4 KiB when written, or zeroed first; memory `malloc` reuses is neither (16 MB: ~1 ms to fill
 *  instead of 7–9). In Node this is `Buffer.allocUnsafe`, which gives a buffer of this size (far over its 4 KiB pool)
 *  an ArrayBuffer of its own, so the pad aligns from that buffer's start; in browsers it is `new Uint8Array`. */
function padded(size: number, pad: number): Uint8Array {
  const memory = allocUnsafe(size + pad)
  memory.fill(0, 0, pad)
  return memory.subarray(pad)
}

export class FrameStream {
  readonly stream: Stream
  private readonly maxBytes: number
  private readonly assembler: FrameAssembler
  private readonly queue: Frame[] = []
  private ended = false
  private failure: Error | undefined
  private wake: (() => void) | undefined
  private rejectWait: ((reason: unknown) => void) | undefined
  private waitSignal: AbortSignal | undefined

  constructor(stream: Stream, maxBytes: number) {
    this.stream = stream
    this.maxBytes = maxBytes
    this.assembler = new FrameAssembler(maxBytes)
    stream.addEventListener('message', (evt) => this.onData(evt.data))
    stream.addEventListener('remoteCloseWrite', () => this.finish())
    stream.addEventListener('close', (evt) => this.finish(evt.error))
  }

  private onData(data: Uint8Array | Uint8ArrayList): void {
    if (this.failure !== undefined) return
    try {
      this.assembler.push(data, this.queue)
    } catch {
      this.failure = new NoodleError(
        'FRAME_TOO_LARGE',
        `a frame on ${this.stream.protocol ?? 'the stream'} announced more than the ${this.maxBytes}-byte cap`,
        'Split the payload, or raise network.frameMaxBytes on both peers.',
      )
    }
    if (this.queue.length >= MAX_QUEUED_FRAMES) this.stream.pause()
    this.notify()
  }

  private finish(error?: Error): void {
    this.ended = true
    if (error !== undefined && this.failure === undefined) {
      this.failure = new NoodleError('STREAM_CLOSED', `stream closed: ${error.message}`, 'Retry; the peer may have gone away.', {
        cause: error,
      })
    }
    this.notify()
  }

  private notify(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** The next frame, validated; null when the remote ended the stream cleanly between frames. */
  async read<T>(schema: FrameSchema<T>, signal?: AbortSignal): Promise<T | null> {
    while (true) {
      if (this.failure !== undefined && this.queue.length === 0) throw this.failure
      const next = this.queue.shift()
      if (next !== undefined) {
        if (this.queue.length < MAX_QUEUED_FRAMES / 2 && this.stream.readStatus === 'paused') this.stream.resume()
        return decodeFrame(next.bytes, schema, this.maxBytes, next.owned)
      }
      if (this.ended) return null
      if (signal === undefined) {
        await new Promise<void>((resolve) => {
          this.wake = resolve
        })
        continue
      }
      signal.throwIfAborted()
      try {
        await new Promise<void>((resolve, reject) => {
          this.wake = resolve
          this.rejectWait = reject
          this.waitSignal = signal
          signal.addEventListener('abort', this.onAbort)
        })
      } finally {
        signal.removeEventListener('abort', this.onAbort)
        this.rejectWait = undefined
        this.waitSignal = undefined
      }
    }
  }

  /** One listener for every wait (no closures per read: a request waits once per read). */
  private readonly onAbort = (): void => this.rejectWait?.(this.waitSignal?.reason)

  /** Ends the stream in both directions: flushes what was written, then stops reading (the rest is dropped). */
  async end(): Promise<void> {
    try {
      await this.stream.close()
      await this.stream.closeRead()
    } catch (err) {
      this.stream.abort(err as Error)
    }
  }

  /** Encodes and sends one frame, waiting for the stream to drain when its buffer is full. */
  async write(value: unknown, signal?: AbortSignal): Promise<void> {
    const parts = encodeFrameParts(value, this.maxBytes)
    let length = 0
    for (const part of parts) length += part.byteLength
    const frame = new Uint8ArrayList(varint.encode(length), ...parts)
    if (!this.stream.send(frame)) await this.stream.onDrain({ signal })
  }
}
