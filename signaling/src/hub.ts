// The signalling protocol on the server side: every socket.io connection gets a challenge, registers a peer id by
// signing it, joins rooms and relays signals. Every inbound event passes one function that checks its rate, name,
// shape and the sender's registration before anything acts on it; a refusal is an `error` event (and a refused ack),
// never an exception, so one bad client cannot disturb the others.

import {
  DEFAULT_SIGNALING_ROOM,
  LIMITS,
  type Logger,
  newSignalingNonce,
  SIGNALING_CLIENT_EVENTS,
  type SignalingChallenge,
  type SignalingClientEventName,
  type SignalingClientToServerEvents,
  type SignalingError,
  type SignalingErrorCode,
  type SignalingJoin,
  type SignalingLeave,
  type SignalingRegister,
  type SignalingServerToClientEvents,
  type SignalingSignal,
  verifySignalingRegistration,
} from '@noodlenet/shared'
import type { Server, Socket } from 'socket.io'
import * as v from 'valibot'
import { PeerDirectory } from './peer-directory.js'
import { TokenBucket } from './token-bucket.js'

/** The limits a hub enforces; defaults from LIMITS (tests shorten some). */
export interface SignalingLimits {
  signalMaxBytes: number
  eventsPerSecond: number
  eventBurst: number
  maxConnections: number
  roomMaxPeers: number
  roomsPerConnection: number
  registerTimeoutMs: number
}

export const DEFAULT_SIGNALING_LIMITS: SignalingLimits = {
  signalMaxBytes: LIMITS.signalingSignalMaxBytes,
  eventsPerSecond: LIMITS.signalingEventsPerSecond,
  eventBurst: LIMITS.signalingEventBurst,
  maxConnections: LIMITS.signalingMaxConnections,
  roomMaxPeers: LIMITS.signalingRoomMaxPeers,
  roomsPerConnection: LIMITS.signalingRoomsPerConnection,
  registerTimeoutMs: LIMITS.signalingRegisterTimeoutMs,
}

interface SessionData {
  challenge: SignalingChallenge
  bucket: TokenBucket
  /** Set once register succeeds; the directory maps it back to this socket. */
  peerId: string | undefined
  registering: boolean
  /** When this socket was last told RATE_LIMITED: one notice per second, the rest are dropped unanswered. */
  rateNoticeAt: number
  registerTimer: ReturnType<typeof setTimeout> | undefined
}

type Ack = (result: unknown) => void

export type SignalingSocket = Socket<SignalingClientToServerEvents, SignalingServerToClientEvents, Record<string, never>, SessionData>
export type SignalingIo = Server<SignalingClientToServerEvents, SignalingServerToClientEvents, Record<string, never>, SessionData>

export class SignalingHub {
  /** This server instance's id, in every challenge: a signature made for one server instance is good nowhere else. */
  readonly serverId = newSignalingNonce().slice(0, 22)
  readonly directory: PeerDirectory<SignalingSocket>
  private readonly sockets = new Set<SignalingSocket>()

  constructor(
    private readonly limits: SignalingLimits,
    private readonly logger: Logger,
  ) {
    this.directory = new PeerDirectory({ roomMaxPeers: limits.roomMaxPeers, roomsPerPeer: limits.roomsPerConnection })
  }

  get connections(): number {
    return this.sockets.size
  }

  attach(io: SignalingIo): void {
    io.on('connection', (socket) => this.accept(socket))
  }

  /** Stops the register timers; socket.io closes the sockets themselves. */
  close(): void {
    for (const socket of this.sockets) clearTimeout(socket.data.registerTimer)
  }

  private accept(socket: SignalingSocket): void {
    if (this.sockets.size >= this.limits.maxConnections) {
      socket.emit('error', { code: 'SERVER_FULL', message: 'this signalling server is full: try again later or use another one' })
      socket.disconnect(true)
      return
    }
    this.sockets.add(socket)
    const challenge: SignalingChallenge = { nonce: newSignalingNonce(), server: this.serverId }
    socket.data = {
      challenge,
      bucket: new TokenBucket(this.limits.eventsPerSecond, this.limits.eventBurst),
      peerId: undefined,
      registering: false,
      rateNoticeAt: Number.NEGATIVE_INFINITY,
      registerTimer: setTimeout(() => {
        if (socket.data.peerId !== undefined) return
        socket.emit('error', { code: 'REGISTER_TIMEOUT', message: `register within ${this.limits.registerTimeoutMs} ms of the challenge` })
        socket.disconnect(true)
      }, this.limits.registerTimeoutMs),
    }
    // Every event stops here: the handler never calls next(), so socket.io dispatches nothing on its own, and an
    // event named like one of socket.io's own ('error') cannot reach an EventEmitter.
    socket.use((packet) => {
      try {
        this.onEvent(socket, packet as unknown[])
      } catch (err) {
        this.logger.error({ err, remote: remoteOf(socket) }, 'signalling event handler failed')
      }
    })
    // socket.io reports a connection it had to drop (a packet that is not socket.io, say) here; without a
    // listener it writes to the console.
    socket.on('error', (err) => this.logger.debug({ err, remote: remoteOf(socket) }, 'connection dropped by socket.io'))
    socket.on('disconnect', (reason) => this.onDisconnect(socket, reason))
    socket.emit('challenge', challenge)
  }

  private onEvent(socket: SignalingSocket, packet: unknown[]): void {
    const args = [...packet]
    const name = args.shift()
    const ack = typeof args.at(-1) === 'function' ? (args.pop() as Ack) : undefined
    const event = typeof name === 'string' ? name.slice(0, 64) : String(name).slice(0, 64)
    const now = performance.now()
    if (!socket.data.bucket.take(now)) {
      if (now - socket.data.rateNoticeAt < 1_000) return
      socket.data.rateNoticeAt = now
      const perSecond = this.limits.eventsPerSecond
      this.refuse(socket, ack, 'RATE_LIMITED', `more than ${perSecond} events per second: events are dropped until the rate falls`, {
        event,
      })
      return
    }
    if (typeof name !== 'string' || !Object.hasOwn(SIGNALING_CLIENT_EVENTS, name)) {
      this.refuse(socket, ack, 'UNKNOWN_EVENT', `"${event}" is not a signalling event (register, join, leave, signal)`, { event })
      return
    }
    const eventName = name as SignalingClientEventName
    if (args.length !== 1) {
      this.refuse(socket, ack, 'INVALID_PAYLOAD', `${eventName} takes one object argument, got ${args.length}`, { event })
      return
    }
    const parsed = v.safeParse(SIGNALING_CLIENT_EVENTS[eventName], args[0])
    if (!parsed.success) {
      const issue = parsed.issues[0]
      const path = issue.path?.map((item) => String(item.key)).join('.') ?? ''
      const where = path === '' ? '' : ` at ${path.slice(0, 64)}`
      this.refuse(socket, ack, 'INVALID_PAYLOAD', `${eventName}${where}: ${issue.message.slice(0, 256)}`, { event })
      return
    }
    if (eventName === 'register') {
      void this.onRegister(socket, parsed.output as SignalingRegister, ack).catch((err) => {
        this.logger.error({ err, remote: remoteOf(socket) }, 'register failed')
      })
      return
    }
    const peerId = socket.data.peerId
    if (peerId === undefined) {
      this.refuse(socket, ack, 'NOT_REGISTERED', `register before ${eventName}: answer the challenge first`, { event })
      return
    }
    if (eventName === 'join') {
      this.onJoin(socket, peerId, parsed.output as SignalingJoin, ack)
      return
    }
    if (eventName === 'leave') {
      this.onLeave(peerId, parsed.output as SignalingLeave, ack)
      return
    }
    this.onSignal(socket, peerId, parsed.output as SignalingSignal, ack)
  }

  private async onRegister(socket: SignalingSocket, request: SignalingRegister, ack: Ack | undefined): Promise<void> {
    const data = socket.data
    if (data.peerId !== undefined || data.registering) {
      const message = `this connection is registered as ${data.peerId ?? 'another peer'} already: open a new connection to register again`
      this.refuse(socket, ack, 'ALREADY_REGISTERED', message, { event: 'register' })
      return
    }
    data.registering = true
    const verdict = await verifySignalingRegistration(data.challenge, request)
    data.registering = false
    if (!socket.connected) return
    if (!verdict.ok) {
      // The audit trail of refused registrations: somebody tried to claim a peer id without its key.
      this.logger.warning({ peerId: request.peerId.slice(0, 128), code: verdict.code, remote: remoteOf(socket) }, 'registration refused')
      this.refuse(socket, ack, verdict.code, verdict.message, { event: 'register' })
      return
    }
    const previous = this.directory.sessionOf(request.peerId)
    if (previous !== undefined && previous !== socket) this.replace(previous, request.peerId)
    this.directory.register(request.peerId, socket)
    data.peerId = request.peerId
    clearTimeout(data.registerTimer)
    this.logger.debug({ peerId: request.peerId, remote: remoteOf(socket) }, 'registered')
    ack?.({ ok: true })
  }

  /** A newer connection proved the same key: the old one is a ghost (a reloaded tab, a lost network). */
  private replace(previous: SignalingSocket, peerId: string): void {
    this.announce(this.directory.unregister(peerId, previous), 'peer:left', peerId)
    previous.data.peerId = undefined
    previous.emit('error', { code: 'REPLACED', message: `${peerId} registered on a newer connection; this one is closed` })
    previous.disconnect(true)
    this.logger.info({ peerId, remote: remoteOf(previous) }, 'registration replaced by a newer connection')
  }

  private onJoin(socket: SignalingSocket, peerId: string, request: SignalingJoin, ack: Ack | undefined): void {
    const room = request.room ?? DEFAULT_SIGNALING_ROOM
    const result = this.directory.join(peerId, room)
    if (!result.ok) {
      this.refuse(socket, ack, result.code, result.message, { event: 'join' })
      return
    }
    ack?.({ ok: true, peers: result.peers })
    this.announce(result.announceTo, 'peer:joined', peerId)
  }

  private onLeave(peerId: string, request: SignalingLeave, ack: Ack | undefined): void {
    this.announce(this.directory.leave(peerId, request.room), 'peer:left', peerId)
    ack?.({ ok: true })
  }

  private onSignal(socket: SignalingSocket, peerId: string, message: SignalingSignal, ack: Ack | undefined): void {
    const to = message.to
    const size = jsonSize(message.data)
    if (size === undefined) {
      this.refuse(socket, ack, 'INVALID_PAYLOAD', 'signal data must be JSON (an SDP or an ICE candidate), not binary', {
        event: 'signal',
        to,
      })
      return
    }
    if (size > this.limits.signalMaxBytes) {
      const message = `signal data is ${size} bytes as JSON; the limit is ${this.limits.signalMaxBytes}`
      this.refuse(socket, ack, 'SIGNAL_TOO_LARGE', message, { event: 'signal', to })
      return
    }
    const target = this.directory.sessionOf(to)
    if (target === undefined) {
      this.refuse(socket, ack, 'PEER_NOT_FOUND', `${to.slice(0, 128)} is not registered on this signalling server`, {
        event: 'signal',
        to,
      })
      return
    }
    target.emit('signal', { from: peerId, data: message.data })
    ack?.({ ok: true })
  }

  private onDisconnect(socket: SignalingSocket, reason: string): void {
    this.sockets.delete(socket)
    clearTimeout(socket.data.registerTimer)
    const peerId = socket.data.peerId
    if (peerId === undefined) return
    this.announce(this.directory.unregister(peerId, socket), 'peer:left', peerId)
    this.logger.debug({ peerId, reason }, 'disconnected')
  }

  private announce(to: SignalingSocket[], event: 'peer:joined' | 'peer:left', peerId: string): void {
    for (const socket of to) socket.emit(event, { peerId })
  }

  private refuse(
    socket: SignalingSocket,
    ack: Ack | undefined,
    code: SignalingErrorCode,
    message: string,
    context: { event?: string; to?: string } = {},
  ): void {
    const error: SignalingError = { code, message, ...context }
    if (error.to !== undefined) error.to = error.to.slice(0, 128)
    this.logger.debug({ code, event: context.event, peerId: socket.data.peerId, remote: remoteOf(socket) }, 'event refused')
    socket.emit('error', error)
    ack?.({ ok: false, code, message })
  }
}

/** The UTF-8 size of `value` as JSON, or undefined when it is not plain JSON (binary attachments, cycles, nesting
 *  too deep for the stack). */
function jsonSize(value: unknown): number | undefined {
  try {
    let binary = false
    const json = JSON.stringify(value, function (this: Record<string, unknown>, key: string, replaced: unknown) {
      const original = this[key]
      if (ArrayBuffer.isView(original) || original instanceof ArrayBuffer) binary = true
      return replaced
    })
    if (binary) return undefined
    return json === undefined ? 0 : new TextEncoder().encode(json).length
  } catch {
    return undefined
  }
}

function remoteOf(socket: SignalingSocket): string | undefined {
  return socket.handshake.address
}
