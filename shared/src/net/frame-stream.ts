// Length-prefixed, schema-checked frames over one libp2p stream. Push-based (the stream's 'message' events feed a
// LengthPrefixedDecoder) so a clean end of stream is told apart from a truncated frame, and reading pauses the
// stream when frames pile up, so a fast sender cannot fill our memory.

import type { Stream } from '@libp2p/interface'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import { NoodleError } from '../errors.js'
import { decodeFrame, encodeFrame, type FrameSchema } from './codec.js'

/** Frames buffered before the stream is paused. */
const MAX_QUEUED_FRAMES = 16

export class FrameStream {
  readonly stream: Stream
  private readonly maxBytes: number
  private readonly decoder: LengthPrefixedDecoder
  private readonly queue: Uint8Array[] = []
  private ended = false
  private failure: Error | undefined
  private wake: (() => void) | undefined

  constructor(stream: Stream, maxBytes: number) {
    this.stream = stream
    this.maxBytes = maxBytes
    this.decoder = new LengthPrefixedDecoder({ maxDataLength: maxBytes, maxBufferSize: maxBytes + 16 })
    stream.addEventListener('message', (evt) => this.onData(evt.data))
    stream.addEventListener('remoteCloseWrite', () => this.finish())
    stream.addEventListener('close', (evt) => this.finish(evt.error))
  }

  private onData(data: Uint8Array | Uint8ArrayList): void {
    if (this.failure !== undefined) return
    try {
      for (const frame of this.decoder.decode(data)) this.queue.push(frame.subarray())
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
      this.failure = new NoodleError('STREAM_CLOSED', `stream closed: ${error.message}`, 'Retry; the peer may have gone away.', { cause: error })
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
        return decodeFrame(next, schema, this.maxBytes)
      }
      if (this.ended) return null
      signal?.throwIfAborted()
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(signal?.reason)
        this.wake = () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
        signal?.addEventListener('abort', onAbort, { once: true })
      })
    }
  }

  /** Encodes and sends one frame, waiting for the stream to drain when its buffer is full. */
  async write(value: unknown, signal?: AbortSignal): Promise<void> {
    const body = encodeFrame(value, this.maxBytes)
    const frame = new Uint8ArrayList(varint.encode(body.byteLength), body)
    if (!this.stream.send(frame)) await this.stream.onDrain({ signal })
  }
}
