// The mesh dashboard in real Chromium against a mesh of three real `noodlenet start` processes: `/?dashboard`
// joins as an observer (it runs no tasks and is not drawn), its topology graph holds the three peers and their
// links, and after a map job of echo tasks it shows a non-zero task rate and the tasks with the peer that ran them.
// A screenshot goes to test-artifacts/dashboard.png.

import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LOOPBACK, PeerProcess, runCli } from '../../node/test/support/peer-process.js'
import { ARTIFACTS, eventuallyInPage, WebAppHarness } from './support/browser.js'

let harness: WebAppHarness

beforeAll(async () => {
  // sigma.js draws with WebGL: headless Chromium offers it through SwiftShader only when asked.
  harness = await WebAppHarness.start(['--enable-unsafe-swiftshader'])
}, 120_000)

afterAll(async () => harness?.close())

const env = { NOODLE_NET_MONITORING_INTERVAL: '1' }

describe('the mesh dashboard', () => {
  it('shows three peers in the topology, a non-zero task rate after a map job, and who ran each task', async () => {
    const a = harness.track(
      new PeerProcess(['--listen', LOOPBACK, '--listen', '/ip4/127.0.0.1/tcp/0/ws', '--api-port', '0', '--no-mdns'], env),
    )
    const readyA = await a.ready
    const tcp = readyA.addrs.find((addr) => !addr.includes('/ws/')) as string
    const ws = readyA.addrs.find((addr) => addr.includes('/ws/')) as string
    const others = [0, 1].map(() =>
      harness.track(new PeerProcess(['--listen', LOOPBACK, '--api-port', '0', '--no-mdns', '--bootstrap', tcp], env)),
    )
    const ids = [readyA.peerId, ...(await Promise.all(others.map(async (peer) => (await peer.ready).peerId)))]

    const page = await harness.browser.newPage({ viewport: { width: 1280, height: 1400 } })
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(`${harness.url}/?dashboard&monitoring=1&bootstrap=${encodeURIComponent(ws)}`)
    await page.waitForFunction(() => window.noodleDashboard !== undefined, undefined, { timeout: 30_000 })

    await eventuallyInPage(page, () => window.noodleDashboard?.graph.order === 3, '', 30_000, 'the graph to hold the three peers')
    // B and C each link to A at least (the mesh maintainer may add B–C): every peer drawn has a link.
    await eventuallyInPage(page, () => (window.noodleDashboard?.graph.size ?? 0) >= 2, '', 30_000, 'the links between the peers')
    const drawn = await page.evaluate(() => window.noodleDashboard?.graph.nodes().sort())
    expect(drawn).toEqual([...ids].sort())
    const observer = await page.evaluate(() => window.noodleDashboard?.node.peerId.toString())
    expect(drawn).not.toContain(observer)

    // A map job of echo tasks through A's admin API.
    const inputs = join(harness.dir, 'inputs.json')
    await writeFile(inputs, JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ i }))))
    const run = await runCli(['run', 'echo', '--api', readyA.api, '--inputs', `@${inputs}`])
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toHaveLength(300)

    await eventuallyInPage(page, () => (window.noodleDashboard?.stats().peakTaskRate ?? 0) > 0, '', 30_000, 'a non-zero task rate')
    await eventuallyInPage(page, () => (window.noodleDashboard?.stats().tasks ?? 0) > 0, '', 30_000, 'the task list to fill')
    const stats = await page.evaluate(() => window.noodleDashboard?.stats())
    expect(stats).toMatchObject({ nodes: 3, alerts: 0 })
    const [, kernel, ranOn] = await page.locator('#dash-tasks tr').first().locator('td').allTextContents()
    expect(kernel).toBe('echo')
    expect(ids.some((id) => id.endsWith(ranOn.replace('…', '')))).toBe(true)
    expect(await page.locator('#dash-rate').textContent()).toMatch(/peak [1-9]/)
    // The graph was drawn (WebGL canvases inside the container), not only counted.
    expect(await page.locator('#dash-graph canvas').count()).toBeGreaterThan(0)

    await mkdir(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true })
    expect(errors).toEqual([])
    // The contribute page itself never loaded the dashboard's code.
    const plain = await harness.browser.newPage()
    const scripts: string[] = []
    plain.on('request', (req) => scripts.push(req.url()))
    await plain.goto(harness.url)
    await plain.waitForLoadState('networkidle')
    expect(scripts.some((url) => /dashboard/.test(url))).toBe(false)
  })
})
