// The cached route table: destination -> equal-cost next hops, cost and hops, replaced whole at each
// recomputation. Among equal-cost next hops a request takes the one with the fewest requests in flight, ties in
// turn (round robin), so parallel paths share the load.

import type { Route } from './shortest-paths.js'

export class RouteTable {
  private routes: ReadonlyMap<string, Route> = new Map()
  private readonly inFlight = new Map<string, number>()
  private turn = 0

  get size(): number {
    return this.routes.size
  }

  replace(routes: ReadonlyMap<string, Route>): void {
    this.routes = routes
  }

  lookup(destination: string): Route | undefined {
    return this.routes.get(destination)
  }

  entries(): IterableIterator<[string, Route]> {
    return this.routes.entries()
  }

  /** The next hop for a request to `destination`, skipping `avoid` (peers the request has been through); undefined
   *  when there is none. The caller reports the request's end with finished(). */
  choose(destination: string, avoid?: (peer: string) => boolean): string | undefined {
    const route = this.routes.get(destination)
    if (route === undefined) return undefined
    const hops = route.nextHops
    let best: string | undefined
    let bestLoad = Number.POSITIVE_INFINITY
    this.turn = (this.turn + 1) % 0x7fffffff
    for (let k = 0; k < hops.length; k++) {
      const hop = hops[(this.turn + k) % hops.length]
      if (avoid?.(hop) === true) continue
      const load = this.inFlight.get(hop) ?? 0
      if (load < bestLoad) {
        best = hop
        bestLoad = load
      }
    }
    if (best !== undefined) this.inFlight.set(best, bestLoad + 1)
    return best
  }

  /** A request sent to `hop` by choose() ended. */
  finished(hop: string): void {
    const left = (this.inFlight.get(hop) ?? 1) - 1
    if (left <= 0) this.inFlight.delete(hop)
    else this.inFlight.set(hop, left)
  }
}
