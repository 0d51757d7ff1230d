// FailureDetector: one phi-accrual detector per peer this node has heard from, fed by presence gossip (every profile
// received), a ping to every connected peer each health.heartbeatMs, and heartbeat() (task streams). A tick a few
// times per interval turns phi into alive / suspect / dead and fires an event on each change.

import type { PeerId } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import type { NoodleConfig } from '../config/schema.js'
import { LIMITS } from '../limits.js'
import type { Logger } from '../monitoring/logger.js'
import type { NodeMetrics } from '../monitoring/node-metrics.js'
import type { NodeProfile } from '../net/wire-schemas.js'
import type { PeerHealth } from '../scheduler/candidates.js'
import { PhiAccrualDetector } from './phi-accrual.js'

/** A peer's health changed. `previous` is absent for a peer heard from for the first time. */
export interface PeerHealthChange {
  peerId: string
  state: PeerHealth
  previous?: PeerHealth
  phi: number
  /** Milliseconds since its last heartbeat. */
  silenceMs: number
}

export interface FailureDetectorEvents {
  'peer:alive': CustomEvent<PeerHealthChange>
  'peer:suspect': CustomEvent<PeerHealthChange>
  'peer:dead': CustomEvent<PeerHealthChange>
  /** The direct link to a peer stopped answering pings (LIMITS.healthLinkDeadPings in a row) while the peer itself
   *  may still be heard through others: a cut cable, not a dead peer. The node closes that connection. */
  'link:dead': CustomEvent<{ peerId: string; failedPings: number }>
}

/** One row of GET /api/health/peers. */
export interface PeerHealthReport {
  peerId: string
  state: PeerHealth
  phi: number
  silenceMs: number
  throttled: boolean
}

/** The events the detector reads from presence gossip (PresenceService is one). */
export interface PresenceSource {
  addEventListener(type: 'presence:update', listener: (event: CustomEvent<NodeProfile>) => void): void
  removeEventListener(type: 'presence:update', listener: (event: CustomEvent<NodeProfile>) => void): void
  /** How often peers republish (ms): a peer heard only through gossip is judged on this scale, not on pings'. */
  readonly interval?: number
}

/** Who to ping and how (libp2p's connected peers and its ping service). */
export interface PingSource {
  peers(): PeerId[]
  ping(peer: PeerId, options: { signal: AbortSignal }): Promise<unknown>
}

export interface FailureDetectorComponents {
  config: NoodleConfig['health']
  logger: Logger
  presence?: PresenceSource
  ping?: PingSource
  /** Whether this node itself runs throttled (a hidden tab): its own pings and ticks are late, so every window widens. */
  selfThrottled?: () => boolean
  metrics?: Pick<NodeMetrics, 'failureDetections'>
  /** Milliseconds from any fixed origin; Date.now by default. */
  now?: () => number
}

interface Tracked {
  detector: PhiAccrualDetector
  state: PeerHealth
  throttled: boolean
  /** When it was declared dead (for forgetting it). */
  deadAt: number
  pinging: boolean
  /** Pings over the direct link that failed in a row. */
  failedPings: number
  /** When it was last seen connected (0: never); a peer without a link is heard only through gossip. */
  linkedAt: number
  /** Smoothed round trip of its ping answers (ms), for route costs (routing/router.ts). */
  rttMs?: number
}

/** Ticks per heartbeat interval: detection lags the threshold crossing by at most a quarter interval. */
const TICKS_PER_HEARTBEAT = 4
/** Weight of a new ping answer in the smoothed round trip (an EWMA, as TCP's SRTT uses 1/8). */
const RTT_SMOOTHING = 0.2
/** A ping that has not answered after this many intervals is abandoned (the peer is dead by then at the defaults). */
const PING_TIMEOUT_HEARTBEATS = 4

export class FailureDetector extends TypedEventEmitter<FailureDetectorEvents> {
  private readonly components: FailureDetectorComponents
  private readonly now: () => number
  private readonly peers = new Map<string, Tracked>()
  private tickTimer: ReturnType<typeof setInterval> | undefined
  private heartbeatMs: number
  private pingTimer: ReturnType<typeof setInterval> | undefined
  private lastTick = 0
  private skippedTick = false
  private readonly onPresence = (event: CustomEvent<NodeProfile>): void => {
    this.heartbeat(event.detail.peerId, event.detail.throttled === true)
  }

  constructor(components: FailureDetectorComponents) {
    super()
    this.components = components
    this.heartbeatMs = components.config.heartbeatMs
    this.now = components.now ?? Date.now
  }

  get tickMs(): number {
    return Math.max(10, Math.floor(this.heartbeatMs / TICKS_PER_HEARTBEAT))
  }

  /** How often each connected peer is pinged now (ms): config health.heartbeatMs unless self-tuning changed it. */
  get heartbeatInterval(): number {
    return this.heartbeatMs
  }

  /** Pings every `ms` from now on (orchestrator self-tuning). Each tracked peer's history starts afresh with the
   *  new expectations: intervals learnt at the old pace would make the new, longer silences look like failures. */
  setHeartbeatMs(ms: number): void {
    this.heartbeatMs = ms
    for (const tracked of this.peers.values()) {
      if (tracked.state === 'dead') continue
      tracked.detector = this.newDetector()
      tracked.detector.heartbeat()
    }
    if (this.tickTimer === undefined) return
    clearInterval(this.tickTimer)
    clearInterval(this.pingTimer)
    this.tickTimer = setInterval(() => this.tick(), this.tickMs)
    if (this.components.ping !== undefined) this.pingTimer = setInterval(() => this.pingAll(), this.heartbeatMs)
  }

  start(): void {
    if (this.tickTimer !== undefined) return
    this.components.presence?.addEventListener('presence:update', this.onPresence)
    this.lastTick = this.now()
    this.tickTimer = setInterval(() => this.tick(), this.tickMs)
    if (this.components.ping !== undefined) this.pingTimer = setInterval(() => this.pingAll(), this.heartbeatMs)
  }

  stop(): void {
    clearInterval(this.tickTimer)
    clearInterval(this.pingTimer)
    this.tickTimer = undefined
    this.pingTimer = undefined
    this.components.presence?.removeEventListener('presence:update', this.onPresence)
    this.peers.clear()
  }

  /** Evidence that `peerId` is alive now (a gossiped profile, a ping answer, a frame on a task stream). `throttled`
   *  updates what the peer says of itself; leave it out to keep what its last profile said. */
  heartbeat(peerId: string, throttled?: boolean): void {
    let tracked = this.peers.get(peerId)
    const previous = tracked?.state
    // A peer back from the dead starts a fresh history: its outage is not an interval to learn from.
    if (tracked === undefined || tracked.state === 'dead') {
      if (tracked === undefined) this.makeRoom()
      tracked = {
        detector: this.newDetector(),
        state: 'alive',
        throttled: tracked?.throttled ?? false,
        deadAt: 0,
        pinging: tracked?.pinging ?? false,
        failedPings: 0,
        linkedAt: tracked?.linkedAt ?? 0,
      }
      this.peers.set(peerId, tracked)
    }
    if (throttled !== undefined) tracked.throttled = throttled
    tracked.detector.heartbeat()
    if (previous !== 'alive') {
      tracked.state = 'alive'
      this.emit(peerId, tracked, previous)
    }
  }

  /** The detector's verdict on `peerId`: 'alive' for a peer it has no evidence against (never heard from). */
  state(peerId: string): PeerHealth {
    return this.peers.get(peerId)?.state ?? 'alive'
  }

  /** Phi now for `peerId` (0 when never heard from). */
  phi(peerId: string): number {
    const tracked = this.peers.get(peerId)
    return tracked === undefined ? 0 : tracked.detector.phi(this.pauseFactor(tracked))
  }

  /** Smoothed round trip to `peerId` from this detector's pings (ms); undefined before the first answer. */
  rttMs(peerId: string): number | undefined {
    return this.peers.get(peerId)?.rttMs
  }

  /** Every tracked peer, for GET /api/health/peers. */
  report(): PeerHealthReport[] {
    return [...this.peers].map(([peerId, tracked]) => ({
      peerId,
      state: tracked.state,
      phi: round(tracked.detector.phi(this.pauseFactor(tracked))),
      silenceMs: tracked.detector.silenceMs(),
      throttled: tracked.throttled,
    }))
  }

  /** Re-evaluates every peer now (the timer calls this every tickMs). */
  tick(): void {
    const now = this.now()
    const late = now - this.lastTick > 3 * this.tickMs
    this.lastTick = now
    // A tick far behind its schedule means this node was paused (GC, a busy event loop): the answers that arrived
    // meanwhile have not been read yet, so judging now would blame the peers. Skip one tick, never two in a row.
    if (late && !this.skippedTick) {
      this.skippedTick = true
      return
    }
    this.skippedTick = false
    const { suspectPhi, deadPhi } = this.components.config
    const linked = this.components.ping === undefined ? undefined : new Set(this.components.ping.peers().map(String))
    for (const [peerId, tracked] of this.peers) {
      if (linked?.has(peerId) === true) tracked.linkedAt = now
      if (tracked.state === 'dead') {
        if (now - tracked.deadAt > LIMITS.healthForgetDeadMs) this.peers.delete(peerId)
        continue
      }
      const phi = tracked.detector.phi(this.pauseFactor(tracked))
      const state: PeerHealth = phi >= deadPhi ? 'dead' : phi >= suspectPhi ? 'suspect' : 'alive'
      if (state === tracked.state) continue
      const previous = tracked.state
      tracked.state = state
      if (state === 'dead') tracked.deadAt = now
      this.emit(peerId, tracked, previous)
    }
  }

  /** Pings every connected peer this detector tracks; an answer is a heartbeat. One ping per peer in flight. */
  private pingAll(): void {
    const source = this.components.ping
    if (source === undefined) return
    const timeoutMs = this.heartbeatMs * PING_TIMEOUT_HEARTBEATS
    for (const peer of source.peers()) {
      const peerId = peer.toString()
      const tracked = this.peers.get(peerId)
      if (tracked === undefined || tracked.pinging) continue
      tracked.pinging = true
      source.ping(peer, { signal: AbortSignal.timeout(timeoutMs) }).then(
        (rtt) => {
          tracked.pinging = false
          tracked.failedPings = 0
          if (typeof rtt === 'number' && Number.isFinite(rtt)) {
            tracked.rttMs = tracked.rttMs === undefined ? rtt : tracked.rttMs * (1 - RTT_SMOOTHING) + rtt * RTT_SMOOTHING
          }
          if (this.tickTimer !== undefined) this.heartbeat(peerId)
        },
        (err: unknown) => {
          tracked.pinging = false
          this.components.logger.debug({ err, peerId }, 'ping failed')
          if (++tracked.failedPings < LIMITS.healthLinkDeadPings || this.tickTimer === undefined) return
          this.components.logger.warning({ remotePeer: peerId, failedPings: tracked.failedPings }, 'link dead: closing it')
          this.safeDispatchEvent('link:dead', { detail: { peerId, failedPings: tracked.failedPings } })
          tracked.failedPings = 0
        },
      )
    }
  }

  private pauseFactor(tracked: Tracked): number {
    const factor = this.components.config.throttledFactor
    return (tracked.throttled ? factor : 1) * (this.components.selfThrottled?.() === true ? factor : 1) * this.gossipFactor(tracked)
  }

  /** A peer with no direct link for two gossip intervals (or ever) is heard only once a gossip interval, not once a
   *  heartbeat: its window widens by their ratio, so it is not declared dead between two of its profiles and alive
   *  again at the next, over and over (7,599 such verdicts in a minute of a 50-peer mesh). A peer that just lost its
   *  link (a SIGKILL resets it) keeps the narrow window, so its death is still seen within seconds. */
  private gossipFactor(tracked: Tracked): number {
    const interval = this.components.presence?.interval
    if (interval === undefined || this.components.ping === undefined) return 1
    return this.now() - tracked.linkedAt > 2 * interval ? Math.max(1, interval / this.heartbeatMs) : 1
  }

  private newDetector(): PhiAccrualDetector {
    const heartbeatMs = this.heartbeatMs
    return new PhiAccrualDetector({
      maxSampleSize: LIMITS.healthSampleSize,
      minStdDeviationMs: heartbeatMs * LIMITS.healthMinStdDeviationFraction,
      acceptableHeartbeatPauseMs: heartbeatMs * LIMITS.healthAcceptablePauseHeartbeats,
      firstHeartbeatEstimateMs: heartbeatMs,
      // Gossip and pings arrive about once an interval each; counting both would halve the expected interval.
      minIntervalMs: heartbeatMs / 2,
      now: this.now,
    })
  }

  /** Keeps at most LIMITS.healthMaxPeers: the peer heard from longest ago goes. */
  private makeRoom(): void {
    if (this.peers.size < LIMITS.healthMaxPeers) return
    let oldest: string | undefined
    let longest = -1
    for (const [peerId, tracked] of this.peers) {
      const silence = tracked.detector.silenceMs()
      if (silence > longest) {
        longest = silence
        oldest = peerId
      }
    }
    if (oldest !== undefined) this.peers.delete(oldest)
  }

  private emit(peerId: string, tracked: Tracked, previous: PeerHealth | undefined): void {
    const detail: PeerHealthChange = {
      peerId,
      state: tracked.state,
      previous,
      phi: round(tracked.detector.phi(this.pauseFactor(tracked))),
      silenceMs: tracked.detector.silenceMs(),
    }
    // remotePeer, as the mesh logs it: the node's own logger already carries `peerId`.
    const { peerId: remotePeer, ...fields } = detail
    if (tracked.state !== 'alive') {
      this.components.metrics?.failureDetections.inc()
      this.components.logger.warning({ remotePeer, ...fields }, `peer ${tracked.state}`)
    } else if (previous !== undefined) {
      this.components.logger.info({ remotePeer, ...fields }, 'peer alive again')
    }
    try {
      this.safeDispatchEvent(`peer:${tracked.state}`, { detail })
    } catch (err) {
      this.components.logger.error({ err, peerId }, 'health listener threw')
    }
  }
}

function round(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 1000) / 1000 : value
}
