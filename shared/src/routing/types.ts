// What the routing layer shows outside: the topology and routes as GET /api/topology and window.noodle.topology()
// return them. The dashboard draws this shape; keep it stable.

export interface Topology {
  /** Every peer this node knows of from link-state records, itself included, sorted. */
  nodes: string[]
  /** One per linked pair, with the round trip (ms) its ends measured (their mean when both did). */
  links: Array<{ from: string; to: string; rttMs: number }>
  /** Per destination: the next hop (the first of the equal-cost ones), hops on the cheapest path, its cost. */
  routes: Record<string, { nextHop: string; hops: number; cost: number }>
}
