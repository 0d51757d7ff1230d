// The dashboard's data model without a browser: the topology adapter (routing when the node has it, else presence,
// connections and summaries' neighbour lists), the mesh's rate and percentiles over time, the task list, and the
// alerts firing now.

import type { MetricsSummary, NoodleNode } from '@noodlenet/shared'
import { describe, expect, it } from 'vitest'
import { summaryFixture } from '../../shared/test/metrics-summary-fixture.js'
import { firingAlerts, MeshTimeline, recentTasks, topologyOf } from '../src/dashboard/mesh-view.js'

const summary = summaryFixture

/** A node as far as the dashboard reads it. */
function fakeNode(parts: {
  topology?: () => unknown
  profiles?: string[]
  connected?: string[]
  summaries?: MetricsSummary[]
}): NoodleNode {
  return {
    peerId: { toString: () => 'me' },
    platform: { name: 'browser' },
    topology: parts.topology,
    presence: { profiles: () => (parts.profiles ?? []).map((peerId) => ({ peerId, platform: 'node' })) },
    peers: () => (parts.connected ?? []).map((peerId) => ({ peerId, rttMs: 2 })),
    meshMetrics: {
      peers: () => (parts.summaries ?? []).map((s) => ({ peer: s.peer, platform: s.platform, ageMs: 0, summary: s })),
      self: () => undefined,
    },
  } as unknown as NoodleNode
}

describe('topologyOf', () => {
  it('without routing: presence peers, this node’s links and each summary’s neighbours, deduplicated', () => {
    const node = fakeNode({
      profiles: ['a', 'b', 'c'],
      connected: ['a'],
      summaries: [summary('a', { neighbours: ['b', 'c', 'me'] }), summary('b', { neighbours: ['a'] })],
    })
    const withSelf = topologyOf(node, { includeSelf: true })
    expect(withSelf.source).toBe('presence')
    expect(withSelf.nodes).toEqual(['a', 'b', 'c', 'me'])
    expect(withSelf.links.map((l) => [l.from, l.to])).toEqual([
      ['me', 'a'],
      ['a', 'b'],
      ['a', 'c'],
    ])
    const observer = topologyOf(node, { includeSelf: false })
    expect(observer.nodes).toEqual(['a', 'b', 'c'])
    expect(observer.links).toHaveLength(2)
  })

  it('with routing: node.topology() as it is, the observer left out', () => {
    const node = fakeNode({
      topology: () => ({
        nodes: ['a', 'b', 'me'],
        links: [
          { from: 'a', to: 'b', rttMs: 1.5 },
          { from: 'me', to: 'a', rttMs: 1 },
        ],
        routes: {},
      }),
    })
    expect(topologyOf(node, { includeSelf: false })).toEqual({
      nodes: ['a', 'b'],
      links: [{ from: 'a', to: 'b', rttMs: 1.5 }],
      routes: {},
      source: 'routing',
    })
  })
})

describe('MeshTimeline and the task list', () => {
  it('sums rates, weights p50 by rate, keeps the worst p95/p99, and lists the newest tasks first with their runner', () => {
    const timeline = new MeshTimeline(2)
    const busy = [
      summary('a', {
        tasks: { total: 10, failed: 0, perSecond: 30, p50Ms: 1, p95Ms: 4, p99Ms: 9 },
        recent: [{ kernel: 'echo', outcome: 'ok', durationMs: 1, at: 5 }],
      }),
      summary('b', {
        tasks: { total: 5, failed: 1, perSecond: 10, p50Ms: 5, p95Ms: 8, p99Ms: 8 },
        recent: [{ kernel: 'matmul', outcome: 'TASK_TIMEOUT', durationMs: 9, at: 7 }],
      }),
    ]
    expect(timeline.push(1000, busy, 2)).toEqual({ t: 1, rate: 40, p50: 2, p95: 8, p99: 9, peers: 2 })
    timeline.push(2000, [], 2)
    timeline.push(3000, [], 3)
    expect(timeline.columns(['rate', 'peers'])).toEqual([
      [2, 3],
      [0, 0],
      [2, 3],
    ])
    expect(timeline.peakRate).toBe(40)
    expect(recentTasks(busy).map((row) => [row.peer, row.kernel, row.outcome])).toEqual([
      ['b', 'matmul', 'TASK_TIMEOUT'],
      ['a', 'echo', 'ok'],
    ])
  })

  it('firingAlerts keeps each peer rule’s latest notice, and only those firing', () => {
    const notice = (peer: string, name: string, state: string, at: number) => ({ peer, name, state, firedAt: at, severity: 'warning' })
    const node = {
      alerting: {
        alerts: () => ({
          firing: [],
          resolved: [],
          heard: [notice('a', 'down', 'resolved', 3), notice('a', 'down', 'firing', 2), notice('b', 'slow', 'firing', 1)],
        }),
      },
    } as unknown as NoodleNode
    expect(firingAlerts(node).map((alert) => `${alert.peer} ${alert.name}`)).toEqual(['b slow'])
  })
})
