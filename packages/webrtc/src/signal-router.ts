// Routes the signals of one signalling channel to WebRTC sessions. A session is keyed by the peer id the server
// says it is talking to and the session id the dialler chose, so one peer's signals never reach another peer's
// session (whatever the server claims, noise checks the peer id once the link is up). An offer for a session we do
// not know starts an inbound session when a listener is attached, and is refused with `bye` otherwise.

import type { Logger } from '@libp2p/interface'
import * as v from 'valibot'
import type { SignalChannel, SignalChannelEvents } from './signal-channel.js'
import { type ByeReason, type PeerSignal, SIGNAL_VERSION, type TransportSignal, TransportSignalSchema } from './signal-messages.js'

export interface SessionHandlers {
  onSignal(signal: PeerSignal): void
  onBye(reason: ByeReason): void
}

export interface Session {
  readonly remote: string
  readonly id: string
  /** Rejects when the channel cannot take it (signalling down, target unknown to the server). */
  send(signal: PeerSignal): Promise<void>
  bye(reason: ByeReason): void
  /** Stops routing this session's signals (call when it connected or failed). */
  end(): void
}

export type OfferHandler = (session: Session, offer: PeerSignal) => SessionHandlers | ByeReason

export class SignalRouter {
  readonly channel: SignalChannel
  private readonly log: Logger
  private readonly sessions = new Map<string, SessionHandlers>()
  private offerHandler: OfferHandler | undefined
  private started = false

  constructor(channel: SignalChannel, log: Logger) {
    this.channel = channel
    this.log = log
  }

  start(): void {
    if (this.started) return
    this.started = true
    this.channel.addEventListener('signal', this.onSignal)
  }

  stop(): void {
    this.started = false
    this.channel.removeEventListener('signal', this.onSignal)
    for (const handlers of this.sessions.values()) handlers.onBye('ABORTED')
    this.sessions.clear()
  }

  /** Incoming offers go to `handler` (a listener) until `setOfferHandler(undefined)`. */
  setOfferHandler(handler: OfferHandler | undefined): void {
    this.offerHandler = handler
  }

  get listening(): boolean {
    return this.offerHandler !== undefined
  }

  /** `handlers` receive the session's signals from now on, until it ends. */
  attach(session: Session, handlers: SessionHandlers): void {
    this.sessions.set(key(session.remote, session.id), handlers)
  }

  /** A handle to send on session `id` with `remote`; nothing is routed to it until `attach`. */
  session(remote: string, id: string): Session {
    const send = async (message: TransportSignal): Promise<void> => {
      await this.channel.sendSignal(remote, message)
    }
    return {
      remote,
      id,
      send: (signal) => send({ v: SIGNAL_VERSION, session: id, signal }),
      bye: (reason) => {
        send({ v: SIGNAL_VERSION, session: id, bye: reason }).catch((err) => this.log('could not send bye to %s - %e', remote, err))
      },
      end: () => {
        this.sessions.delete(key(remote, id))
      },
    }
  }

  private readonly onSignal = (event: SignalChannelEvents['signal']): void => {
    const { from, data } = event.detail
    const parsed = v.safeParse(TransportSignalSchema, data)
    if (!parsed.success) {
      this.log('ignoring a malformed signal from %s: %s', from, parsed.issues[0]?.message)
      return
    }
    const message = parsed.output
    const handlers = this.sessions.get(key(from, message.session))
    if (handlers !== undefined) {
      if ('bye' in message) {
        this.sessions.delete(key(from, message.session))
        handlers.onBye(message.bye)
      } else {
        handlers.onSignal(message.signal)
      }
      return
    }
    // Not a session we know: only an offer can start one. Late candidates of a finished session end here too.
    if ('bye' in message || message.signal.type !== 'offer') return
    const session = this.session(from, message.session)
    if (this.offerHandler === undefined) {
      session.bye('NOT_LISTENING')
      return
    }
    const accepted = this.offerHandler(session, message.signal)
    if (typeof accepted === 'string') {
      session.bye(accepted)
      return
    }
    this.sessions.set(key(from, message.session), accepted)
  }
}

function key(remote: string, session: string): string {
  return `${remote}/${session}`
}
