// The web app's mesh demo: a tab joined to two `noodlenet start` peers renders the Mandelbrot image as 64 tasks the
// scheduler spreads over the mesh (the tab holds a capability token the peers honour), and colours each tile by the
// peer that computed it. Every tile arrives; more than one peer computed them; a screenshot goes to
// test-artifacts/mandelbrot-demo.png.

import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, runCli, startPeer } from '../../node/test/support/peer-process.js'
import { ARTIFACTS, WebAppHarness } from './support/browser.js'

let harness: WebAppHarness

beforeAll(async () => {
  harness = await WebAppHarness.start()
}, 120_000)

afterAll(async () => harness?.close())

describe('the Mandelbrot demo', () => {
  it('renders every tile on the mesh, coloured by the peers that computed them', { timeout: 180_000 }, async () => {
    const rootKey = join(harness.dir, 'root.key')
    const root = JSON.parse((await runCli(['keygen', '--out', rootKey])).stdout).peerId as string
    const first = harness.track(startPeer(['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--trusted-root', root]))
    const ready = await first.ready
    const second = harness.track(startPeer(['--bootstrap', ready.addrs[0], '--trusted-root', root]))
    const readySecond = await second.ready
    const ws = ready.addrs.find((addr) => addr.includes('/ws/')) as string

    const page = await harness.browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(`${harness.url}/?join=1&bootstrap=${encodeURIComponent(ws)}`)
    await page.waitForFunction(() => window.noodle !== undefined, undefined, { timeout: 30_000 })
    const tabId = (await page.evaluate(() => window.noodle?.peerId)) as string
    const token = (
      await runCli(['token', 'issue', '--key', rootKey, '--to', tabId, '--can', '/task/run', '--kernel', 'mandelbrot'])
    ).stdout.trim()
    await page.evaluate((t) => window.noodle?.node.addCapability(t), token)
    // The tab places tiles only on peers whose profiles it has heard.
    await eventually(
      async () =>
        page.evaluate((ids) => ids.every((id) => window.noodle?.node.presence.get(id) !== undefined), [ready.peerId, readySecond.peerId]),
      30_000,
      'the tab to hear both peers',
    )

    const result = (await page.evaluate(() => window.noodle?.mandelbrot())) as { byPeer: Record<string, number>; failed: number }
    expect(result.failed).toBe(0)
    expect(Object.values(result.byPeer).reduce((a, b) => a + b, 0)).toBe(64)
    expect(Object.keys(result.byPeer).length, JSON.stringify(result.byPeer)).toBeGreaterThan(1)
    expect(await page.textContent('#demo-status')).toBe('64 / 64 tiles')
    expect(await page.locator('#demo-legend li').count()).toBe(Object.keys(result.byPeer).length)
    await mkdir(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'mandelbrot-demo.png'), fullPage: true })
    expect(errors).toEqual([])
  })
})
