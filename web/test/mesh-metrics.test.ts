// Browser metrics end to end: a real Chromium tab joins a real `noodlenet start` process over WebSockets and gossips
// its metrics summary on the metrics topic; the Node peer's GET /api/metrics/mesh shows it with platform "browser".

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, PeerProcess } from '../../node/test/support/peer-process.js'
import { WebAppHarness } from './support/browser.js'

interface MeshView {
  self: { peer: string; platform: string } | null
  peers: Array<{ peer: string; platform: string; ageMs: number; summary: { neighbours: string[]; peers: number } }>
}

let harness: WebAppHarness

beforeAll(async () => {
  harness = await WebAppHarness.start()
}, 120_000)

afterAll(async () => harness?.close())

describe('browser metrics', () => {
  it("a tab's summary reaches the Node peer's GET /api/metrics/mesh with platform browser", async () => {
    const nodePeer = harness.track(
      new PeerProcess(['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--api-port', '0', '--no-mdns'], { NOODLE_NET_MONITORING_INTERVAL: '1' }),
    )
    const ready = await nodePeer.ready
    const page = await harness.browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(`${harness.url}/?join=1&monitoring=1&bootstrap=${encodeURIComponent(ready.addrs[0])}`)
    await page.waitForFunction(() => window.noodle !== undefined, undefined, { timeout: 30_000 })
    const tabId = await page.evaluate(() => window.noodle?.peerId)

    await eventually(
      async () => (await nodePeer.api<MeshView>('/api/metrics/mesh')).peers.some((entry) => entry.peer === tabId),
      30_000,
      "the Node peer to hear the tab's summary",
    )
    const view = await nodePeer.api<MeshView>('/api/metrics/mesh')
    const tab = view.peers.find((entry) => entry.peer === tabId)
    expect(tab?.platform).toBe('browser')
    expect(tab?.summary.neighbours).toContain(ready.peerId)
    expect(tab?.ageMs).toBeLessThan(60_000)
    expect(view.self).toMatchObject({ peer: ready.peerId, platform: 'node' })
    // And the tab hears the Node peer's.
    await eventually(
      async () =>
        (await page.evaluate((id) => window.noodle?.node.meshMetrics.peers().some((entry) => entry.peer === id) === true, ready.peerId)) ===
        true,
      30_000,
      "the tab to hear the Node peer's summary",
    )
    expect(errors).toEqual([])
  })
})
