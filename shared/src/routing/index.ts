// Mesh routing (docs/ROUTING.md): link-state gossip, shortest paths with equal-cost next hops, and hop-by-hop
// forwarding of signed envelopes on /noodlenet/route/1.0.0.

export { type LinkQuality, LOAD_COST_MS, LOSS_COST_MS, linkCost } from './cost.js'
export { ReplayGuard, type SignedFields, signReply, signRequest, verifyReply, verifyRequest } from './envelope.js'
export { type LinkStateComponents, type LinkStateEvents, LinkStateService } from './link-state.js'
export { RouteTable } from './route-table.js'
export { Router, type RouterComponents } from './router.js'
export { type Adjacency, type CsrGraph, type Route, shortestPaths, shortestPathsOver } from './shortest-paths.js'
export { TopologyGraph } from './topology-graph.js'
export type { Topology } from './types.js'
