// The mesh maintainer. libp2p v3 discovers peers but does not dial them; this component does. It remembers the
// peers that discovery (bootstrap list, pubsub announcements, mDNS, rendezvous) reports, and while the node has
// fewer connections than its target degree it dials candidates, with exponential backoff per peer after
// failures. Bootstrap peers stay candidates forever, so a mesh heals after its first peer restarts.

import type { Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../monitoring/logger.js'

export interface MeshMaintainerComponents {
  libp2p: Libp2p
  logger: Logger
  targetDegree: number
  tickMs: number
  dialTimeoutMs: number
  backoffMinMs: number
  backoffMaxMs: number
  /** Peers never forgotten (the bootstrap list); their addresses must be in the peer store. */
  pinned: readonly PeerId[]
  /** Peers this node must not dial (and whose inbound dials the gater refuses). */
  denied?: (peer: PeerId) => boolean
}

interface Candidate {
  peer: PeerId
  failures: number
  retryAt: number
}

/** Candidates remembered at most; the oldest unpinned one is dropped beyond it. */
const MAX_CANDIDATES = 1024
/** Consecutive failed dials after which an unpinned candidate is forgotten until rediscovered. */
const FORGET_AFTER_FAILURES = 8
/** Dials in flight at once. */
const PARALLEL_DIALS = 4

export class MeshMaintainer {
  private readonly c: MeshMaintainerComponents
  private readonly candidates = new Map<string, Candidate>()
  private readonly dialing = new Set<string>()
  private timer: ReturnType<typeof setInterval> | undefined
  private soon: ReturnType<typeof setTimeout> | undefined
  private running = false
  private readonly pinned: ReadonlySet<string>

  private readonly onDiscovery = (evt: CustomEvent<PeerInfo>): void => {
    this.remember(evt.detail.id)
    this.tickSoon()
  }

  private readonly onDisconnect = (): void => this.tickSoon()

  constructor(components: MeshMaintainerComponents) {
    this.c = components
    this.pinned = new Set(components.pinned.map((peer) => peer.toString()))
  }

  async start(): Promise<void> {
    this.running = true
    this.c.libp2p.addEventListener('peer:discovery', this.onDiscovery)
    this.c.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    for (const peer of this.c.pinned) this.remember(peer)
    this.timer = setInterval(() => this.tick(), this.c.tickMs)
    this.tickSoon()
  }

  async stop(): Promise<void> {
    this.running = false
    this.c.libp2p.removeEventListener('peer:discovery', this.onDiscovery)
    this.c.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    clearInterval(this.timer)
    clearTimeout(this.soon)
    this.candidates.clear()
  }

  /** A peer heard of another way (its presence profile): a candidate, tried soon if the node lacks links. */
  discovered(peerId: string): void {
    if (!this.running) return
    const known = this.candidates.get(peerId)
    if (known !== undefined) {
      this.remember(known.peer)
      this.tickSoon()
      return
    }
    let peer: PeerId
    try {
      peer = peerIdFromString(peerId)
    } catch {
      return
    }
    this.remember(peer)
    this.tickSoon()
  }

  /** How many peers the maintainer knows of (connected or not). */
  get candidateCount(): number {
    return this.candidates.size
  }

  private remember(peer: PeerId): void {
    const key = peer.toString()
    if (peer.equals(this.c.libp2p.peerId) || this.c.denied?.(peer) === true) return
    const known = this.candidates.get(key)
    if (known !== undefined) {
      // Rediscovery is fresh evidence the peer is up: let it be tried again soon.
      known.retryAt = Math.min(known.retryAt, Date.now() + this.c.backoffMinMs)
      return
    }
    if (this.candidates.size >= MAX_CANDIDATES) {
      for (const [oldKey] of this.candidates) {
        if (this.pinned.has(oldKey)) continue
        this.candidates.delete(oldKey)
        break
      }
    }
    this.candidates.set(key, { peer, failures: 0, retryAt: 0 })
  }

  private tickSoon(): void {
    if (!this.running || this.soon !== undefined) return
    this.soon = setTimeout(() => {
      this.soon = undefined
      this.tick()
    }, 10)
  }

  private tick(): void {
    if (!this.running) return
    const connected = new Set(this.c.libp2p.getPeers().map((peer) => peer.toString()))
    let missing = this.c.targetDegree - connected.size - this.dialing.size
    const now = Date.now()
    for (const [key, candidate] of this.candidates) {
      if (missing <= 0 || this.dialing.size >= PARALLEL_DIALS) break
      if (connected.has(key) || this.dialing.has(key) || candidate.retryAt > now) continue
      missing--
      void this.dial(key, candidate)
    }
  }

  private async dial(key: string, candidate: Candidate): Promise<void> {
    this.dialing.add(key)
    try {
      await this.c.libp2p.dial(candidate.peer, { signal: AbortSignal.timeout(this.c.dialTimeoutMs) })
      candidate.failures = 0
      candidate.retryAt = 0
    } catch (err) {
      candidate.failures++
      const backoff = Math.min(this.c.backoffMaxMs, this.c.backoffMinMs * 2 ** (candidate.failures - 1))
      // Jitter keeps a mesh whose peers all lost the same neighbour from redialling in lockstep.
      candidate.retryAt = Date.now() + backoff * (0.75 + Math.random() * 0.5)
      this.c.logger.debug({ peer: key, failures: candidate.failures, err: (err as Error).message }, 'dial failed')
      if (candidate.failures >= FORGET_AFTER_FAILURES && !this.pinned.has(key)) this.candidates.delete(key)
    } finally {
      this.dialing.delete(key)
    }
  }
}
