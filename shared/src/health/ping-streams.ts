// Heartbeat pings over one long-lived stream per peer. libp2p's ping service opens a new stream for every ping:
// a yamux stream, a multistream-select negotiation, a peer-store write of the protocol, and a logger made for the
// stream, at each end. At one ping per link per second that was the largest cost of an idle node (a fifth of its CPU
// in a profile of ten idle peers). The ping protocol allows many pings on one stream (the responder echoes until the
// stream ends: the libp2p ping spec, and @libp2p/ping's handler does so), so this keeps the stream and sends 32
// random bytes on it each time. A ping that fails or times out takes its stream with it; the next ping opens a
// fresh one. Any libp2p peer answers these, so nothing changes on the wire but the stream count.

import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { NoodleError } from '../errors.js'

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_BYTES = 32

interface Pending {
  sent: Uint8Array
  received: Uint8Array
  filled: number
  startedAt: number
  resolve: (rttMs: number) => void
  reject: (err: Error) => void
}

interface PingStream {
  stream: Stream
  pending: Pending | undefined
}

export class PingStreams {
  private readonly libp2p: Pick<Libp2p, 'dialProtocol'>
  private readonly protocol: string
  private readonly streams = new Map<string, PingStream>()
  private readonly opening = new Map<string, Promise<PingStream>>()
  private stopped = false

  /** `protocol`: the ping protocol's id (another only in tests, to talk to a misbehaving answerer). */
  constructor(libp2p: Pick<Libp2p, 'dialProtocol'>, protocol = PING_PROTOCOL) {
    this.libp2p = libp2p
    this.protocol = protocol
  }

  /** Round trip (ms) of one ping to `peer` on its kept stream. One ping at a time per peer (the failure detector
   *  never has two out): a second while one is pending fails. */
  async ping(peer: PeerId, options: { signal: AbortSignal }): Promise<number> {
    const key = peer.toString()
    const entry = this.streams.get(key) ?? (await this.open(peer, key, options.signal))
    if (entry.pending !== undefined) throw new NoodleError('REQUEST_ABORTED', `a ping to ${key} is already out`, 'Wait for its answer')
    options.signal.throwIfAborted()
    const sent = crypto.getRandomValues(new Uint8Array(PING_BYTES))
    const answer = new Promise<number>((resolve, reject) => {
      entry.pending = { sent, received: new Uint8Array(PING_BYTES), filled: 0, startedAt: performance.now(), resolve, reject }
    })
    // Gone since it was opened (reset, or bytes nobody asked for): this ping fails, the next opens a new stream.
    if (this.streams.get(key) !== entry) this.drop(key, entry, closed(key))
    const onAbort = (): void =>
      this.drop(key, entry, new NoodleError('REQUEST_TIMEOUT', `no ping answer from ${key} in time`, 'The link may be down'))
    options.signal.addEventListener('abort', onAbort, { once: true })
    try {
      if (entry.pending !== undefined) {
        try {
          entry.stream.send(sent)
        } catch (err) {
          this.drop(key, entry, closed(key, err))
        }
      }
      return await answer
    } finally {
      options.signal.removeEventListener('abort', onAbort)
    }
  }

  start(): void {
    this.stopped = false
  }

  /** Ends every kept stream. */
  stop(): void {
    this.stopped = true
    for (const [key, entry] of this.streams) this.drop(key, entry, new NoodleError('NOT_STARTED', 'the node is stopping'))
  }

  private async open(peer: PeerId, key: string, signal: AbortSignal): Promise<PingStream> {
    let opening = this.opening.get(key)
    if (opening === undefined) {
      opening = this.dial(peer, key, signal).finally(() => this.opening.delete(key))
      this.opening.set(key, opening)
    }
    return opening
  }

  private async dial(peer: PeerId, key: string, signal: AbortSignal): Promise<PingStream> {
    const stream = await this.libp2p.dialProtocol(peer, this.protocol, { signal })
    const entry: PingStream = { stream, pending: undefined }
    if (this.stopped) {
      stream.abort(new Error('stopping'))
      throw new NoodleError('NOT_STARTED', 'the node is stopping')
    }
    stream.addEventListener('message', (evt) => this.onData(key, entry, evt.data.subarray()))
    stream.addEventListener('close', () => this.drop(key, entry, closed(key)))
    this.streams.set(key, entry)
    return entry
  }

  private onData(key: string, entry: PingStream, data: Uint8Array): void {
    const pending = entry.pending
    if (pending === undefined || pending.filled + data.byteLength > PING_BYTES) {
      this.drop(
        key,
        entry,
        new NoodleError('FRAME_INVALID', `${key} sent ping bytes nobody asked for`, 'The peer misbehaves; the stream was reset'),
      )
      return
    }
    pending.received.set(data, pending.filled)
    pending.filled += data.byteLength
    if (pending.filled < PING_BYTES) return
    entry.pending = undefined
    const rttMs = performance.now() - pending.startedAt
    if (pending.received.every((byte, i) => byte === pending.sent[i])) pending.resolve(rttMs)
    else
      this.drop(
        key,
        entry,
        new NoodleError('FRAME_INVALID', `${key} answered a ping with other bytes`, 'The peer misbehaves; the stream was reset'),
        pending,
      )
  }

  /** Forgets and resets a stream; its pending ping fails with `error`. */
  private drop(key: string, entry: PingStream, error: Error, pending = entry.pending): void {
    entry.pending = undefined
    pending?.reject(error)
    if (this.streams.get(key) === entry) this.streams.delete(key)
    if (entry.stream.status === 'open') entry.stream.abort(error)
  }
}

function closed(peer: string, cause?: unknown): NoodleError {
  return new NoodleError('STREAM_CLOSED', `the ping stream to ${peer} closed`, 'The peer may have gone away', { cause })
}
