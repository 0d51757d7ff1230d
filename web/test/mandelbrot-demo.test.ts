// The web app's mesh demo: a tab joined to two `noodlenet start` peers renders the Mandelbrot image as 64 tasks the
// scheduler spreads over the mesh (the tab holds a capability token the peers honour), and colours each tile by the
// peer that computed it. Every tile arrives; more than one peer computed them; a screenshot goes to
// test-artifacts/mandelbrot-demo.png.

import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type PeerProcess, runCli, startPeer } from '../../node/test/support/peer-process.js'
import { ARTIFACTS, buildWebApp, launchChromium, serveStatic } from './support/browser.js'

let app: Awaited<ReturnType<typeof buildWebApp>>
let server: Awaited<ReturnType<typeof serveStatic>>
let browser: Browser | undefined
let dir: string
const peers: PeerProcess[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noodlenet-demo-'))
  app = await buildWebApp()
  server = await serveStatic(app.dir)
  browser = await launchChromium()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await Promise.all(peers.map((peer) => peer.kill()))
  await server?.close()
  await app?.remove()
  await rm(dir, { recursive: true, force: true })
})

describe('the Mandelbrot demo', () => {
  it('renders every tile on the mesh, coloured by the peers that computed them', { timeout: 180_000 }, async () => {
    const rootKey = join(dir, 'root.key')
    const root = JSON.parse((await runCli(['keygen', '--out', rootKey])).stdout).peerId as string
    const first = startPeer(['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--trusted-root', root])
    peers.push(first)
    const ready = await first.ready
    const second = startPeer(['--bootstrap', ready.addrs[0], '--trusted-root', root])
    peers.push(second)
    const readySecond = await second.ready
    const ws = ready.addrs.find((addr) => addr.includes('/ws/')) as string

    const page = await (browser as Browser).newPage()
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(`${server.url}/?join=1&bootstrap=${encodeURIComponent(ws)}`)
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
