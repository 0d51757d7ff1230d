// What the transport needs from a signalling connection: send opaque data to a peer id, and hear what peers send
// us. The socket.io client (signaling-client.ts) is one; MemorySignalHub is another, for tests and benchmarks. The
// server in between is not trusted: it could drop, delay, replay or misaddress signals, and noise on top of the
// WebRTC link is what proves who is at the other end.

import type { ComponentLogger, PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A signal relayed to us: `from` is the peer id the server says sent it (the server checked its key when it
 *  registered; we still verify the peer with noise). */
export interface SignalMessage {
  from: string
  data: unknown
}

export interface SignalChannelEvents {
  signal: CustomEvent<SignalMessage>
  /** A peer can be reached through this server (it joined our room, or was there when we joined). Channels that
   *  know nothing of rooms never send it. The transport adds the peer's address to the peer store, which is how
   *  libp2p's `peer:discovery` hears of it. */
  'peer:joined': CustomEvent<{ peerId: string }>
}

export interface SignalChannel {
  /** The signalling server's address; the transport's addresses are `<address>/p2p-webrtc-star[/p2p/<peer>]`. */
  readonly address: Multiaddr
  /** Relays `data` (JSON-serialisable) to the peer registered as `to`. Rejects or throws when that cannot be sent
   *  now (disconnected); a signal the server drops later is noticed by the dial's timeout. */
  sendSignal(to: string, data: unknown): void | Promise<void>
  addEventListener<K extends keyof SignalChannelEvents>(type: K, listener: (event: SignalChannelEvents[K]) => void): void
  removeEventListener<K extends keyof SignalChannelEvents>(type: K, listener: (event: SignalChannelEvents[K]) => void): void
  /** Called by the transport when it starts and stops, for channels it was given as factories or URLs. */
  start?(): void | Promise<void>
  stop?(): void | Promise<void>
}

/** What a channel factory gets: who this node is, to register with its key. */
export interface SignalChannelContext {
  peerId: PeerId
  privateKey: PrivateKey
  logger: ComponentLogger
}

export type SignalChannelFactory = (context: SignalChannelContext) => SignalChannel
