// A hidden (throttled) browser tab and the failure detector: a real `noodlenet start` peer and two tabs of the web
// app joined to it over WebSockets. What this can and cannot show: headless Chromium keeps every page 'visible'
// (bringing another page to the front does not hide one; checked), so the "hidden" tab's document.visibilityState
// is overridden in the page, which is the flag path only: the browser platform reads it at each presence publish
// and the tab's profile says `throttled`. Its slowness is made real in two ways: its renderer's CPU is throttled
// 6x through CDP (Emulation.setCPUThrottlingRate) while it is "hidden", and it never gets suspected; then both tabs
// are frozen at once, their main threads paused through CDP (Debugger.pause; Page.setWebLifecycleState 'frozen' did
// not stop a headless page answering): no task, no ping answer, no gossip, as in a tab Chromium froze. The Node peer declares the visible one dead, and at that moment the throttled one, silent
// just as long, is still alive: the wider window applies. Unfrozen, both are alive again.

import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, PeerProcess } from '../../node/test/support/peer-process.js'
import { WebAppHarness } from './support/browser.js'

interface HealthRow {
  peerId: string
  state: 'alive' | 'suspect' | 'dead'
  phi: number
  silenceMs: number
  throttled: boolean
}

let harness: WebAppHarness

beforeAll(async () => {
  harness = await WebAppHarness.start()
}, 120_000)

afterAll(async () => harness?.close())

function verdicts(peer: PeerProcess, remotePeer: string): string[] {
  return peer.stderr
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record.remotePeer === remotePeer && (record.msg === 'peer suspect' || record.msg === 'peer dead'))
    .map((record) => String(record.msg))
}

describe('a hidden browser tab', () => {
  it('is not suspected while it answers, and gets the wider window when it goes silent', { timeout: 180_000 }, async () => {
    const nodePeer = harness.track(new PeerProcess(['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--api-port', '0', '--no-mdns']))
    const ready = await nodePeer.ready
    const health = () => nodePeer.api<HealthRow[]>('/api/health/peers')
    const join = async (): Promise<{ page: Page; peerId: string }> => {
      const context = await harness.browser.newContext()
      const page = await context.newPage()
      await page.goto(`${harness.url}/?join=1&bootstrap=${encodeURIComponent(ready.addrs[0])}`)
      await eventually(async () => (await page.evaluate(() => window.noodle?.peerId)) !== undefined, 30_000, 'the tab to start its node')
      const peerId = (await page.evaluate(() => window.noodle?.peerId)) as string
      await eventually(
        async () => (await health()).some((row) => row.peerId === peerId && row.state === 'alive'),
        30_000,
        'the Node peer to track the tab',
      )
      return { page, peerId }
    }
    const hidden = await join()
    const visible = await join()

    // "Hide" the first tab: its document says hidden from now on, and its renderer runs 6x slower.
    await hidden.page.evaluate(() => Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' }))
    const sessions = await Promise.all([hidden, visible].map(({ page }) => page.context().newCDPSession(page)))
    await sessions[0].send('Emulation.setCPUThrottlingRate', { rate: 6 })
    await eventually(
      async () => (await health()).some((row) => row.peerId === hidden.peerId && row.throttled),
      30_000,
      "the hidden tab's profile to say throttled",
    )
    // Hidden and slowed, it still answers pings and gossips: over 20 s the Node peer never suspects it.
    const hiddenFrom = Date.now()
    while (Date.now() - hiddenFrom < 20_000) await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(verdicts(nodePeer, hidden.peerId)).toEqual([])
    expect((await health()).find((row) => row.peerId === visible.peerId)?.throttled).toBe(false)

    // Both tabs frozen at once (main threads paused): neither runs a task, answers a ping or gossips.
    const frozenAt = Date.now()
    await Promise.all(sessions.map((cdp) => cdp.send('Debugger.enable')))
    await Promise.all(sessions.map((cdp) => cdp.send('Debugger.pause')))
    const dead = await nodePeer.logRecord((r) => r.msg === 'peer dead' && r.remotePeer === visible.peerId, 60_000)
    const rows = await health()
    const hiddenRow = rows.find((row) => row.peerId === hidden.peerId)
    console.log(
      `throttled tab: the visible tab was declared dead ${Date.parse(String(dead.time)) - frozenAt} ms after both froze; ` +
        `the hidden one then: ${hiddenRow?.state}, phi ${hiddenRow?.phi}, silent ${hiddenRow?.silenceMs} ms`,
    )
    expect(hiddenRow?.state).toBe('alive')
    expect(verdicts(nodePeer, hidden.peerId)).toEqual([])

    await Promise.all(sessions.map((cdp) => cdp.send('Debugger.resume')))
    await eventually(
      async () => (await health()).every((row) => row.state === 'alive'),
      30_000,
      'both tabs to be alive again once unfrozen',
    )
  })
})
