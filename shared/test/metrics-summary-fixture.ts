// A metrics summary of an idle node, for tests that need one to vary (shared and web tests).

import type { MetricsSummary } from '../src/index.js'

export function summaryFixture(peer: string, overrides: Partial<MetricsSummary> = {}): MetricsSummary {
  return {
    v: 1,
    peer,
    platform: 'node',
    at: 1,
    intervalMs: 1000,
    peers: 0,
    neighbours: [],
    tasks: { total: 0, failed: 0, perSecond: 0, p50Ms: null, p95Ms: null, p99Ms: null },
    executor: { running: 0, queued: 0 },
    alertsFiring: 0,
    recent: [],
    ...overrides,
  }
}
