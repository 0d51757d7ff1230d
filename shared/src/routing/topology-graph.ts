// The topology graph routes are computed over, kept between computations: every peer gets a small integer id once,
// and each peer's links are indexed as typed arrays when its record arrives, so a recomputation is integer work
// only (bench/routing.ts). A link another peer lists counts only when the peer at its far end, if it has links
// here, lists it back: a link that went down on one side is gone before both records say so. This node's own links
// are its live connections, set before each computation.

import type { Link, LinkStateRecord } from '../net/wire-schemas.js'
import { LOAD_COST_MS, LOSS_COST_MS } from './cost.js'
import type { CsrGraph } from './shortest-paths.js'

interface Indexed {
  to: Int32Array
  /** The part of each link's cost its record fixes: rttMs + LOSS_COST_MS x loss (routing/cost.ts). */
  base: Float64Array
  /** LOAD_COST_MS x the peer's load (its record's): what relaying through it adds to a link towards it. */
  loadCost: number
}

export class TopologyGraph {
  private ids = new Map<string, number>()
  private names: string[] = []
  private nodes: Array<Indexed | undefined> = []
  /** Links by peer: the source of truth the indexes are rebuilt from when ids pile up. */
  private readonly links = new Map<string, readonly Link[]>()

  /** Peers with links here. */
  get size(): number {
    return this.links.size
  }

  /** Sets `peer`'s links (a record's, or this node's own). */
  set(peer: string, links: readonly Link[]): void {
    this.links.set(peer, links)
    this.index(peer, links)
  }

  delete(peer: string): void {
    if (!this.links.delete(peer)) return
    const id = this.ids.get(peer)
    if (id !== undefined) this.nodes[id] = undefined
    // Ids of peers long gone are reused only by a rebuild: do one when they outnumber the live ones.
    if (this.names.length > 4 * this.links.size + 256) this.rebuild()
  }

  /** Makes the graph hold exactly `records` (plus `self`'s links, which sync leaves alone): records that are the same
   *  objects as last time cost a comparison each. */
  sync(self: string, records: readonly LinkStateRecord[]): void {
    const seen = new Set<string>([self])
    for (const record of records) {
      if (record.peerId === self) continue
      seen.add(record.peerId)
      if (this.links.get(record.peerId) !== record.links) this.set(record.peerId, record.links)
    }
    if (seen.size <= this.links.size) for (const peer of [...this.links.keys()]) if (!seen.has(peer)) this.delete(peer)
  }

  /** The graph as compressed sparse rows with link costs (routing/cost.ts), and the index of `self` in it. Integer
   *  passes only: who lists each node (an inverted index), then each node's links that the far end lists back. */
  csr(self: string): { graph: CsrGraph; source: number } {
    const source = this.id(self)
    const nodes = this.nodes
    const n = this.names.length
    const inOffsets = new Int32Array(n + 1)
    let total = 0
    for (let u = 0; u < n; u++) {
      const links = nodes[u]
      if (links === undefined) continue
      for (let k = 0; k < links.to.length; k++) inOffsets[links.to[k] + 1]++
      total += links.to.length
    }
    for (let v = 0; v < n; v++) inOffsets[v + 1] += inOffsets[v]
    const listedBy = new Int32Array(total)
    const fill = inOffsets.slice(0, n)
    for (let u = 0; u < n; u++) {
      const links = nodes[u]
      if (links === undefined) continue
      for (let k = 0; k < links.to.length; k++) listedBy[fill[links.to[k]]++] = u
    }
    // stamp[v] === u + 1: v lists u.
    const stamp = new Int32Array(n)
    const offsets = new Int32Array(n + 1)
    const targets = new Int32Array(total)
    const costs = new Float64Array(total)
    let at = 0
    for (let u = 0; u < n; u++) {
      const links = nodes[u]
      if (links !== undefined) {
        for (let e = inOffsets[u]; e < inOffsets[u + 1]; e++) stamp[listedBy[e]] = u + 1
        for (let k = 0; k < links.to.length; k++) {
          const v = links.to[k]
          const far = nodes[v]
          if (v === u || (far !== undefined && stamp[v] !== u + 1)) continue
          targets[at] = v
          // costOf(rttMs, loss, load of v), from the parts fixed when the records arrived.
          const cost = Math.round(links.base[k] + (far === undefined ? 0 : far.loadCost))
          costs[at] = Math.max(cost, 1)
          at++
        }
      }
      offsets[u + 1] = at
    }
    return { graph: { names: this.names, offsets, targets: targets.subarray(0, at), costs: costs.subarray(0, at) }, source }
  }

  /** node -> (neighbour -> cost), as the computation sees it: for tests and inspection. */
  adjacency(self: string): Map<string, Map<string, number>> {
    const { graph } = this.csr(self)
    const adjacency = new Map<string, Map<string, number>>()
    for (let u = 0; u < graph.names.length; u++) {
      if (this.nodes[u] === undefined) continue
      const links = new Map<string, number>()
      for (let e = graph.offsets[u]; e < graph.offsets[u + 1]; e++) links.set(graph.names[graph.targets[e]], graph.costs[e])
      adjacency.set(graph.names[u], links)
    }
    return adjacency
  }

  private id(peer: string): number {
    let id = this.ids.get(peer)
    if (id === undefined) {
      id = this.names.length
      this.ids.set(peer, id)
      this.names.push(peer)
      this.nodes.push(undefined)
    }
    return id
  }

  private index(peer: string, links: readonly Link[]): void {
    const id = this.id(peer)
    const indexed: Indexed = {
      to: new Int32Array(links.length),
      base: new Float64Array(links.length),
      loadCost: LOAD_COST_MS * clamp01(links[0]?.load ?? 0),
    }
    for (let k = 0; k < links.length; k++) {
      indexed.to[k] = this.id(links[k].peer)
      indexed.base[k] = links[k].rttMs + LOSS_COST_MS * clamp01(links[k].loss ?? 0)
    }
    this.nodes[id] = indexed
  }

  private rebuild(): void {
    this.ids = new Map()
    this.names = []
    this.nodes = []
    for (const [peer, links] of this.links) this.index(peer, links)
  }
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0
}
