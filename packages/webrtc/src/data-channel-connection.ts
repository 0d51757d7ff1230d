// A WebRTC data channel as a libp2p MultiaddrConnection: the byte stream that noise and yamux run on.
//
// Binary messages carry the stream's bytes. One text message, "close", is the close handshake: the channel is
// ordered and reliable, so when it arrives every byte sent before it has arrived too. Tearing the peer connection
// down without it loses what SCTP still holds (measured: ~1.8 MB of 32 MiB with @roamhq/wrtc, whether we close the
// channel or the connection), so a graceful close sends "close", waits for the remote's "close" (sent back at once
// by a remote that was not closing itself), and only then destroys the connection. A channel that ends without
// the handshake was reset by the remote.
//
// Writes are coalesced: what is written in one turn goes out as messages of up to maxMessageBytes when the turn
// ends (a whole event-loop turn on Node, the current task in browsers: rtc-peer-factory*.ts), not as one message
// per write. Each `send` on @roamhq/wrtc blocks ~0.1–0.3 ms (a hop to libwebrtc's thread): yamux's small frames
// sent one by one capped a 64-stream echo at ~1 MB/s, and a window update sent apart from the reply behind it
// doubled the round trip.
//
// Send backpressure comes from the channel's bufferedAmount (plus what is waiting for the end of the turn): above
// the high-water mark `send` reports "full", and a poll (or `bufferedamountlow` where the implementation has it;
// @roamhq/wrtc does not) reports drain at the low one. The marks are the platform's (rtc-peer-factory*.ts): in
// browsers a new connection starts with a much shorter queue, since a long one makes Chromium drop packets while
// SCTP is still in slow start.

import type { AbortOptions, Logger } from '@libp2p/interface'
import { AbstractMultiaddrConnection, type SendResult } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { LIMITS } from '@noodlenet/shared'
import { Uint8ArrayList } from 'uint8arraylist'
import { bufferedAmountMarks } from '#rtc-peer-factory'
import { type BufferedAmountMarks, EarlyMessages, type FlushScheduler, type RtcPeer, takeDataChannel } from './rtc-peer.js'

/** The text message that closes the byte stream; anything else in text is a protocol error. */
const CLOSE_MESSAGE = 'close'

export interface DataChannelConnectionInit {
  peer: RtcPeer
  /** What arrived before the connection existed (Negotiation's); by default, watching starts now. */
  early?: EarlyMessages
  /** When writes are handed to the channel (the platform's, from #rtc-peer-factory); default: end of the task. */
  scheduleFlush?: FlushScheduler
  remoteAddr: Multiaddr
  direction: 'inbound' | 'outbound'
  log: Logger
  maxMessageBytes?: number
  /** The send backpressure marks; default: the platform's (rtc-peer-factory*.ts). */
  marks?: BufferedAmountMarks
  /** Fixed marks instead (no start phase): the transport's `webrtc*` overrides. */
  bufferedAmountHighBytes?: number
  bufferedAmountLowBytes?: number
  bufferedAmountPollMs?: number
  closeHandshakeTimeoutMs?: number
}

export class DataChannelConnection extends AbstractMultiaddrConnection {
  private readonly peer: RtcPeer
  private readonly channel: RTCDataChannel
  private readonly maxMessageBytes: number
  /** Bytes accepted from the base class and not yet handed to the channel (sent at the end of this turn). */
  private readonly unsent = new Uint8ArrayList()
  private flushScheduled = false
  private readonly scheduleFlush: FlushScheduler
  private highWater: number
  private lowWater: number
  /** Bytes still to send before the start marks give way to the full ones (0: no start phase, or it is over). */
  private startBytesLeft = 0
  private readonly fullMarks: { highBytes: number; lowBytes: number }
  private readonly pollMs: number
  private readonly closeTimeoutMs: number
  private readonly lowEventSupported: boolean
  private drainTimer: ReturnType<typeof setTimeout> | undefined
  private waitingForDrain = false
  private closeSent = false
  private closeReceived = false
  private readonly closeHandshake: Resolvers<void>

  constructor(init: DataChannelConnectionInit) {
    super({
      remoteAddr: init.remoteAddr,
      direction: init.direction,
      log: init.log,
    })
    this.maxMessageBytes = init.maxMessageBytes ?? LIMITS.webrtcMaxMessageBytes
    this.scheduleFlush = init.scheduleFlush ?? queueMicrotask
    this.peer = init.peer
    const marks = init.marks ?? bufferedAmountMarks
    this.fullMarks = { highBytes: init.bufferedAmountHighBytes ?? marks.highBytes, lowBytes: init.bufferedAmountLowBytes ?? marks.lowBytes }
    const start = init.bufferedAmountHighBytes === undefined && init.bufferedAmountLowBytes === undefined ? marks.start : undefined
    this.highWater = start?.highBytes ?? this.fullMarks.highBytes
    this.lowWater = start?.lowBytes ?? this.fullMarks.lowBytes
    this.startBytesLeft = start?.bytes ?? 0
    this.pollMs = init.bufferedAmountPollMs ?? LIMITS.webrtcBufferedAmountPollMs
    this.closeTimeoutMs = init.closeHandshakeTimeoutMs ?? LIMITS.webrtcCloseHandshakeTimeoutMs
    this.closeHandshake = withResolvers<void>()

    const { channel, early } = takeDataChannel(init.peer, init.early ?? new EarlyMessages(init.peer))
    this.channel = channel
    this.lowEventSupported = typeof channel.bufferedAmountLowThreshold === 'number'
    if (this.lowEventSupported) {
      channel.bufferedAmountLowThreshold = this.lowWater
      channel.addEventListener('bufferedamountlow', this.onBufferedAmountLow)
    }
    channel.onmessage = this.onMessage
    init.peer.on('close', this.onPeerClose)
    init.peer.on('error', this.onPeerError)
    for (const chunk of early) this.onData(chunk)
  }

  /** libp2p's Connection.close() closes the muxer and then this connection directly, while the encryption layer in
   *  between may still hold frames (yamux's GoAway, a stream's last bytes) that it writes when we drain. The base
   *  class refuses writes once closing and aborts; we take them until the close message is sent, since they still
   *  go out before it (behind what the base class still holds: sendClose hands that over first). */
  override send(data: Uint8Array | Uint8ArrayList): boolean {
    if (this.writeStatus !== 'closing' || this.closeSent || this.status !== 'closing') return super.send(data)
    this.writeBuffer.append(data)
    return this.processSendQueue()
  }

  /** Takes about what fits below the high-water mark; the base class keeps the rest until we report drain. A
   *  writer that ignores backpressure (after its first drain, `onDrain()` of @libp2p/utils 7.4 resolves at once)
   *  piles everything into the base class's buffer, which is then handed over in one call: taken whole, a 32 MiB
   *  write went to the channel in one turn, and in Chromium the transfer never finished. */
  sendData(data: Uint8ArrayList): SendResult {
    // One read of bufferedAmount per call: on @roamhq/wrtc each one is a hop to libwebrtc's thread.
    const queued = this.queuedBytes()
    const sentBytes = this.takeable(data, this.highWater - queued)
    if (sentBytes > 0) {
      this.unsent.append(sentBytes === data.byteLength ? data : data.sublist(0, sentBytes))
      if (!this.flushScheduled) {
        this.flushScheduled = true
        this.scheduleFlush(this.flush)
      }
    }
    const canSendMore = sentBytes === data.byteLength && queued + sentBytes < this.highWater
    if (!canSendMore) this.waitForDrain()
    return { sentBytes, canSendMore }
  }

  /** How much of `data` to take for `room` bytes: whole writes while there is room (the last may pass it by one
   *  write), and a write longer than a message cut at a message boundary. Cutting anywhere else would shift every
   *  message of the next flush off the writes' boundaries, making each one a copy (a 64 KiB allocation on a
   *  browser's main thread) instead of a view. */
  private takeable(data: Uint8ArrayList, room: number): number {
    let taken = 0
    for (const write of data) {
      if (taken >= room) break
      if (write.byteLength <= this.maxMessageBytes) {
        taken += write.byteLength
        continue
      }
      const messages = Math.max(1, Math.ceil((room - taken) / this.maxMessageBytes))
      const cut = Math.min(write.byteLength, messages * this.maxMessageBytes)
      taken += cut
      if (cut < write.byteLength) break
    }
    return taken
  }

  /** Hands everything written this turn to the channel, in messages of up to maxMessageBytes. */
  private readonly flush = (): void => {
    this.flushScheduled = false
    while (this.unsent.byteLength > 0) {
      const length = Math.min(this.maxMessageBytes, this.unsent.byteLength)
      const message = this.unsent.subarray(0, length)
      this.unsent.consume(length)
      try {
        this.channel.send(message as Uint8Array<ArrayBuffer>)
        if (this.startBytesLeft > 0) this.countStartBytes(length)
      } catch (err) {
        this.unsent.consume(this.unsent.byteLength)
        this.abort(err as Error)
        return
      }
    }
  }

  /** The start phase ends once the connection has sent its bytes: from then on, the full marks. */
  private countStartBytes(sent: number): void {
    this.startBytesLeft = Math.max(0, this.startBytesLeft - sent)
    if (this.startBytesLeft > 0) return
    this.highWater = this.fullMarks.highBytes
    this.lowWater = this.fullMarks.lowBytes
    if (this.lowEventSupported) this.channel.bufferedAmountLowThreshold = this.lowWater
  }

  /** Hands over everything, including what the base class still holds back for the high-water mark: before the
   *  close message, which must come after every byte. */
  private flushAll(): void {
    if (this.writeBuffer.byteLength > 0) {
      this.unsent.append(this.writeBuffer)
      this.writeBuffer.consume(this.writeBuffer.byteLength)
      this.safeDispatchEvent('idle')
    }
    this.flush()
  }

  private queuedBytes(): number {
    return this.channel.bufferedAmount + this.unsent.byteLength
  }

  sendReset(): void {
    this.stopDrainWait()
    this.unsent.consume(this.unsent.byteLength)
    this.peer.destroy()
  }

  async sendClose(options?: AbortOptions): Promise<void> {
    if (this.peer.destroyed) return
    this.closeSent = true
    try {
      this.flushAll()
      this.channel.send(CLOSE_MESSAGE)
    } catch (err) {
      this.log('could not send close, destroying - %e', err)
      this.peer.destroy()
      return
    }
    // Wait for the remote's confirmation, at most closeTimeoutMs, and no longer than the caller allows; then tear
    // the connection down either way.
    const signal = options?.signal
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.log('remote did not confirm close within %d ms', this.closeTimeoutMs)
        resolve()
      }, this.closeTimeoutMs)
      onAbort = () => resolve()
      if (signal?.aborted === true) resolve()
      else signal?.addEventListener('abort', onAbort, { once: true })
    })
    try {
      await Promise.race([this.closeHandshake.promise, gaveUp])
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
      this.stopDrainWait()
      this.peer.destroy()
    }
    signal?.throwIfAborted()
  }

  sendPause(): void {
    // Data channels have no read backpressure; yamux's per-stream windows bound what a remote can send us.
  }

  sendResume(): void {}

  private readonly onMessage = (event: MessageEvent): void => {
    const data: unknown = event.data
    if (data instanceof ArrayBuffer) {
      this.onData(new Uint8Array(data))
    } else if (ArrayBuffer.isView(data)) {
      this.onData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    } else if (data === CLOSE_MESSAGE) {
      this.onRemoteClose()
    } else {
      this.abort(new Error(`unexpected ${typeof data} message on the data channel`))
    }
  }

  /** The remote has sent everything it will send. */
  private onRemoteClose(): void {
    this.closeReceived = true
    this.closeHandshake.resolve()
    if (this.closeSent) return // our own close() waits on this and tears down
    // The remote closed first: confirm (after anything we already queued), end our side, and let the remote tear
    // the connection down once it reads the confirmation; if it never does, do it ourselves.
    try {
      this.flushAll()
      this.channel.send(CLOSE_MESSAGE)
      this.closeSent = true
    } catch (err) {
      this.log('could not confirm close - %e', err)
    }
    this.onTransportClosed()
    const timer = setTimeout(() => this.peer.destroy(), this.closeTimeoutMs)
    this.peer.on('close', () => clearTimeout(timer))
  }

  private readonly onPeerClose = (): void => {
    this.stopDrainWait()
    this.closeHandshake.resolve()
    if (this.status !== 'open' && this.status !== 'closing') return
    if (this.closeReceived) {
      this.onTransportClosed()
    } else if (this.status === 'closing') {
      // we were closing and the remote went away without confirming: nothing more can arrive either way
      this.onTransportClosed()
    } else {
      this.log('data channel closed without the close handshake: remote reset')
      this.onRemoteReset()
    }
  }

  private readonly onPeerError = (err: Error): void => {
    this.stopDrainWait()
    if (this.status === 'open' || this.status === 'closing') this.onTransportClosed(err)
  }

  private readonly onBufferedAmountLow = (): void => {
    if (this.waitingForDrain) this.drained()
  }

  private waitForDrain(): void {
    if (this.waitingForDrain) return
    this.waitingForDrain = true
    const poll = (): void => {
      if (!this.waitingForDrain) return
      if (this.queuedBytes() <= this.lowWater) {
        this.drained()
        return
      }
      // With the event available the poll is only a safety net, so it can be slow.
      this.drainTimer = setTimeout(poll, this.lowEventSupported ? 50 : this.pollMs)
    }
    this.drainTimer = setTimeout(poll, this.lowEventSupported ? 50 : this.pollMs)
  }

  private drained(): void {
    this.stopDrainWait()
    this.safeDispatchEvent('drain')
  }

  private stopDrainWait(): void {
    this.waitingForDrain = false
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer)
    this.drainTimer = undefined
  }
}

interface Resolvers<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

// Promise.withResolvers is Node 22+; this file must also run where the Node 20 shim is not loaded.
function withResolvers<T>(): Resolvers<T> {
  let resolve!: (value: T | PromiseLike<T>) => void
  let reject!: (reason?: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
