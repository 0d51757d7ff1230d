// An in-process signalling server for tests and benchmarks: peers in one JavaScript realm exchange signals through
// it, at the address `/memory/<name>`. `route` lets a test play a misbehaving server (drop, delay, misaddress).

import { TypedEventEmitter } from '@libp2p/interface'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import type { SignalChannel, SignalChannelContext, SignalChannelEvents, SignalChannelFactory } from './signal-channel.js'

export interface RelayedSignal {
  from: string
  to: string
  data: unknown
}

export interface MemorySignalHubInit {
  /** The hub's name in its address; random by default, so hubs in one realm never meet. */
  name?: string
  /** Decides what is delivered for each signal sent: the signal itself (the default), another, or nothing. */
  route?: (signal: RelayedSignal) => RelayedSignal | undefined
}

export class MemorySignalHub {
  readonly address: Multiaddr
  private readonly channels = new Map<string, MemorySignalChannel>()
  private readonly route: (signal: RelayedSignal) => RelayedSignal | undefined
  /** Every signal sent through the hub, in order (what a test may assert on). */
  readonly sent: RelayedSignal[] = []

  constructor(init: MemorySignalHubInit = {}) {
    this.address = multiaddr(`/memory/${init.name ?? `signal-hub-${Math.random().toString(36).slice(2)}`}`)
    this.route = init.route ?? ((signal) => signal)
  }

  /** A channel factory for `webRTCSignalled({ signaling: [hub.connect] })`. */
  readonly connect: SignalChannelFactory = (context: SignalChannelContext) => this.channel(context.peerId.toString())

  /** The channel of `peerId` (one per peer id: a second replaces the first, like re-registering on a server).
   *  Like a server's room, the others hear `peer:joined` for it, and it hears one for each of them. */
  channel(peerId: string): SignalChannel {
    const channel = new MemorySignalChannel(this, peerId)
    const others = [...this.channels.entries()].filter(([id]) => id !== peerId)
    this.channels.set(peerId, channel)
    queueMicrotask(() => {
      for (const [id, other] of others) {
        other.safeDispatchEvent('peer:joined', { detail: { peerId } })
        channel.safeDispatchEvent('peer:joined', { detail: { peerId: id } })
      }
    })
    return channel
  }

  /** Relays asynchronously and in order, like a socket would. */
  relay(signal: RelayedSignal): void {
    this.sent.push(signal)
    const routed = this.route(signal)
    if (routed === undefined) return
    const target = this.channels.get(routed.to)
    if (target === undefined) throw new Error(`peer ${routed.to} is not registered with ${this.address.toString()}`)
    queueMicrotask(() => target.deliver(routed.from, structuredClone(routed.data)))
  }
}

class MemorySignalChannel extends TypedEventEmitter<SignalChannelEvents> implements SignalChannel {
  readonly address: Multiaddr
  private readonly hub: MemorySignalHub
  private readonly peerId: string

  constructor(hub: MemorySignalHub, peerId: string) {
    super()
    this.hub = hub
    this.peerId = peerId
    this.address = hub.address
  }

  sendSignal(to: string, data: unknown): void {
    this.hub.relay({ from: this.peerId, to, data })
  }

  deliver(from: string, data: unknown): void {
    this.safeDispatchEvent('signal', { detail: { from, data } })
  }
}
