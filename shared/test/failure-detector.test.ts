// FailureDetector: phi per peer turned into alive / suspect / dead events, from presence gossip, pings and
// heartbeat(), on a fake clock; then the same on real nodes in one realm.

import type { PeerId } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FailureDetector, type PeerHealthChange, type PingSource } from '../src/health/failure-detector.js'
import type { NodeProfile, NoodleNode } from '../src/index.js'
import { createLogger } from '../src/monitoring/logger.js'
import { MemorySink, startMesh } from './test-platform.js'

const CONFIG = { suspectPhi: 3, deadPhi: 8, heartbeatMs: 1_000, throttledFactor: 4 }
const PEER = '12D3KooWPeerA'

class FakePresence extends TypedEventEmitter<{ 'presence:update': CustomEvent<NodeProfile> }> {
  interval?: number
  gossip(peerId: string, throttled?: boolean): void {
    this.safeDispatchEvent('presence:update', { detail: { peerId, throttled } as NodeProfile })
  }
}

function setup(options: { ping?: PingSource; selfThrottled?: () => boolean } = {}) {
  const presence = new FakePresence()
  const detections = { count: 0 }
  const detector = new FailureDetector({
    config: CONFIG,
    logger: createLogger({ level: 'ERROR', component: 'health', sink: new MemorySink() }),
    presence,
    metrics: { failureDetections: { inc: () => detections.count++ } as never },
    now: () => Date.now(),
    ...options,
  })
  const events: PeerHealthChange[] = []
  for (const type of ['peer:alive', 'peer:suspect', 'peer:dead'] as const) {
    detector.addEventListener(type, (event) => events.push(event.detail))
  }
  detector.start()
  return { presence, detector, events, detections }
}

/** Advances the fake clock `ms`, gossiping a profile from `peer` every `everyMs` (none when undefined). */
function run(presence: FakePresence, ms: number, everyMs?: number, throttled?: boolean): void {
  for (let t = 0; t < ms; t += 50) {
    vi.advanceTimersByTime(50)
    if (everyMs !== undefined && (t + 50) % everyMs === 0) presence.gossip(PEER, throttled)
  }
}

describe('FailureDetector', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('a peer heard from every second stays alive for ten minutes', () => {
    const { presence, detector, events } = setup()
    presence.gossip(PEER)
    run(presence, 600_000, 1_000)
    expect(events.map((e) => e.state)).toEqual(['alive'])
    expect(events[0].previous).toBeUndefined()
    expect(detector.state(PEER)).toBe('alive')
    expect(detector.phi(PEER)).toBeLessThan(1)
    detector.stop()
  })

  it('a peer heard only through gossip (no link) every 5 s is never declared dead; once it stops, it is', () => {
    const pings: PingSource = { peers: () => [], ping: async () => 1 }
    const { presence, detector, events } = setup({ ping: pings })
    presence.interval = 5_000
    presence.gossip(PEER)
    run(presence, 120_000, 5_000)
    expect(events.map((e) => e.state)).toEqual(['alive'])
    run(presence, 30_000)
    expect(detector.state(PEER)).toBe('dead')
    detector.stop()
  })

  it('a linked peer whose link just went keeps the narrow window: dead within 5 s', () => {
    let linked = true
    const peer = { toString: () => PEER } as PeerId
    const pings: PingSource = { peers: () => (linked ? [peer] : []), ping: async () => 1 }
    const { presence, detector, events } = setup({ ping: pings })
    presence.interval = 5_000
    presence.gossip(PEER)
    run(presence, 30_000, 1_000)
    linked = false
    run(presence, 10_000)
    const dead = events.find((e) => e.state === 'dead')
    expect(dead).toBeDefined()
    expect(detector.state(PEER)).toBe('dead')
    expect(dead?.silenceMs).toBeLessThan(5_000)
    detector.stop()
  })

  it('a peer that goes silent is suspected, then declared dead within 5 s of its last heartbeat', () => {
    const { presence, detector, events, detections } = setup()
    presence.gossip(PEER)
    run(presence, 30_000, 1_000)
    const silentFrom = Date.now()
    run(presence, 10_000)
    expect(events.map((e) => e.state)).toEqual(['alive', 'suspect', 'dead'])
    const dead = events[2]
    expect(dead.previous).toBe('suspect')
    expect(dead.phi).toBeGreaterThanOrEqual(CONFIG.deadPhi)
    expect(dead.silenceMs).toBeLessThan(5_000)
    expect(Date.now() - silentFrom).toBeGreaterThanOrEqual(dead.silenceMs)
    expect(detector.state(PEER)).toBe('dead')
    expect(detections.count).toBe(2)
    expect(detector.report()).toEqual([expect.objectContaining({ peerId: PEER, state: 'dead', throttled: false })])
    detector.stop()
  })

  it('a dead peer heard from again is alive, with a fresh history', () => {
    const { presence, detector, events } = setup()
    presence.gossip(PEER)
    run(presence, 10_000, 1_000)
    run(presence, 20_000)
    expect(detector.state(PEER)).toBe('dead')
    presence.gossip(PEER)
    expect(events.at(-1)).toMatchObject({ state: 'alive', previous: 'dead' })
    // The 20 s outage is not an interval it learnt: the next silence is judged by the 1 s rhythm.
    run(presence, 10_000, 1_000)
    run(presence, 5_000)
    expect(detector.state(PEER)).toBe('dead')
    detector.stop()
  })

  it('a throttled peer gets a wider window: not dead after 5 s of silence, dead later', () => {
    const { presence, detector, events } = setup()
    presence.gossip(PEER, true)
    run(presence, 30_000, 1_000, true)
    run(presence, 5_000)
    expect(detector.state(PEER)).toBe('alive')
    run(presence, 10_000)
    expect(detector.state(PEER)).toBe('dead')
    const dead = events.find((e) => e.state === 'dead')
    expect(dead?.silenceMs).toBeGreaterThan(5_000)
    expect(detector.report()[0].throttled).toBe(true)
    detector.stop()
  })

  it('a throttled tab that answers once every 2 s (its timers clamped) is never suspected', () => {
    const { presence, detector, events } = setup()
    presence.gossip(PEER, true)
    run(presence, 300_000, 2_000, true)
    expect(events.map((e) => e.state)).toEqual(['alive'])
    expect(detector.state(PEER)).toBe('alive')
    detector.stop()
  })

  it('ping answers keep a connected peer alive without gossip; failed pings let it die', () => {
    let answering = true
    const peer = { toString: () => PEER } as PeerId
    const ping: PingSource = {
      peers: () => [peer],
      ping: async () => {
        if (!answering) throw new Error('connection reset')
        return 1
      },
    }
    const { presence, detector, events } = setup({ ping })
    presence.gossip(PEER)
    return (async () => {
      await vi.advanceTimersByTimeAsync(60_000)
      expect(events.map((e) => e.state)).toEqual(['alive'])
      answering = false
      await vi.advanceTimersByTimeAsync(10_000)
      expect(detector.state(PEER)).toBe('dead')
      detector.stop()
    })()
  })

  it('a tick far behind schedule (this node was paused) judges no one; the answers read next count', () => {
    const { presence, detector, events } = setup()
    presence.gossip(PEER)
    run(presence, 10_000, 1_000)
    // Freeze: the clock jumps 6 s with no timer run, as in a long GC pause or a blocked event loop.
    vi.setSystemTime(Date.now() + 6_000)
    detector.tick()
    expect(detector.state(PEER)).toBe('alive')
    presence.gossip(PEER) // the answer that waited in the socket while this node was paused
    detector.tick()
    expect(events.map((e) => e.state)).toEqual(['alive'])
    detector.stop()
  })

  it('a peer never heard from is alive to the scheduler, and unknown to the report', () => {
    const { detector } = setup()
    expect(detector.state('12D3KooWNobody')).toBe('alive')
    expect(detector.phi('12D3KooWNobody')).toBe(0)
    expect(detector.report()).toEqual([])
    detector.stop()
  })
})

describe('FailureDetector in NoodleNode', () => {
  let nodes: NoodleNode[] = []
  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.stop()))
    nodes = []
  })

  it('the other nodes declare a stopped node dead, keep the live one alive and count the detection', async () => {
    nodes = await startMesh(3, { health: { heartbeatMs: 200 } })
    const [a, b, c] = nodes
    const gone = c.peerId.toString()
    await vi.waitFor(() => {
      for (const node of [a, b]) expect(node.health.report().map((r) => r.peerId)).toContain(gone)
    }, 15_000)
    const deaths = [a, b].map(
      (node) =>
        new Promise<PeerHealthChange>((resolve) => {
          node.addEventListener('peer:dead', (event) => {
            if (event.detail.peerId === gone) resolve(event.detail)
          })
        }),
    )
    nodes = [a, b]
    await c.stop()
    const verdicts = await Promise.all(deaths)
    for (const verdict of verdicts) expect(verdict.state).toBe('dead')
    expect(a.health.state(gone)).toBe('dead')
    expect(a.health.state(b.peerId.toString())).toBe('alive')
    expect(a.metrics.render()).toMatch(/noodlenet_failure_detections_total [1-9]/)
  }, 30_000)
})
