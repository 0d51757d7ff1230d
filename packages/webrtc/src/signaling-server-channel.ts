// A signalling server (signaling/) as the transport's SignalChannel: a SignalingClient that registers with this
// node's key, joins a room, and reconnects with backoff; room members are announced as `peer:joined`.
//   webRTCSignalled({ signaling: [signalingServer('https://sig.example.com')] })
// or just the URL string. The server's address in multiaddrs comes from its URL (addresses.ts).

import { TypedEventEmitter } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { signalingUrlToMultiaddr } from './addresses.js'
import type { SignalChannel, SignalChannelContext, SignalChannelEvents, SignalChannelFactory } from './signal-channel.js'
import { SignalingClient, type SignalingClientInit } from './signaling-client.js'

export type SignalingServerOptions = Omit<SignalingClientInit, 'url' | 'privateKey'>

/** A channel factory for the signalling server at `url`. */
export function signalingServer(url: string, options: SignalingServerOptions = {}): SignalChannelFactory {
  return (context: SignalChannelContext) =>
    new SignalingServerChannel(new SignalingClient({ ...options, url, privateKey: context.privateKey }))
}

export class SignalingServerChannel extends TypedEventEmitter<SignalChannelEvents> implements SignalChannel {
  readonly address: Multiaddr
  readonly client: SignalingClient

  constructor(client: SignalingClient) {
    super()
    this.client = client
    this.address = signalingUrlToMultiaddr(client.url)
    client.addEventListener('signal', (event) => this.safeDispatchEvent('signal', { detail: event.detail }))
    client.addEventListener('peer:joined', (event) => this.safeDispatchEvent('peer:joined', { detail: event.detail }))
    // After every (re)connection the server lists who is in the room.
    client.addEventListener('connected', (event) => {
      for (const peerId of event.detail.peers) this.safeDispatchEvent('peer:joined', { detail: { peerId } })
    })
  }

  sendSignal(to: string, data: unknown): void {
    this.client.sendSignal(to, data)
  }

  start(): void {
    this.client.start()
  }

  async stop(): Promise<void> {
    await this.client.close()
  }
}
