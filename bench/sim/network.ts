// The simulated network: N nodes spread over regions, each linked to about `degree` random others (what the mesh
// maintainer does: targetDegree), link delays log-normal around a base set by the two regions, message loss,
// partitions (nodes in different groups cannot reach each other) and churn (nodes that are down neither send nor
// receive).

import type { Random } from './simulator.js'

export interface NetworkOptions {
  nodes: number
  /** Average links per node. */
  degree: number
  /** One-way delay between two nodes of one region, and added per region of distance (ms, medians). */
  localDelayMs: number
  regionDelayMs: number
  regions: number
  /** Log-normal shape of each delay: 0.3 gives a p99 about twice the median. */
  jitter: number
  /** Chance that any one message is lost. */
  loss: number
}

export const DEFAULT_NETWORK: Omit<NetworkOptions, 'nodes'> = {
  degree: 8,
  localDelayMs: 5,
  regionDelayMs: 25,
  regions: 5,
  jitter: 0.3,
  loss: 0.01,
}

export class SimNetwork {
  readonly options: NetworkOptions
  readonly region: Uint8Array
  /** Neighbours of each node (both directions). */
  readonly links: number[][]
  readonly up: Uint8Array
  /** Partition group per node; messages between groups are dropped. */
  readonly group: Uint16Array
  private readonly random: Random

  constructor(options: NetworkOptions, random: Random) {
    this.options = options
    this.random = random
    const n = options.nodes
    this.region = new Uint8Array(n)
    for (let i = 0; i < n; i++) this.region[i] = random.int(options.regions)
    this.up = new Uint8Array(n).fill(1)
    this.group = new Uint16Array(n)
    this.links = Array.from({ length: n }, () => [])
    // Each node dials degree/2 random others; with their dials in, about `degree` links each. A ring first, so the
    // graph is connected whatever the draw.
    const seen = new Set<number>()
    const link = (a: number, b: number): void => {
      if (a === b) return
      const key = a < b ? a * n + b : b * n + a
      if (seen.has(key)) return
      seen.add(key)
      this.links[a].push(b)
      this.links[b].push(a)
    }
    for (let i = 0; i < n; i++) link(i, (i + 1) % n)
    for (let i = 0; i < n; i++) for (let k = 0; k < Math.max(0, options.degree / 2 - 1); k++) link(i, random.int(n))
  }

  get size(): number {
    return this.options.nodes
  }

  /** Median one-way delay between two nodes (ms). */
  baseDelay(a: number, b: number): number {
    return this.options.localDelayMs + this.options.regionDelayMs * Math.abs(this.region[a] - this.region[b])
  }

  /** One message's delay from a to b (ms), or undefined when it is lost (loss, a partition, either end down). */
  delay(a: number, b: number): number | undefined {
    if (this.up[a] === 0 || this.up[b] === 0 || this.group[a] !== this.group[b]) return undefined
    if (this.random.next() < this.options.loss) return undefined
    return this.random.logNormal(this.baseDelay(a, b), this.options.jitter)
  }

  /** Splits the nodes into `groups` partitions by region (a region is a site that lost its uplinks). */
  partition(groups: number): void {
    for (let i = 0; i < this.size; i++) this.group[i] = this.region[i] % groups
  }

  heal(): void {
    this.group.fill(0)
  }

  linkCount(): number {
    let total = 0
    for (const neighbours of this.links) total += neighbours.length
    return total / 2
  }
}
