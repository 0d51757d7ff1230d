// Listening on `<server>/p2p-webrtc-star`: answers the offers that arrive through that signalling server, within
// the pending-offer limits, and upgrades each connected data channel as an inbound libp2p connection. The inbound
// address names the sender (`/p2p-webrtc-star/p2p/<from>`), so noise also checks that the peer at the other end is
// the one the server said sent the offer. It carries no host on purpose: every inbound link comes through the same
// server, and libp2p's per-host inbound rate limit must not count them all as one host.

import { ListenError, type Listener, type ListenerEvents, setMaxListeners, TypedEventEmitter, type Upgrader } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { parseSignalledAddress, SIGNALLED_PROTOCOL, signalledListenAddress } from './addresses.js'
import { Negotiation } from './negotiation.js'
import type { PeerSignal } from './signal-messages.js'
import type { OfferHandler, Session, SessionHandlers, SignalRouter } from './signal-router.js'
import type { WebRTCSignalledTransport } from './transport.js'

export class WebRTCSignalledListener extends TypedEventEmitter<ListenerEvents> implements Listener {
  private readonly transport: WebRTCSignalledTransport
  private readonly upgrader: Upgrader
  private readonly shutdown = new AbortController()
  private router: SignalRouter | undefined
  private address: Multiaddr | undefined

  constructor(transport: WebRTCSignalledTransport, upgrader: Upgrader) {
    super()
    this.transport = transport
    this.upgrader = upgrader
    setMaxListeners(Infinity, this.shutdown.signal)
  }

  async listen(ma: Multiaddr): Promise<void> {
    const address = parseSignalledAddress(ma)
    if (address === undefined || address.peerId !== undefined)
      throw new ListenError(`not a signalled WebRTC listen address: ${ma.toString()}`)
    const router = this.transport.routerFor(address.server)
    if (router === undefined) {
      throw new ListenError(
        `no signalling channel for ${address.server.toString()}: listen addresses must name a server given to webRTCSignalled({ signaling })`,
      )
    }
    if (router.listening) throw new ListenError(`already listening through ${address.server.toString()}`)
    router.setOfferHandler(this.onOffer)
    this.router = router
    this.address = signalledListenAddress(address.server)
    queueMicrotask(() => this.safeDispatchEvent('listening'))
  }

  getAddrs(): Multiaddr[] {
    return this.address === undefined ? [] : [this.address]
  }

  updateAnnounceAddrs(): void {}

  async close(): Promise<void> {
    this.router?.setOfferHandler(undefined)
    this.router = undefined
    this.address = undefined
    this.shutdown.abort()
    queueMicrotask(() => this.safeDispatchEvent('close'))
  }

  private readonly onOffer: OfferHandler = (session: Session, offer: PeerSignal): SessionHandlers | 'BUSY' | 'FAILED' => {
    const remote = session.remote
    try {
      peerIdFromString(remote)
    } catch {
      return 'FAILED'
    }
    if (!this.transport.reserveInbound(remote)) {
      this.transport.log('refusing an offer from %s: too many pending inbound negotiations', remote)
      return 'BUSY'
    }
    // libp2p's inbound upgrade timeout bounds the WebRTC negotiation too; upgradeInbound then applies its own.
    const signal = this.upgrader.createInboundAbortSignal(this.shutdown.signal)
    const negotiation = new Negotiation({
      session,
      createPeer: this.transport.createPeer,
      peerOptions: { initiator: false, config: this.transport.rtcConfiguration, wrtc: this.transport.init.wrtc },
      signal,
      candidates: this.transport.candidatePolicy,
      log: this.transport.log,
    })
    negotiation.onSignal(offer)
    negotiation.connected
      .then(async (peer) => {
        const maConn = this.transport.wrap(peer, multiaddr(`/${SIGNALLED_PROTOCOL}/p2p/${remote}`), 'inbound')
        await this.upgrader.upgradeInbound(maConn, { signal: this.shutdown.signal }).catch((err: Error) => {
          this.transport.log('inbound upgrade from %s failed - %e', remote, err)
          maConn.abort(err)
        })
      })
      .catch((err: Error) => this.transport.log('inbound WebRTC session from %s failed - %s', remote, err.message))
      .finally(() => {
        signal.clear()
        this.transport.releaseInbound(remote)
      })
    return negotiation
  }
}
