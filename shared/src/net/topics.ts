// Gossip topics and protocol ids of the mesh, in one place.

export const TOPICS = {
  /** NodeProfile of every peer, republished periodically. */
  presence: 'noodlenet/v1/presence',
  /** Signed capability revocations. */
  revocations: 'noodlenet/v1/revocations',
  /** Alerts that fire and resolve on a peer (docs/ALERTING.md). */
  alerts: 'noodlenet/v1/alerts',
  /** Each peer's links (neighbour, RTT, load): the topology routes are computed over (docs/ROUTING.md). */
  linkState: 'noodlenet/v1/link-state',
  /** Each node's metrics summary, every monitoring interval (docs/METRICS.md, monitoring/mesh-metrics.ts). */
  metrics: 'noodlenet/v1/metrics',
} as const
