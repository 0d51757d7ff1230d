// Shortest paths from this node over the link-state topology: Dijkstra on integer link costs, keeping every
// equal-cost first hop (ECMP). Plain typed arrays over an index of the nodes (a CSR adjacency) and a heap of
// (cost, node) pairs: 1,000 nodes and 10,000 links take about a millisecond (bench/routing.ts).

/** node -> (neighbour -> cost). Costs are positive integers (routing/cost.ts), so equal costs compare exactly. */
export type Adjacency = ReadonlyMap<string, ReadonlyMap<string, number>>

/** The way to one destination: the neighbours that start a cheapest path to it, its cost and its fewest hops. */
export interface Route {
  /** Sorted, at least one. */
  nextHops: string[]
  cost: number
  hops: number
}

/** A graph as compressed sparse rows: the links of node i are targets[offsets[i]..offsets[i + 1]) with their costs. */
export interface CsrGraph {
  /** Node names by index. */
  names: readonly string[]
  offsets: Int32Array
  targets: Int32Array
  costs: Float64Array
}

/** Cheapest routes from `source` to every node it can reach (itself excluded). */
export function shortestPaths(source: string, adjacency: Adjacency): Map<string, Route> {
  const index = new Map<string, number>([[source, 0]])
  const names: string[] = [source]
  const indexOf = (name: string): number => {
    let i = index.get(name)
    if (i === undefined) {
      i = names.length
      index.set(name, i)
      names.push(name)
    }
    return i
  }
  let edgeCount = 0
  for (const [from, links] of adjacency) {
    indexOf(from)
    for (const to of links.keys()) indexOf(to)
    edgeCount += links.size
  }
  const n = names.length
  const offsets = new Int32Array(n + 1)
  const targets = new Int32Array(edgeCount)
  const costs = new Float64Array(edgeCount)
  for (const [from, links] of adjacency) offsets[(index.get(from) as number) + 1] = links.size
  for (let i = 0; i < n; i++) offsets[i + 1] += offsets[i]
  for (const [from, links] of adjacency) {
    let at = offsets[index.get(from) as number]
    for (const [to, cost] of links) {
      targets[at] = index.get(to) as number
      costs[at] = cost
      at++
    }
  }
  return shortestPathsOver({ names, offsets, targets, costs }, 0)
}

/** Dijkstra from node `source` of `graph`, keeping every equal-cost first hop; routes by destination name. */
export function shortestPathsOver(graph: CsrGraph, source: number): Map<string, Route> {
  const { names, offsets, targets, costs } = graph
  const n = names.length
  const dist = new Float64Array(n).fill(Number.POSITIVE_INFINITY)
  const hops = new Int32Array(n)
  const done = new Uint8Array(n)
  // First hops per node, as indices; shared (never mutated) between nodes until an equal-cost path merges them.
  const first: Array<number[] | undefined> = new Array(n)
  const heap = new PairHeap(Math.max(16, targets.length + 1))
  dist[source] = 0
  heap.push(0, source)
  while (heap.size > 0) {
    const u = heap.popNode()
    if (done[u] === 1) continue
    done[u] = 1
    const du = dist[u]
    for (let e = offsets[u]; e < offsets[u + 1]; e++) {
      const v = targets[e]
      if (v === source) continue
      const w = costs[e]
      if (!(w > 0)) continue
      const alt = du + w
      const via = u === source ? [v] : (first[u] as number[])
      if (alt < dist[v]) {
        dist[v] = alt
        hops[v] = hops[u] + 1
        first[v] = via
        heap.push(alt, v)
      } else if (alt === dist[v] && done[v] === 0) {
        if (hops[u] + 1 < hops[v]) hops[v] = hops[u] + 1
        first[v] = union(first[v] as number[], via)
      }
    }
  }

  const routes = new Map<string, Route>()
  for (let i = 0; i < n; i++) {
    const via = first[i]
    if (via === undefined || i === source) continue
    routes.set(names[i], {
      nextHops: via.length === 1 ? [names[via[0]]] : via.map((hop) => names[hop]).sort(),
      cost: dist[i],
      hops: hops[i],
    })
  }
  return routes
}

/** a ∪ b, as a new array when b adds anything (a may be shared with another node). */
function union(a: number[], b: number[]): number[] {
  let merged: number[] | undefined
  for (const hop of b) {
    if (a.includes(hop) || merged?.includes(hop) === true) continue
    merged ??= [...a]
    merged.push(hop)
  }
  return merged ?? a
}

/** A binary min-heap of (priority, node) in typed arrays: no object per entry. Stale entries are skipped by the
 *  caller (lazy deletion), so it holds at most one entry per relaxed link. */
class PairHeap {
  size = 0
  private keys: Float64Array
  private nodes: Int32Array

  constructor(capacity: number) {
    this.keys = new Float64Array(capacity)
    this.nodes = new Int32Array(capacity)
  }

  push(key: number, node: number): void {
    if (this.size === this.keys.length) this.grow()
    const keys = this.keys
    const nodes = this.nodes
    let i = this.size++
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (keys[parent] <= key) break
      keys[i] = keys[parent]
      nodes[i] = nodes[parent]
      i = parent
    }
    keys[i] = key
    nodes[i] = node
  }

  /** Removes the entry with the least key and returns its node. */
  popNode(): number {
    const keys = this.keys
    const nodes = this.nodes
    const top = nodes[0]
    const last = --this.size
    const key = keys[last]
    const node = nodes[last]
    let i = 0
    while (true) {
      let child = 2 * i + 1
      if (child >= last) break
      if (child + 1 < last && keys[child + 1] < keys[child]) child++
      if (keys[child] >= key) break
      keys[i] = keys[child]
      nodes[i] = nodes[child]
      i = child
    }
    keys[i] = key
    nodes[i] = node
    return top
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2)
    const nodes = new Int32Array(this.nodes.length * 2)
    keys.set(this.keys)
    nodes.set(this.nodes)
    this.keys = keys
    this.nodes = nodes
  }
}
