// window.noodle.topology() in a real tab: the tab links to a Node peer B over WebSockets; a Node peer C linked to B
// over TCP only (a tab cannot dial TCP) is known to the tab from link-state gossip, with its route via B.

import type { Topology } from '@noodlenet/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, PeerProcess } from '../../node/test/support/peer-process.js'
import { WebAppHarness } from './support/browser.js'

let harness: WebAppHarness

beforeAll(async () => {
  harness = await WebAppHarness.start()
}, 120_000)

afterAll(async () => harness?.close())

describe('window.noodle.topology()', () => {
  it('shows the Node peers, their links and the route to a peer the tab cannot link to', async () => {
    const b = harness.track(
      new PeerProcess(['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--no-mdns']),
    )
    const readyB = await b.ready
    const tcp = readyB.addrs.find((addr) => !addr.includes('/ws/')) as string
    const ws = readyB.addrs.find((addr) => addr.includes('/ws/')) as string
    const c = harness.track(new PeerProcess(['--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--no-mdns', '--bootstrap', tcp]))
    const readyC = await c.ready
    const page = await (await harness.browser.newContext()).newPage()
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(`${harness.url}/?join=1&bootstrap=${encodeURIComponent(ws)}`)
    await page.waitForFunction(() => window.noodle !== undefined, undefined, { timeout: 30_000 })

    const topology = (): Promise<Topology | undefined> => page.evaluate(async () => window.noodle?.topology())
    await eventually(async () => (await topology())?.routes[readyC.peerId]?.nextHop === readyB.peerId, 30_000, 'a route to C via B')
    const seen = (await topology()) as Topology
    const tab = (await page.evaluate(() => window.noodle?.peerId)) as string
    expect(seen.nodes).toEqual([tab, readyB.peerId, readyC.peerId].sort())
    expect(seen.routes[readyC.peerId]).toMatchObject({ nextHop: readyB.peerId, hops: 2 })
    expect(seen.routes[readyB.peerId]).toMatchObject({ nextHop: readyB.peerId, hops: 1 })
    const pairs = seen.links.map((link) => [link.from, link.to].sort().join(' '))
    expect(pairs).toContain([tab, readyB.peerId].sort().join(' '))
    expect(pairs).toContain([readyB.peerId, readyC.peerId].sort().join(' '))
    for (const link of seen.links) expect(link.rttMs).toBeGreaterThanOrEqual(0)
    expect(errors).toEqual([])
  })
})
