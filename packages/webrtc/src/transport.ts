// The libp2p transport: dials and listens on `<server>/p2p-webrtc-star[/p2p/<peer>]` (addresses.ts) by
// negotiating a WebRTC data channel through that signalling server, then hands the channel to libp2p's upgrader,
// so noise and yamux run on top exactly as over TCP. Noise proves the remote's peer id; the upgrader refuses a
// connection whose proven id is not the one dialled (or, inbound, not the one the server named as the sender).

import {
  type ComponentLogger,
  type Connection,
  ConnectionFailedError,
  type CreateListenerOptions,
  type DialTransportOptions,
  InvalidParametersError,
  type Listener,
  type Logger,
  type PeerId,
  type PeerStore,
  type PrivateKey,
  type Startable,
  serviceCapabilities,
  type Transport,
  transportSymbol,
} from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { LIMITS } from '@noodlenet/shared'
import { createRtcPeer as platformCreateRtcPeer, scheduleFlush as platformScheduleFlush } from '#rtc-peer-factory'
import { parseSignalledAddress, SIGNALLED_PROTOCOL } from './addresses.js'
import type { CandidatePolicy } from './candidates.js'
import { DataChannelConnection } from './data-channel-connection.js'
import { WebRTCSignalledListener } from './listener.js'
import { type ConnectedPeer, Negotiation } from './negotiation.js'
import type { CreateRtcPeer, WebRTCImplementation } from './rtc-peer.js'
import type { SignalChannel, SignalChannelEvents, SignalChannelFactory } from './signal-channel.js'
import { newSessionId } from './signal-messages.js'
import { SignalRouter } from './signal-router.js'
import { signalingServer } from './signaling-server-channel.js'

export interface WebRTCSignalledInit {
  /** The signalling servers this node is reachable through: server URLs (`https://sig.example.com`: connects with
   *  SignalingClient and this node's key), channels, or factories that make one from this node's identity
   *  (`signalingServer(url, options)`, `MemorySignalHub.connect`). At least one. */
  signaling: Array<string | SignalChannel | SignalChannelFactory>
  /** Add the peers that signalling servers announce (room members) to the peer store, so that libp2p emits
   *  `peer:discovery` for them. Default true. */
  discovery?: boolean
  /** STUN/TURN servers. Default: none, which connects hosts that can reach each other directly (the same host or
   *  LAN); add STUN for NAT traversal and TURN for networks that block UDP. */
  iceServers?: RTCIceServer[]
  /** Which ICE candidates to offer and accept: 'all' (default), or 'loopback' to keep every WebRTC packet on this
   *  machine (tests, local meshes; candidates.ts). */
  candidates?: CandidatePolicy
  /** Further RTCPeerConnection settings (iceServers above wins). */
  rtcConfiguration?: RTCConfiguration
  /** A WebRTC implementation for Node instead of @roamhq/wrtc; ignored in browsers. */
  wrtc?: WebRTCImplementation
  /** Overrides for the `webrtc*` limits in shared/src/limits.ts (tests and benchmarks). */
  maxMessageBytes?: number
  bufferedAmountHighBytes?: number
  bufferedAmountLowBytes?: number
  bufferedAmountPollMs?: number
  closeHandshakeTimeoutMs?: number
  maxPendingInbound?: number
  maxPendingInboundPerPeer?: number
  /** Replaces how peers are made (tests). */
  createRtcPeer?: CreateRtcPeer
}

export interface WebRTCSignalledComponents {
  peerId: PeerId
  privateKey: PrivateKey
  logger: ComponentLogger
  peerStore?: PeerStore
}

/** The libp2p transport factory: `createLibp2p({ transports: [webRTCSignalled({ signaling: [...] })] })`. */
export function webRTCSignalled(init: WebRTCSignalledInit): (components: WebRTCSignalledComponents) => Transport {
  return (components) => new WebRTCSignalledTransport(components, init)
}

export class WebRTCSignalledTransport implements Transport, Startable {
  readonly [transportSymbol] = true
  readonly [Symbol.toStringTag] = '@noodlenet/webrtc'
  readonly [serviceCapabilities]: string[] = ['@libp2p/transport']

  readonly components: WebRTCSignalledComponents
  readonly init: WebRTCSignalledInit
  readonly log: Logger
  readonly createPeer: CreateRtcPeer
  readonly rtcConfiguration: RTCConfiguration
  readonly candidatePolicy: CandidatePolicy
  private readonly routers = new Map<string, SignalRouter>()
  private readonly discoveryListeners = new Map<SignalChannel, (event: SignalChannelEvents['peer:joined']) => void>()
  /** Inbound negotiations in progress, per remote peer id (LIMITS.webrtcMaxPendingInbound*). */
  private readonly pendingInbound = new Map<string, number>()
  private pendingInboundTotal = 0
  private started = false

  constructor(components: WebRTCSignalledComponents, init: WebRTCSignalledInit) {
    if (init.signaling.length === 0) throw new InvalidParametersError('webRTCSignalled needs at least one signalling channel')
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('noodlenet:webrtc')
    this.createPeer = init.createRtcPeer ?? platformCreateRtcPeer
    this.candidatePolicy = init.candidates ?? 'all'
    this.rtcConfiguration = { ...init.rtcConfiguration, iceServers: init.iceServers ?? init.rtcConfiguration?.iceServers ?? [] }
  }

  async start(): Promise<void> {
    if (this.started) return
    const context = { peerId: this.components.peerId, privateKey: this.components.privateKey, logger: this.components.logger }
    for (const entry of this.init.signaling) {
      const channel = typeof entry === 'string' ? signalingServer(entry)(context) : typeof entry === 'function' ? entry(context) : entry
      const key = channel.address.toString()
      if (this.routers.has(key)) throw new InvalidParametersError(`signalling server ${key} is configured twice`)
      const router = new SignalRouter(channel, this.components.logger.forComponent('noodlenet:webrtc:signal'))
      this.routers.set(key, router)
      router.start()
      if (this.init.discovery !== false) {
        const onJoined = (event: SignalChannelEvents['peer:joined']): void => this.discovered(channel, event.detail.peerId)
        channel.addEventListener('peer:joined', onJoined)
        this.discoveryListeners.set(channel, onJoined)
      }
      // A channel connects (and reconnects) in the background: the node starts even while a server is down.
      await channel.start?.()
    }
    this.started = true
  }

  async stop(): Promise<void> {
    this.started = false
    for (const router of this.routers.values()) {
      router.stop()
      const onJoined = this.discoveryListeners.get(router.channel)
      if (onJoined !== undefined) router.channel.removeEventListener('peer:joined', onJoined)
      await router.channel.stop?.()
    }
    this.routers.clear()
    this.discoveryListeners.clear()
  }

  /** A room member announced by a server: its address through that server goes into the peer store. */
  private discovered(channel: SignalChannel, remote: string): void {
    const peerStore = this.components.peerStore
    if (peerStore === undefined || remote === this.components.peerId.toString()) return
    let peerId: PeerId
    try {
      peerId = peerIdFromString(remote)
    } catch {
      return
    }
    const address = channel.address.encapsulate(`/${SIGNALLED_PROTOCOL}/p2p/${peerId.toString()}`)
    peerStore.merge(peerId, { multiaddrs: [address] }).catch((err) => this.log('could not store %a - %e', address, err))
  }

  /** The signalling servers in use, as addresses (for listen addresses: `<server>/p2p-webrtc-star`). */
  servers(): Multiaddr[] {
    return [...this.routers.values()].map((r) => r.channel.address)
  }

  routerFor(server: Multiaddr): SignalRouter | undefined {
    return this.routers.get(server.toString())
  }

  async dial(ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    const address = parseSignalledAddress(ma)
    if (address?.peerId === undefined) throw new InvalidParametersError(`not a signalled WebRTC address with a peer id: ${ma.toString()}`)
    if (address.peerId === this.components.peerId.toString()) throw new InvalidParametersError('cannot dial self over WebRTC')
    const router = this.routerFor(address.server)
    if (router === undefined) {
      throw new ConnectionFailedError(
        `not connected to signalling server ${address.server.toString()}: add it to webRTCSignalled({ signaling }) to dial through it`,
      )
    }
    options.signal.throwIfAborted()
    const session = router.session(address.peerId, newSessionId())
    const negotiation = new Negotiation({
      session,
      createPeer: this.createPeer,
      peerOptions: { initiator: true, config: this.rtcConfiguration, wrtc: this.init.wrtc },
      signal: options.signal,
      candidates: this.candidatePolicy,
      log: this.log,
    })
    router.attach(session, negotiation)
    let peer: ConnectedPeer
    try {
      peer = await negotiation.connected
    } catch (err) {
      throw new ConnectionFailedError(`WebRTC dial to ${ma.toString()} failed: ${(err as Error).message}`)
    }
    const maConn = this.wrap(peer, ma, 'outbound')
    try {
      return await options.upgrader.upgradeOutbound(maConn, { ...options })
    } catch (err) {
      maConn.abort(err as Error)
      throw err
    }
  }

  createListener(options: CreateListenerOptions): Listener {
    return new WebRTCSignalledListener(this, options.upgrader)
  }

  listenFilter(multiaddrs: Multiaddr[]): Multiaddr[] {
    return multiaddrs.filter((ma) => {
      const address = parseSignalledAddress(ma)
      return address !== undefined && address.peerId === undefined
    })
  }

  dialFilter(multiaddrs: Multiaddr[]): Multiaddr[] {
    return multiaddrs.filter((ma) => parseSignalledAddress(ma)?.peerId !== undefined)
  }

  /** Counts an inbound negotiation from `remote` if the limits allow another; `release` when it ends. */
  reserveInbound(remote: string): boolean {
    const perPeer = this.pendingInbound.get(remote) ?? 0
    if (this.pendingInboundTotal >= (this.init.maxPendingInbound ?? LIMITS.webrtcMaxPendingInbound)) return false
    if (perPeer >= (this.init.maxPendingInboundPerPeer ?? LIMITS.webrtcMaxPendingInboundPerPeer)) return false
    this.pendingInbound.set(remote, perPeer + 1)
    this.pendingInboundTotal++
    return true
  }

  releaseInbound(remote: string): void {
    const perPeer = (this.pendingInbound.get(remote) ?? 1) - 1
    if (perPeer <= 0) this.pendingInbound.delete(remote)
    else this.pendingInbound.set(remote, perPeer)
    this.pendingInboundTotal--
  }

  /** A connected peer as a MultiaddrConnection; destroys the peer if its channel cannot be taken over. */
  wrap({ peer, early }: ConnectedPeer, remoteAddr: Multiaddr, direction: 'inbound' | 'outbound'): DataChannelConnection {
    try {
      return new DataChannelConnection({
        peer,
        early,
        scheduleFlush: platformScheduleFlush,
        remoteAddr,
        direction,
        log: this.components.logger.forComponent(`noodlenet:webrtc:connection:${direction}`),
        maxMessageBytes: this.init.maxMessageBytes,
        bufferedAmountHighBytes: this.init.bufferedAmountHighBytes,
        bufferedAmountLowBytes: this.init.bufferedAmountLowBytes,
        bufferedAmountPollMs: this.init.bufferedAmountPollMs,
        closeHandshakeTimeoutMs: this.init.closeHandshakeTimeoutMs,
      })
    } catch (err) {
      peer.destroy()
      throw new ConnectionFailedError(`WebRTC connection could not be set up: ${(err as Error).message}`)
    }
  }
}
