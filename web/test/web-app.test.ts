// The web app end to end: built with Vite, served over HTTP, opened in real headless Chromium with `/?join=1`;
// the tab becomes a node and links to a real `noodlenet start` process over WebSockets with noise, seen from both
// sides (window.noodle.peers() and the Node peer's /api/peers). A screenshot goes to test-artifacts/.

import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiPeer, eventually, PeerProcess } from '../../node/test/support/peer-process.js'
import { ARTIFACTS, WebAppHarness } from './support/browser.js'

let harness: WebAppHarness

beforeAll(async () => {
  // A plain static server, not the signalling server: this page links over WebSockets only.
  harness = await WebAppHarness.start()
}, 120_000)

afterAll(async () => harness?.close())

describe('the web app', () => {
  it('/?join=1 makes the tab a node linked to a Node peer over WebSockets with noise', async () => {
    const nodePeer = harness.track(new PeerProcess(['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--api-port', '0', '--no-mdns']))
    const ready = await nodePeer.ready
    const context = await harness.browser.newContext()
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(`${harness.url}/?join=1&bootstrap=${encodeURIComponent(ready.addrs[0])}`)

    // (waitForFunction would take an async predicate's promise as truthy: poll with evaluate instead.)
    await eventually(
      async () =>
        (await page.evaluate(async (id) => (await window.noodle?.peers())?.some((peer) => peer.peerId === id) === true, ready.peerId)) ===
        true,
      30_000,
      'the tab to link to the Node peer',
    )
    const browserId = await page.evaluate(() => window.noodle?.peerId)
    expect(browserId).toMatch(/^12D3KooW/)
    const fromTab = await page.evaluate(async () => window.noodle?.peers())
    expect(fromTab?.find((peer) => peer.peerId === ready.peerId)).toMatchObject({
      transport: 'websocket',
      encryption: '/noise',
      direction: 'outbound',
    })

    await eventually(
      async () => (await nodePeer.api<ApiPeer[]>('/api/peers')).some((peer) => peer.peerId === browserId),
      10_000,
      'the Node peer to list the tab',
    )
    const fromNode = (await nodePeer.api<ApiPeer[]>('/api/peers')).find((peer) => peer.peerId === browserId)
    expect(fromNode).toMatchObject({ transport: 'websocket', encryption: '/noise', direction: 'inbound' })

    await expect(page.locator('#state')).toBeDefined()
    expect(await page.textContent('#state')).toBe('contributing')
    expect(await page.textContent('#peer-id')).toBe(browserId)
    await page.waitForFunction((id) => document.getElementById('peers')?.textContent?.includes(id) === true, ready.peerId, {
      timeout: 10_000,
    })
    await mkdir(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'web-app.png'), fullPage: true })
    expect(errors).toEqual([])

    // A reload keeps the identity (IndexedDB); a second tab of the same browser is another peer.
    await page.reload()
    await page.waitForFunction(() => window.noodle !== undefined, undefined, { timeout: 30_000 })
    expect(await page.evaluate(() => window.noodle?.peerId)).toBe(browserId)
    const second = await context.newPage()
    await second.goto(`${harness.url}/?join=1&bootstrap=${encodeURIComponent(ready.addrs[0])}`)
    await second.waitForFunction(() => window.noodle !== undefined, undefined, { timeout: 30_000 })
    const secondId = await second.evaluate(() => window.noodle?.peerId)
    expect(secondId).toMatch(/^12D3KooW/)
    expect(secondId).not.toBe(browserId)
    await eventually(
      async () => (await nodePeer.api<ApiPeer[]>('/api/peers')).some((peer) => peer.peerId === secondId),
      10_000,
      'the second tab to link',
    )
  })
})
