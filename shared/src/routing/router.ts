// The router: keeps the topology from link-state gossip, the route table computed over it, and serves
// /noodlenet/route/1.0.0, which carries a request hop by hop to a peer this node has no link to. It is the
// RpcService's fallback (net/rpc.ts): a request whose peer cannot be dialled goes through a route, and the
// destination serves it through its own gate as a request from the source, so task-service never knows.

import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import * as v from 'valibot'
import { isNoodleError, NoodleError } from '../errors.js'
import { LIMITS } from '../limits.js'
import type { Logger } from '../monitoring/logger.js'
import type { NodeMetrics } from '../monitoring/node-metrics.js'
import { decodeFrame, encodeFrame, validateFrame } from '../net/codec.js'
import { ROUTE_PROTOCOL } from '../net/protocols.js'
import {
  fromWireError,
  type RequestOptions,
  type RouteFallback,
  type RpcContext,
  type RpcProtocol,
  type RpcService,
  toWireError,
} from '../net/rpc.js'
import { type Link, type RouteEnvelope, type RouteReply, WireErrorSchema } from '../net/wire-schemas.js'
import type { PeerHealth } from '../scheduler/candidates.js'
import { ReplayGuard, signReply, signRequest, verifyReply, verifyRequest } from './envelope.js'
import { LinkStateService } from './link-state.js'
import { RouteCipher, type SealedExchange } from './route-cipher.js'
import { RouteTable } from './route-table.js'
import { type Route, shortestPathsOver } from './shortest-paths.js'
import { TopologyGraph } from './topology-graph.js'
import type { Topology } from './types.js'

export interface RouterComponents {
  libp2p: Libp2p
  pubsub: GossipSub
  rpc: RpcService
  /** Signs routed requests and replies (the node's libp2p key). */
  privateKey: PrivateKey
  logger: Logger
  /** Link-state publish interval (ms): the presence interval. */
  intervalMs: number
  frameMaxBytes: number
  /** Peers this node never links to (network.denyPeers). */
  denied: (peer: string) => boolean
  /** The failure detector: its verdicts drop dead neighbours' links and its pings give their round trips. */
  health?: { state(peer: string): PeerHealth; rttMs(peer: string): number | undefined }
  /** How busy this node is, 0 to 1 (relaying through it costs more). */
  load: () => number
  metrics?: Pick<NodeMetrics, 'routeComputations' | 'routeTableSize' | 'routeForwards'>
  now?: () => number
}

const BODY = v.unknown()

/** Outcomes of requests per neighbour, halved every interval: the loss that goes into the link's cost. */
interface Quality {
  ok: number
  failed: number
}

export class Router implements RouteFallback {
  readonly linkState: LinkStateService
  private readonly c: RouterComponents
  private readonly self: string
  private readonly now: () => number
  private readonly table = new RouteTable()
  private readonly graph = new TopologyGraph()
  private readonly replay: ReplayGuard
  /** Peers whose direct dial failed, and when: reached through routes until LIMITS.routeDirectRetryMs pass. */
  private readonly failedDials = new Map<string, number>()
  private readonly quality = new Map<string, Quality>()
  private readonly peerIds = new Map<string, PeerId>()
  private dirty = true
  /** This node's X25519 route key (routing/route-cipher.ts); undefined until started, or without X25519. */
  private cipher: RouteCipher | undefined
  private recomputeTimer: ReturnType<typeof setTimeout> | undefined
  private tickTimer: ReturnType<typeof setInterval> | undefined
  private readonly onLinkChange = (): void => {
    this.markDirty()
    this.linkState.linksChanged()
  }
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    this.failedDials.delete(evt.detail.toString())
    this.onLinkChange()
  }

  constructor(components: RouterComponents) {
    this.c = components
    this.self = components.libp2p.peerId.toString()
    this.now = components.now ?? Date.now
    this.replay = new ReplayGuard(LIMITS.routeReplayWindowMs, LIMITS.routeReplayMaxNonces, this.now)
    this.linkState = new LinkStateService({
      pubsub: components.pubsub,
      logger: components.logger,
      self: this.self,
      intervalMs: components.intervalMs,
      ttlIntervals: LIMITS.linkStateTtlIntervals,
      minGapMs: LIMITS.linkStateMinGapMs,
      maxBytes: LIMITS.linkStateMaxBytes,
      maxLinks: LIMITS.linkStateMaxLinks,
      maxRecords: LIMITS.linkStateMaxRecords,
      links: () => this.ownLinks(),
      routeKey: () => this.cipher?.publicKey,
      now: this.now,
    })
    this.linkState.addEventListener('link-state:change', () => this.markDirty())
  }

  async start(): Promise<void> {
    const { rpc, libp2p } = this.c
    this.cipher ??= await RouteCipher.fromIdentity(this.c.privateKey)
    await rpc.handle(ROUTE_PROTOCOL, { command: '/route/forward', level: 'PUBLIC', capability: 'optional' }, (envelope, context) =>
      this.serve(envelope, context),
    )
    rpc.routeVia(this)
    libp2p.addEventListener('peer:connect', this.onConnect)
    libp2p.addEventListener('peer:disconnect', this.onLinkChange)
    await this.linkState.start()
    this.tickTimer = setInterval(() => this.tick(), this.c.intervalMs)
  }

  async stop(): Promise<void> {
    const { rpc, libp2p } = this.c
    rpc.routeVia(undefined)
    libp2p.removeEventListener('peer:connect', this.onConnect)
    libp2p.removeEventListener('peer:disconnect', this.onLinkChange)
    clearInterval(this.tickTimer)
    clearTimeout(this.recomputeTimer)
    this.recomputeTimer = undefined
    await this.linkState.stop()
  }

  /** The route to `destination` now (recomputed first if the topology changed). */
  route(destination: string): Route | undefined {
    this.fresh()
    return this.table.lookup(destination)
  }

  /** The topology as this node sees it, and its routes (GET /api/topology, window.noodle.topology()). */
  topology(): Topology {
    this.fresh()
    const nodes = new Set<string>([this.self])
    const rtts = new Map<string, { from: string; to: string; sum: number; count: number }>()
    const addLink = (from: string, to: string, rttMs: number): void => {
      nodes.add(from)
      nodes.add(to)
      const key = from < to ? `${from} ${to}` : `${to} ${from}`
      const known = rtts.get(key)
      if (known === undefined) rtts.set(key, { from, to, sum: rttMs, count: 1 })
      else {
        known.sum += rttMs
        known.count++
      }
    }
    for (const link of this.ownLinks()) addLink(this.self, link.peer, link.rttMs)
    const records = this.linkState.all()
    const listed = new Map(records.map((record) => [record.peerId, new Set(record.links.map((link) => link.peer))]))
    for (const record of records) {
      nodes.add(record.peerId)
      for (const link of record.links) {
        // This node's own links are measured here and live; what others say about them may be a record old. Other
        // links count as routes count them (topology-graph.ts): when the far end, if it has a record, lists them back.
        if (link.peer === this.self || listed.get(link.peer)?.has(record.peerId) === false) continue
        addLink(record.peerId, link.peer, link.rttMs)
      }
    }
    const routes: Topology['routes'] = {}
    for (const [destination, route] of this.table.entries()) {
      routes[destination] = { nextHop: route.nextHops[0], hops: route.hops, cost: route.cost }
    }
    return {
      nodes: [...nodes].sort(),
      links: [...rtts.values()].map(({ from, to, sum, count }) => ({ from, to, rttMs: Math.round((sum / count) * 1000) / 1000 })),
      routes,
    }
  }

  // RouteFallback (net/rpc.ts) ---------------------------------------------------------------------------------

  prefersRoute(peer: PeerId, protocol: string): boolean {
    if (protocol === ROUTE_PROTOCOL.protocol) return false
    const key = peer.toString()
    if (this.c.denied(key)) return true
    const failedAt = this.failedDials.get(key)
    if (failedAt === undefined) return false
    if (this.now() - failedAt > LIMITS.routeDirectRetryMs || this.c.libp2p.getConnections(peer).length > 0) {
      this.failedDials.delete(key)
      return false
    }
    return true
  }

  async request<Req, Res>(
    peer: PeerId,
    definition: RpcProtocol<Req, Res>,
    body: Req,
    options: RequestOptions,
    direct?: NoodleError,
  ): Promise<Res> {
    const dst = peer.toString()
    // A hop of a route is always a direct link: never routed itself.
    if (definition.protocol === ROUTE_PROTOCOL.protocol) throw direct ?? unreachable(dst, 'it is a route hop')
    if (direct !== undefined) this.failedDials.set(dst, this.now())
    let hop = this.fresh().choose(dst, (candidate) => candidate === dst)
    if (hop === undefined) {
      this.count('source', 'NO_ROUTE')
      throw direct ?? unreachable(dst, this.c.denied(dst) ? 'network.denyPeers lists it' : 'its last dial failed')
    }
    try {
      const nonce = crypto.getRandomValues(new Uint8Array(16))
      let bytes = encodeFrame(body, this.c.frameMaxBytes)
      // Sealed for the destination's route key when its record names one: relays then see only ciphertext.
      const routeKey = this.cipher === undefined ? undefined : this.linkState.get(dst)?.routeKey
      let exchange: SealedExchange | undefined
      let epk: Uint8Array | undefined
      if (routeKey !== undefined) {
        ;({ epk, body: bytes, exchange } = await RouteCipher.seal(routeKey, { src: this.self, dst, nonce }, bytes))
      }
      const fields = {
        src: this.self,
        dst,
        protocol: definition.protocol,
        nonce,
        sentAt: this.now(),
        ...(options.capability === undefined ? {} : { cap: options.capability }),
        ...(epk === undefined ? {} : { epk }),
        body: bytes,
      }
      const envelope: RouteEnvelope = {
        ...fields,
        ttl: LIMITS.routeMaxHops,
        path: [this.self],
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        ...(options.traceId === undefined ? {} : { traceId: options.traceId }),
        sig: await signRequest(this.c.privateKey, fields),
      }
      const hopOptions = { ...options, capability: undefined }
      let reply: RouteReply
      try {
        reply = await this.hop(hop, envelope, hopOptions)
      } catch (err) {
        // The next hop could not be reached at all, so nothing was sent: the same envelope goes to another next hop
        // once (were it delivered twice, the destination's replay guard would refuse the second).
        const failed = hop
        const other = isNoodleError(err, 'PEER_UNREACHABLE') ? this.fresh().choose(dst, (c) => c === dst || c === failed) : undefined
        if (other === undefined) throw err
        this.table.finished(failed)
        hop = other
        reply = await this.hop(hop, envelope, hopOptions)
      }
      await verifyReply(fields, reply)
      const answer = exchange === undefined ? reply.body : await exchange.openReply(reply.body)
      if (!reply.ok) throw fromWireError(decodeFrame(answer, WireErrorSchema, this.c.frameMaxBytes))
      const response = validateFrame(decodeFrame(answer, BODY, this.c.frameMaxBytes), definition.response)
      this.count('source', 'ok')
      return response
    } catch (err) {
      this.count('source', err instanceof NoodleError ? err.code : 'HANDLER_FAILED')
      // To the caller a route that broke on the way is a peer it cannot reach, as a failed dial is: the scheduler
      // places the task elsewhere. The relay's code and sentence stay in the message.
      if (err instanceof NoodleError && ROUTE_BROKEN.has(err.code)) {
        throw new NoodleError(
          'PEER_UNREACHABLE',
          `cannot reach ${dst}: no link to it, and the route via ${hop} failed (${err.code}: ${err.sentence})`,
          'Check that it is up; routes settle a few seconds after links change.',
          { cause: err },
        )
      }
      throw err
    } finally {
      this.table.finished(hop)
    }
  }

  // /noodlenet/route/1.0.0 ---------------------------------------------------------------------------------------

  private serve(envelope: RouteEnvelope, context: RpcContext): Promise<RouteReply> {
    return envelope.dst === this.self ? this.deliver(envelope, context) : this.relay(envelope, context)
  }

  /** The destination: check the source's signature and the nonce, then serve the request inside through the rpc
   *  dispatch and gate as the source's own, and sign the answer (errors included). */
  private async deliver(envelope: RouteEnvelope, context: RpcContext): Promise<RouteReply> {
    let from: PeerId
    let inner = envelope.body
    let exchange: SealedExchange | undefined
    try {
      from = await verifyRequest(envelope)
      this.replay.check(envelope)
      if (envelope.protocol === ROUTE_PROTOCOL.protocol) {
        throw new NoodleError(
          'FRAME_INVALID',
          'a routed request cannot carry another routed request',
          'The sender must speak this protocol version.',
        )
      }
      if (envelope.epk !== undefined) {
        if (this.cipher === undefined) {
          throw new NoodleError(
            'ROUTE_FORGED',
            'the routed request is sealed, but this peer has no route key',
            'The sender must send it in clear to peers whose link-state record names no routeKey.',
          )
        }
        ;({ body: inner, exchange } = await this.cipher.open(envelope.epk, envelope, envelope.body))
      }
    } catch (err) {
      this.count('destination', err instanceof NoodleError ? err.code : 'HANDLER_FAILED')
      throw err
    }
    let ok = true
    let body: Uint8Array
    try {
      const result = await this.c.rpc.dispatch(envelope.protocol, {
        from,
        connection: context.connection,
        body: decodeFrame(inner, BODY, this.c.frameMaxBytes),
        cap: envelope.cap,
        traceId: envelope.traceId,
        signal: context.signal,
      })
      body = encodeFrame(result, this.c.frameMaxBytes)
    } catch (err) {
      ok = false
      body = encodeFrame(toWireError(err), this.c.frameMaxBytes)
    }
    this.count('destination', ok ? 'ok' : 'answered-error')
    return signReply(this.c.privateKey, envelope, ok, exchange === undefined ? body : await exchange.sealReply(body))
  }

  /** A relay: loop and TTL checks, then on to the destination if linked to it, else to the next hop of the route
   *  that avoids the path so far. The destination's signed answer comes back as it is. */
  private async relay(envelope: RouteEnvelope, context: RpcContext): Promise<RouteReply> {
    const dst = envelope.dst
    let next: string | undefined
    let chosen = false
    try {
      if (envelope.path.includes(this.self)) {
        throw new NoodleError(
          'ROUTE_LOOP',
          `a request routed to ${dst} came back to ${this.self}, which it already passed`,
          'Routes are settling after a topology change: retry in a few seconds.',
        )
      }
      if (envelope.ttl <= 0) {
        throw new NoodleError(
          'TTL_EXPIRED',
          `a request routed to ${dst} ran out of hops at ${this.self}`,
          `The destination is more than ${LIMITS.routeMaxHops} hops away or routes are looping: retry in a few seconds.`,
        )
      }
      const dstId = this.peerId(dst)
      if (this.c.libp2p.getConnections(dstId).length > 0) next = dst
      else {
        const path = new Set(envelope.path)
        next = this.fresh().choose(dst, (candidate) => path.has(candidate) || candidate === context.remotePeer.toString())
        chosen = next !== undefined
      }
      if (next === undefined) {
        throw new NoodleError(
          'NO_ROUTE',
          `${this.self} has no link to ${dst} and no route to it`,
          'The destination may have left the mesh: check that it is up, or wait for routes to settle and retry.',
        )
      }
    } catch (err) {
      this.count('relay', err instanceof NoodleError ? err.code : 'HANDLER_FAILED')
      throw err
    }
    try {
      const forwarded: RouteEnvelope = { ...envelope, ttl: envelope.ttl - 1, path: [...envelope.path, this.self] }
      const reply = await this.hop(next, forwarded, { timeoutMs: envelope.timeoutMs, traceId: envelope.traceId, signal: context.signal })
      this.count('relay', 'ok')
      return reply
    } catch (err) {
      this.count('relay', err instanceof NoodleError ? err.code : 'HANDLER_FAILED')
      throw err
    } finally {
      if (chosen) this.table.finished(next)
    }
  }

  /** Sends an envelope over the direct link to `hop`, and learns from the outcome for the link's loss. */
  private async hop(hop: string, envelope: RouteEnvelope, options: RequestOptions): Promise<RouteReply> {
    try {
      const reply = await this.c.rpc.request(this.peerId(hop), ROUTE_PROTOCOL, envelope, options)
      this.observe(hop, true)
      return reply
    } catch (err) {
      // An answer (a relay's NO_ROUTE, the gate) is the link working; only a link that failed to carry it counts.
      const lost = err instanceof NoodleError && ['PEER_UNREACHABLE', 'STREAM_CLOSED', 'REQUEST_TIMEOUT'].includes(err.code)
      if (lost) this.observe(hop, false)
      throw err
    }
  }

  // Topology -----------------------------------------------------------------------------------------------------

  /** This node's links now: open connections to peers not declared dead, with their round trips and loss. */
  private ownLinks(): Link[] {
    const load = Math.min(1, Math.max(0, this.c.load()))
    const links: Link[] = []
    const seen = new Set<string>()
    for (const connection of this.c.libp2p.getConnections()) {
      if (connection.status !== 'open') continue
      const peer = connection.remotePeer.toString()
      if (seen.has(peer) || this.c.denied(peer) || this.c.health?.state(peer) === 'dead') continue
      seen.add(peer)
      const rttMs = this.c.health?.rttMs(peer) ?? connection.rtt ?? 1
      const loss = this.loss(peer)
      links.push({ peer, rttMs: Math.round(Math.min(rttMs, 3_600_000) * 1000) / 1000, load, ...(loss > 0 ? { loss } : {}) })
    }
    return links
  }

  /** The route table, recomputed first when the topology changed since. */
  private fresh(): RouteTable {
    if (this.dirty) this.recompute()
    return this.table
  }

  private markDirty(): void {
    this.dirty = true
    if (this.recomputeTimer !== undefined || this.tickTimer === undefined) return
    this.recomputeTimer = setTimeout(() => {
      this.recomputeTimer = undefined
      if (this.dirty) this.recompute()
    }, LIMITS.routeRecomputeDelayMs)
  }

  private recompute(): void {
    this.dirty = false
    this.graph.sync(this.self, this.linkState.all())
    this.graph.set(this.self, this.ownLinks())
    const { graph, source } = this.graph.csr(this.self)
    this.table.replace(shortestPathsOver(graph, source))
    this.c.metrics?.routeComputations.inc()
    this.c.metrics?.routeTableSize.set(undefined, this.table.size)
  }

  /** Every interval: loss counts decay, round trips were measured again, so costs are recomputed. */
  private tick(): void {
    for (const [peer, quality] of this.quality) {
      quality.ok /= 2
      quality.failed /= 2
      if (quality.ok + quality.failed < 0.01) this.quality.delete(peer)
    }
    for (const [peer, at] of this.failedDials) if (this.now() - at > LIMITS.routeDirectRetryMs) this.failedDials.delete(peer)
    this.markDirty()
  }

  private observe(peer: string, ok: boolean): void {
    let quality = this.quality.get(peer)
    if (quality === undefined) {
      if (ok) return
      quality = { ok: 0, failed: 0 }
      this.quality.set(peer, quality)
    }
    if (ok) quality.ok++
    else {
      quality.failed++
      this.markDirty()
    }
  }

  private loss(peer: string): number {
    const quality = this.quality.get(peer)
    if (quality === undefined) return 0
    const total = quality.ok + quality.failed
    return total === 0 ? 0 : Math.round((quality.failed / total) * 100) / 100
  }

  private count(role: 'source' | 'relay' | 'destination', outcome: string): void {
    this.c.metrics?.routeForwards.inc({ role, outcome })
  }

  private peerId(peer: string): PeerId {
    let id = this.peerIds.get(peer)
    if (id === undefined) {
      id = peerIdFromString(peer)
      if (this.peerIds.size >= LIMITS.linkStateMaxRecords) this.peerIds.clear()
      this.peerIds.set(peer, id)
    }
    return id
  }
}

/** Errors of the route itself, not of the destination: the caller sees PEER_UNREACHABLE. */
const ROUTE_BROKEN = new Set<string>(['NO_ROUTE', 'TTL_EXPIRED', 'ROUTE_LOOP'])

function unreachable(peer: string, why: string): NoodleError {
  return new NoodleError(
    'PEER_UNREACHABLE',
    `cannot reach ${peer}: no link to it (${why}) and no route through other peers`,
    'Check that it is up and that some peer links to both of you; routes appear a few seconds after links do.',
  )
}
