// One connection attempt: a simple-peer driven by the signals of one session until its data channel opens. The
// dialler's side starts with an offer; the listener's side starts from the offer it received. Signals that arrive
// while the peer is still being created are kept and applied in order.

import type { Logger } from '@libp2p/interface'
import { type CandidatePolicy, filterSignal } from './candidates.js'
import { type CreateRtcPeer, EarlyMessages, type RtcPeer, type RtcPeerOptions } from './rtc-peer.js'
import type { ByeReason, PeerSignal } from './signal-messages.js'
import type { Session, SessionHandlers } from './signal-router.js'

export class NegotiationError extends Error {
  override readonly name = 'NegotiationError'
  readonly reason: ByeReason | 'REMOTE_BYE'

  constructor(message: string, reason: ByeReason | 'REMOTE_BYE', options?: { cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}

export interface NegotiationInit {
  session: Session
  createPeer: CreateRtcPeer
  peerOptions: RtcPeerOptions
  /** Aborting it ends the attempt (the dial's signal, or the inbound upgrade timeout). */
  signal: AbortSignal
  /** Which ICE candidates to offer and accept (candidates.ts). */
  candidates: CandidatePolicy
  log: Logger
}

export interface ConnectedPeer {
  peer: RtcPeer
  /** Messages that arrived before `connect` (the remote may start talking first). */
  early: EarlyMessages
}

export class Negotiation implements SessionHandlers {
  /** Resolves with the connected peer; rejects when the attempt fails, is refused or is aborted. */
  readonly connected: Promise<ConnectedPeer>
  private readonly init: NegotiationInit
  private peer: RtcPeer | undefined
  private early: EarlyMessages | undefined
  private readonly pendingSignals: PeerSignal[] = []
  private settled = false
  private resolve!: (connected: ConnectedPeer) => void
  private reject!: (err: Error) => void

  constructor(init: NegotiationInit) {
    this.init = init
    this.connected = new Promise<ConnectedPeer>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    if (init.signal.aborted) {
      this.fail(new NegotiationError('aborted before it started', 'ABORTED', { cause: init.signal.reason }), 'ABORTED')
      return
    }
    init.signal.addEventListener('abort', this.onAbort, { once: true })
    init.createPeer(init.peerOptions).then(
      (peer) => this.onPeer(peer),
      (err) =>
        this.fail(new NegotiationError(`could not create a WebRTC peer: ${(err as Error).message}`, 'FAILED', { cause: err }), 'FAILED'),
    )
  }

  onSignal(signal: PeerSignal): void {
    if (this.settled) return
    if (this.peer === undefined) this.pendingSignals.push(signal)
    else this.applySignal(signal)
  }

  onBye(reason: ByeReason): void {
    this.fail(new NegotiationError(`the remote ended the WebRTC session (${reason})`, 'REMOTE_BYE'))
  }

  private onPeer(peer: RtcPeer): void {
    if (this.settled) {
      peer.destroy()
      return
    }
    this.peer = peer
    this.early = new EarlyMessages(peer)
    peer.on('signal', this.onLocalSignal)
    peer.on('connect', this.onConnect)
    peer.on('error', this.onPeerError)
    peer.on('close', this.onPeerClose)
    for (const signal of this.pendingSignals.splice(0)) this.applySignal(signal)
  }

  private applySignal(remote: PeerSignal): void {
    const signal = filterSignal(this.init.candidates, remote)
    if (signal === undefined) return
    try {
      this.peer?.signal(signal)
    } catch (err) {
      this.fail(new NegotiationError(`bad signal: ${(err as Error).message}`, 'FAILED', { cause: err }), 'FAILED')
    }
  }

  private readonly onLocalSignal = (local: PeerSignal): void => {
    const signal = filterSignal(this.init.candidates, local)
    if (this.settled || signal === undefined) return
    this.init.session.send(signal).catch((err: Error) => {
      this.fail(new NegotiationError(`could not signal ${this.init.session.remote}: ${err.message}`, 'FAILED', { cause: err }))
    })
  }

  private readonly onConnect = (): void => {
    if (this.settled || this.peer === undefined || this.early === undefined) return
    this.settled = true
    this.detach()
    this.resolve({ peer: this.peer, early: this.early })
  }

  private readonly onPeerError = (err: Error): void => {
    this.fail(new NegotiationError(`WebRTC negotiation failed: ${err.message}`, 'FAILED', { cause: err }), 'FAILED')
  }

  private readonly onPeerClose = (): void => {
    this.fail(new NegotiationError('the WebRTC peer closed before it connected', 'FAILED'), 'FAILED')
  }

  private readonly onAbort = (): void => {
    this.fail(new NegotiationError('WebRTC negotiation aborted', 'ABORTED', { cause: this.init.signal.reason }), 'ABORTED')
  }

  /** Ends the attempt; `bye` tells the remote why, unless the remote ended it. */
  private fail(err: NegotiationError, bye?: ByeReason): void {
    if (this.settled) return
    this.settled = true
    this.init.log('session %s with %s failed - %s', this.init.session.id, this.init.session.remote, err.message)
    if (bye !== undefined) this.init.session.bye(bye)
    this.detach()
    this.peer?.destroy()
    this.reject(err)
  }

  /** Stops routing signals. The peer's listeners stay (they do nothing once settled): simple-peer is an
   *  EventEmitter, and an 'error' with no listener would throw. */
  private detach(): void {
    this.init.session.end()
    this.init.signal.removeEventListener('abort', this.onAbort)
  }
}
