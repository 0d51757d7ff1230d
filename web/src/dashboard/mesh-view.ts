// What the dashboard shows, as data (no DOM): the topology through one adapter (the routing layer's
// `node.topology()` when the node has it, else presence, this node's connections and the neighbours each peer's
// metrics summary lists), the mesh's task rate, latency percentiles and size over time from the summaries, the
// tasks each peer ran, and the alerts firing anywhere.

import type { MeshPeerMetrics, MetricsSummary, NoodleNode } from '@noodlenet/shared'

/** The shape of `NoodleNode.topology()` (routing; GET /api/topology). */
export interface Topology {
  nodes: string[]
  links: Array<{ from: string; to: string; rttMs: number }>
  routes: Record<string, { nextHop: string; hops: number; cost: number }>
}

export interface MeshTopology extends Topology {
  /** Where it came from: link-state routing, or presence and metrics summaries until routing is available. */
  source: 'routing' | 'presence'
}

/** The dashboard's mesh: the topology, without this node when it only observes (it is the viewer, not a peer that
 *  runs work). Links to nodes outside the drawn set are dropped; each pair appears once. */
export function topologyOf(node: NoodleNode, options: { includeSelf: boolean }): MeshTopology {
  const self = node.peerId.toString()
  const routed = (node as { topology?: () => Topology }).topology?.()
  const topology: MeshTopology = routed !== undefined ? { ...routed, source: 'routing' } : presenceTopology(node)
  const nodes = topology.nodes.filter((peer) => options.includeSelf || peer !== self)
  const drawn = new Set(nodes)
  const seen = new Set<string>()
  const links = topology.links.filter((link) => {
    const key = link.from < link.to ? `${link.from} ${link.to}` : `${link.to} ${link.from}`
    if (link.from === link.to || !drawn.has(link.from) || !drawn.has(link.to) || seen.has(key)) return false
    seen.add(key)
    return true
  })
  return { ...topology, nodes: [...nodes].sort(), links }
}

/** Until the routing layer exists: peers heard in presence (and in metrics summaries), links from this node's
 *  connections and from every summary's neighbour list. No routes. */
function presenceTopology(node: NoodleNode): MeshTopology {
  const self = node.peerId.toString()
  const nodes = new Set<string>([self])
  for (const profile of node.presence.profiles()) nodes.add(profile.peerId)
  const links: Topology['links'] = []
  for (const peer of node.peers()) links.push({ from: self, to: peer.peerId, rttMs: peer.rttMs ?? 0 })
  for (const { peer, summary } of node.meshMetrics.peers()) {
    nodes.add(peer)
    for (const neighbour of summary.neighbours) links.push({ from: peer, to: neighbour, rttMs: 0 })
  }
  return { nodes: [...nodes], links, routes: {}, source: 'presence' }
}

/** Each peer's platform, from presence and metrics summaries. */
export function platformsOf(node: NoodleNode): Map<string, 'node' | 'browser'> {
  const platforms = new Map<string, 'node' | 'browser'>([[node.peerId.toString(), node.platform.name]])
  for (const profile of node.presence.profiles()) platforms.set(profile.peerId, profile.platform)
  for (const { peer, platform } of node.meshMetrics.peers()) platforms.set(peer, platform)
  return platforms
}

/** The summaries that describe the mesh now: every peer's latest, and this node's own when it runs tasks. */
export function currentSummaries(node: NoodleNode, options: { includeSelf: boolean }): MetricsSummary[] {
  const summaries = node.meshMetrics.peers().map((entry: MeshPeerMetrics) => entry.summary)
  const own = node.meshMetrics.self()
  return options.includeSelf && own !== undefined ? [own, ...summaries] : summaries
}

/** One point of the mesh's time series. */
export interface MeshSample {
  /** Seconds since the epoch (uPlot's x). */
  t: number
  /** Tasks per second over the mesh: the sum of every peer's rate over its last interval. */
  rate: number
  /** Latency (ms): p50 weighted by each peer's rate; p95 and p99 the worst peer's (a bound, not an exact merge). */
  p50: number | null
  p95: number | null
  p99: number | null
  peers: number
}

/** The mesh over time, at most `capacity` samples (oldest dropped first). */
export class MeshTimeline {
  readonly samples: MeshSample[] = []
  peakRate = 0

  constructor(private readonly capacity = 600) {}

  push(at: number, summaries: readonly MetricsSummary[], peers: number): MeshSample {
    let rate = 0
    let weighted = 0
    let p95: number | null = null
    let p99: number | null = null
    for (const { tasks } of summaries) {
      rate += tasks.perSecond
      if (tasks.p50Ms !== null) weighted += tasks.p50Ms * tasks.perSecond
      if (tasks.p95Ms !== null) p95 = Math.max(p95 ?? 0, tasks.p95Ms)
      if (tasks.p99Ms !== null) p99 = Math.max(p99 ?? 0, tasks.p99Ms)
    }
    const sample = { t: at / 1000, rate, p50: rate > 0 ? weighted / rate : null, p95, p99, peers }
    this.samples.push(sample)
    if (this.samples.length > this.capacity) this.samples.shift()
    this.peakRate = Math.max(this.peakRate, rate)
    return sample
  }

  /** Columns as uPlot takes them: x, then one array per series. */
  columns(keys: ReadonlyArray<Exclude<keyof MeshSample, 't'>>): Array<Array<number | null>> {
    return [this.samples.map((sample) => sample.t), ...keys.map((key) => this.samples.map((sample) => sample[key]))]
  }
}

export interface TaskRow {
  /** The peer that ran it. */
  peer: string
  kernel: string
  outcome: string
  durationMs: number
  /** When it finished (ms since the epoch, the runner's clock). */
  at: number
}

/** The most recent tasks over the mesh, newest first: what each peer's summary lists as run there. */
export function recentTasks(summaries: readonly MetricsSummary[], limit = 50): TaskRow[] {
  const rows: TaskRow[] = []
  for (const summary of summaries) for (const task of summary.recent) rows.push({ peer: summary.peer, ...task })
  return rows.sort((a, b) => b.at - a.at).slice(0, limit)
}

export type HeardAlert = ReturnType<NoodleNode['alerting']['alerts']>['heard'][number]

/** Alerts firing now, here and on the peers this node heard from: each (peer, rule)'s latest notice, if firing. */
export function firingAlerts(node: NoodleNode): HeardAlert[] {
  const { firing, heard } = node.alerting.alerts()
  const latest = new Map<string, HeardAlert>()
  // heard is newest first: the first notice of a (peer, rule) is its current state.
  for (const notice of heard) {
    const key = `${notice.peer} ${notice.name}`
    if (!latest.has(key)) latest.set(key, notice)
  }
  return [...firing, ...[...latest.values()].filter((notice) => notice.state === 'firing')]
}

/** A peer id as people compare them: its last six characters. */
export function shortId(peer: string): string {
  return `…${peer.slice(-6)}`
}
