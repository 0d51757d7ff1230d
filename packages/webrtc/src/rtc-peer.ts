// One WebRTC peer connection with one data channel, as simple-peer makes it: simple-peer runs the negotiation (offer,
// answer, trickle ICE, candidates that arrive before the description), and once it reports `connect` the
// transport takes the data channel over (data-channel-connection.ts). Node uses `simple-peer` with @roamhq/wrtc,
// browsers `@thaunknown/simple-peer` with the native RTCPeerConnection (rtc-peer-factory*.ts; decisions/0006).

import type { PeerSignal } from './signal-messages.js'

/** The part of simple-peer's API (identical in both packages) that the transport uses. */
export interface RtcPeer {
  readonly destroyed: boolean
  signal(data: PeerSignal): void
  destroy(err?: Error): void
  on(event: 'signal', listener: (data: PeerSignal) => void): this
  on(event: 'connect', listener: () => void): this
  on(event: 'error', listener: (err: Error) => void): this
  on(event: 'close', listener: () => void): this
  /** simple-peer's data channel and peer connection. Not part of its documented API, but both fields have been
   *  there since simple-peer 6 and both packages are pinned (decisions/0006); `takeDataChannel` checks them. */
  _channel?: RTCDataChannel | null
  _pc?: RTCPeerConnection | null
}

export interface RtcPeerOptions {
  initiator: boolean
  config: RTCConfiguration
  channelConfig?: RTCDataChannelInit
  /** A WebRTC implementation to use instead of the platform's (Node only: browsers always use their own). */
  wrtc?: WebRTCImplementation
}

export interface WebRTCImplementation {
  RTCPeerConnection: unknown
  RTCSessionDescription: unknown
  RTCIceCandidate: unknown
}

export type CreateRtcPeer = (options: RtcPeerOptions) => Promise<RtcPeer>

/** When a connection hands what was written to its channel: see data-channel-connection.ts. */
export type FlushScheduler = (flush: () => void) => void

/** A connection's send backpressure (data-channel-connection.ts): "full" once the channel's bufferedAmount plus
 *  what waits for the flush passes `highBytes`, "drained" at `lowBytes`; with `start`, a new connection keeps a
 *  shorter queue until it has sent `start.bytes`. Each platform has its own (rtc-peer-factory*.ts). */
export interface BufferedAmountMarks {
  highBytes: number
  lowBytes: number
  start?: { highBytes: number; lowBytes: number; bytes: number }
}

/** Keeps every message that arrives on the peer's data channel from the moment the channel exists until the
 *  transport takes it over: the remote starts its noise handshake as soon as its own side is up, which can be
 *  before simple-peer reports `connect` here. (simple-peer also queues them in its own stream, but reading that
 *  back differs between its two packages; this does not.) */
export class EarlyMessages {
  private readonly chunks: Uint8Array[] = []
  private channel: RTCDataChannel | undefined
  private stopped = false

  constructor(peer: RtcPeer) {
    if (peer._channel != null) this.watch(peer._channel)
    // the answering side's channel arrives with the remote's offer
    else peer._pc?.addEventListener('datachannel', (event) => this.watch(event.channel), { once: true })
  }

  /** What arrived so far; nothing more is kept after this. */
  take(): Uint8Array[] {
    this.stopped = true
    this.channel?.removeEventListener('message', this.onMessage)
    return this.chunks.splice(0)
  }

  private watch(channel: RTCDataChannel): void {
    if (this.stopped) return
    this.channel = channel
    channel.addEventListener('message', this.onMessage)
  }

  private readonly onMessage = (event: MessageEvent): void => {
    const data: unknown = event.data
    if (data instanceof ArrayBuffer) this.chunks.push(new Uint8Array(data))
    else if (ArrayBuffer.isView(data)) this.chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
  }
}

/** The connected peer's data channel with its message handler taken over, and what arrived on it before; throws
 *  when the channel is missing or not open (a simple-peer that changed underneath us). */
export function takeDataChannel(peer: RtcPeer, early: EarlyMessages): { channel: RTCDataChannel; early: Uint8Array[] } {
  const channel = peer._channel
  if (channel == null || channel.readyState !== 'open' || typeof channel.send !== 'function') {
    throw new Error('simple-peer connected without an open data channel (its internals changed?)')
  }
  channel.binaryType = 'arraybuffer'
  channel.onmessage = null
  return { channel, early: early.take() }
}
