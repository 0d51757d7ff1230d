// The client side of the signalling protocol (shared/src/net/signaling.ts), in Node and in browsers: it connects to
// one signalling server, answers the challenge with the peer's libp2p key, joins a room and relays signals. When the
// connection drops (a server restart, a network change) it reconnects with exponential backoff and jitter and
// registers and joins again; established WebRTC links do not depend on it.

import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import {
  DEFAULT_SIGNALING_ROOM,
  LIMITS,
  type Logger,
  NoodleError,
  SignalingChallengeSchema,
  type SignalingClientToServerEvents,
  type SignalingErrorCode,
  SignalingErrorSchema,
  SignalingJoinAckSchema,
  SignalingPeerEventSchema,
  SignalingRegisterAckSchema,
  SignalingRelayedSignalSchema,
  SignalingRoomSchema,
  type SignalingServerToClientEvents,
  signSignalingChallenge,
} from '@noodlenet/shared'
import { TypedEventEmitter } from 'main-event'
import { io, type Socket } from 'socket.io-client'
import * as v from 'valibot'
import { signalingUrlToMultiaddr } from './addresses.js'
import type { SignalChannel } from './signal-channel.js'

export interface SignalingClientInit {
  /** The server's URL, e.g. `http://127.0.0.1:7430` (https in production). A path (`https://host/signal`) is where
   *  the server is mounted: socket.io is then reached at `/signal/socket.io/`. */
  url: string
  /** The peer's libp2p identity: it signs the server's challenge, proving the peer id. */
  privateKey: PrivateKey
  /** Room to join (default `default`). */
  room?: string
  /** Reconnect delay bounds in ms (default LIMITS.signalingReconnectMinMs / MaxMs). */
  reconnect?: { minMs?: number; maxMs?: number }
  /** How long to wait for the server to answer register and join (default LIMITS.signalingAckTimeoutMs). */
  ackTimeoutMs?: number
  /** socket.io transports, in order (default WebSocket only: no long-polling, so no sticky sessions needed
   *  behind a load balancer and no CORS preflights). */
  transports?: Array<'websocket' | 'polling'>
  logger?: Logger
}

/** An error from the server (an `error` event or a refused register/join), or one the client found itself. */
export interface SignalingClientError {
  code: SignalingErrorCode | (string & {})
  message: string
  event?: string
  /** For a refused signal: the peer it was addressed to. */
  to?: string
}

export interface SignalingClientEvents {
  /** Registered and in the room; `peers` are the others in it (also after every reconnect). */
  connected: CustomEvent<{ url: string; peers: string[] }>
  /** The registered connection is gone; the client reconnects unless it was closed or replaced. */
  disconnected: CustomEvent<{ url: string; reason: string }>
  'peer:joined': CustomEvent<{ peerId: string }>
  'peer:left': CustomEvent<{ peerId: string }>
  signal: CustomEvent<{ from: string; data: unknown }>
  error: CustomEvent<SignalingClientError>
}

export type SignalingClientState = 'idle' | 'connecting' | 'ready' | 'closed'

type ClientSocket = Socket<SignalingServerToClientEvents, SignalingClientToServerEvents>

export class SignalingClient extends TypedEventEmitter<SignalingClientEvents> implements SignalChannel {
  readonly url: string
  /** The server as a multiaddr (`/ip4/127.0.0.1/tcp/7430/http`): the transport's addresses start with it. */
  readonly address: Multiaddr
  readonly peerId: string
  readonly room: string
  private readonly privateKey: PrivateKey
  private readonly minDelayMs: number
  private readonly maxDelayMs: number
  private readonly ackTimeoutMs: number
  private readonly transports: Array<'websocket' | 'polling'>
  private readonly logger: Logger | undefined
  private socket: ClientSocket | undefined
  private current: SignalingClientState = 'idle'
  private readonly present = new Set<string>()
  /** Room announcements that arrived before the join's answer was handled (see onPeerEvent). */
  private readonly early: Array<{ event: 'peer:joined' | 'peer:left'; peerId: string }> = []
  /** Failed attempts since the last successful registration: the exponent of the backoff. */
  private attempts = 0
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined
  /** Bumped on every disconnect, so the answer to an older connection's register or join is ignored. */
  private generation = 0
  private readonly waiters = new Set<{ resolve: () => void; reject: (err: Error) => void }>()

  constructor(init: SignalingClientInit) {
    super()
    this.url = init.url
    this.address = signalingUrlToMultiaddr(init.url)
    this.privateKey = init.privateKey
    this.peerId = peerIdFromPrivateKey(init.privateKey).toString()
    this.room = v.parse(SignalingRoomSchema, init.room ?? DEFAULT_SIGNALING_ROOM)
    this.minDelayMs = init.reconnect?.minMs ?? LIMITS.signalingReconnectMinMs
    this.maxDelayMs = Math.max(this.minDelayMs, init.reconnect?.maxMs ?? LIMITS.signalingReconnectMaxMs)
    this.ackTimeoutMs = init.ackTimeoutMs ?? LIMITS.signalingAckTimeoutMs
    this.transports = init.transports ?? ['websocket']
    this.logger = init.logger
  }

  get state(): SignalingClientState {
    return this.current
  }

  /** The other peers in the room, as the server last told (empty while not connected). */
  get peers(): ReadonlySet<string> {
    return this.present
  }

  /** Starts connecting; returns at once. `whenReady()` waits for the registration. */
  start(): void {
    if (this.current !== 'idle') return
    this.current = 'connecting'
    // Our own reconnect loop (socket.io's is off): one place decides when to retry, including after the server
    // closed the connection itself, which socket.io never retries.
    // socket.io would read a path in the URL as a namespace; ours is a mount point, and the namespace is always /.
    const url = new URL(this.url)
    const socket: ClientSocket = io(url.origin, {
      path: `${url.pathname.replace(/\/+$/, '')}/socket.io/`,
      autoConnect: false,
      reconnection: false,
      forceNew: true,
      transports: this.transports,
      timeout: this.ackTimeoutMs,
    })
    this.socket = socket
    socket.on('challenge', (challenge) => void this.onChallenge(challenge))
    socket.on('peer:joined', (event) => this.onPeerEvent('peer:joined', event))
    socket.on('peer:left', (event) => this.onPeerEvent('peer:left', event))
    socket.on('signal', (message) => this.onSignal(message))
    socket.on('error', (error) => this.onServerError(error))
    socket.on('connect_error', (err) => {
      this.logger?.debug({ url: this.url, err: err.message }, 'signalling connection failed')
      this.scheduleReconnect()
    })
    socket.on('disconnect', (reason) => this.onDisconnect(reason))
    socket.connect()
  }

  /** Resolves once registered and in the room (at once when it is); rejects when the client is closed. */
  whenReady(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.current === 'ready') return Promise.resolve()
    if (this.current === 'closed') return Promise.reject(this.unavailable('the client is closed'))
    return new Promise<void>((resolve, reject) => {
      const signal = options.signal
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject: (err: Error) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        },
      }
      const onAbort = (): void => {
        this.waiters.delete(waiter)
        reject(signal?.reason ?? new Error('aborted'))
      }
      if (signal?.aborted === true) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiters.add(waiter)
    })
  }

  /** Sends an SDP or ICE candidate to `to` through the server. Throws SIGNALING_UNAVAILABLE when not registered
   *  right now, FRAME_TOO_LARGE above the server's cap; the server's refusals (PEER_NOT_FOUND…) arrive as `error`
   *  events naming `to`. */
  sendSignal(to: string, data: unknown): void {
    if (this.current !== 'ready' || this.socket === undefined) throw this.unavailable(`not registered (${this.current})`)
    const json = JSON.stringify(data)
    if (json === undefined) throw new TypeError('signal data must be a JSON value')
    const size = new TextEncoder().encode(json).length
    if (size > LIMITS.signalingSignalMaxBytes) {
      throw new NoodleError(
        'FRAME_TOO_LARGE',
        `signal data is ${size} bytes as JSON; signalling servers accept ${LIMITS.signalingSignalMaxBytes}`,
        'send ICE candidates one by one (trickle) rather than all inside the SDP',
      )
    }
    this.socket.emit('signal', { to, data })
  }

  /** The transport's lifecycle name for close(). */
  stop(): Promise<void> {
    return this.close()
  }

  /** Disconnects for good: no reconnect. */
  async close(): Promise<void> {
    if (this.current === 'closed') return
    const wasReady = this.current === 'ready'
    this.current = 'closed'
    this.generation++
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    this.present.clear()
    this.early.length = 0
    this.socket?.disconnect()
    this.socket?.removeAllListeners()
    if (wasReady) this.dispatchEvent(new CustomEvent('disconnected', { detail: { url: this.url, reason: 'closed' } }))
    for (const waiter of this.waiters) waiter.reject(this.unavailable('the client is closed'))
    this.waiters.clear()
  }

  private async onChallenge(raw: unknown): Promise<void> {
    const socket = this.socket
    const generation = this.generation
    const challenge = v.safeParse(SignalingChallengeSchema, raw)
    if (socket === undefined || !challenge.success) return this.giveUpConnection('the server sent a malformed challenge')
    try {
      const request = await signSignalingChallenge(this.privateKey, challenge.output)
      if (generation !== this.generation) return
      const registered = v.parse(SignalingRegisterAckSchema, await socket.timeout(this.ackTimeoutMs).emitWithAck('register', request))
      if (generation !== this.generation) return
      if (!registered.ok) return this.refused('register', registered)
      const joined = v.parse(SignalingJoinAckSchema, await socket.timeout(this.ackTimeoutMs).emitWithAck('join', { room: this.room }))
      if (generation !== this.generation) return
      if (!joined.ok) return this.refused('join', joined)
      this.present.clear()
      for (const peerId of joined.peers) if (peerId !== this.peerId) this.present.add(peerId)
      for (const { event, peerId } of this.early.splice(0)) {
        if (event === 'peer:joined') this.present.add(peerId)
        else this.present.delete(peerId)
      }
      this.current = 'ready'
      this.attempts = 0
      this.logger?.debug({ url: this.url, peers: this.present.size }, 'signalling ready')
      this.dispatchEvent(new CustomEvent('connected', { detail: { url: this.url, peers: [...this.present] } }))
      for (const waiter of this.waiters) waiter.resolve()
      this.waiters.clear()
    } catch (err) {
      if (generation !== this.generation) return
      // A timeout, or an answer of the wrong shape: this connection is of no use; try a fresh one later.
      this.giveUpConnection(`registration failed: ${(err as Error).message}`)
    }
  }

  private refused(event: 'register' | 'join', refusal: { code: string; message: string }): void {
    this.logger?.warning({ url: this.url, event, code: refusal.code }, 'signalling server refused')
    // The server also sends an `error` event for the same refusal, which is what the `error` listeners see.
    this.giveUpConnection(`${event} refused: ${refusal.code}`)
  }

  /** Drops the current connection; the disconnect handler schedules the next attempt. */
  private giveUpConnection(why: string): void {
    this.logger?.debug({ url: this.url, why }, 'dropping signalling connection')
    if (this.socket?.connected === true) this.socket.disconnect()
    else this.scheduleReconnect()
  }

  private onPeerEvent(event: 'peer:joined' | 'peer:left', raw: unknown): void {
    const parsed = v.safeParse(SignalingPeerEventSchema, raw)
    if (!parsed.success || parsed.output.peerId === this.peerId) return
    if (this.current !== 'ready') {
      // The join's answer and an announcement can arrive in one read: socket.io runs this handler before the
      // awaited answer's continuation, so keep it and apply it on top of the answer's room list.
      this.early.push({ event, peerId: parsed.output.peerId })
      return
    }
    if (event === 'peer:joined') this.present.add(parsed.output.peerId)
    else this.present.delete(parsed.output.peerId)
    this.dispatchEvent(new CustomEvent(event, { detail: { peerId: parsed.output.peerId } }))
  }

  private onSignal(raw: unknown): void {
    const parsed = v.safeParse(SignalingRelayedSignalSchema, raw)
    if (!parsed.success || this.current !== 'ready') return
    this.dispatchEvent(new CustomEvent('signal', { detail: { from: parsed.output.from, data: parsed.output.data } }))
  }

  private onServerError(raw: unknown): void {
    const parsed = v.safeParse(SignalingErrorSchema, raw)
    if (!parsed.success) return
    const error: SignalingClientError = parsed.output
    if (error.code === 'REPLACED') {
      // Another connection proved this key (this identity opened elsewhere). Reconnecting would take the address
      // back and start a tug of war, so this client stops.
      this.logger?.warning({ url: this.url }, 'signalling registration replaced by another connection; closing')
      this.dispatchEvent(new CustomEvent('error', { detail: error }))
      void this.close()
      return
    }
    this.dispatchEvent(new CustomEvent('error', { detail: error }))
  }

  private onDisconnect(reason: string): void {
    const wasReady = this.current === 'ready'
    this.generation++
    this.present.clear()
    this.early.length = 0
    if (this.current === 'closed') return
    this.current = 'connecting'
    this.logger?.debug({ url: this.url, reason }, 'signalling disconnected')
    if (wasReady) this.dispatchEvent(new CustomEvent('disconnected', { detail: { url: this.url, reason } }))
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    if (this.current === 'closed' || this.reconnectTimer !== undefined) return
    // Exponential backoff with ±50 % jitter: after a server restart its clients come back spread out, not at once.
    const base = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** Math.min(this.attempts, 30))
    const delay = base * (0.5 + Math.random())
    this.attempts++
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      if (this.current === 'closed' || this.socket === undefined || this.socket.connected) return
      this.socket.connect()
    }, delay)
  }

  private unavailable(why: string): NoodleError {
    return new NoodleError(
      'SIGNALING_UNAVAILABLE',
      `signalling server ${this.url}: ${why}`,
      'wait for the client to connect (whenReady) and retry',
    )
  }
}
