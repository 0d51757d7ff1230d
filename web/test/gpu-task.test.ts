// A task that requires a GPU, end to end: a `noodlenet start` process with no GPU submits `matmul --requires gpu`
// through its admin API; the only peer with a WebGPU device is a Chromium tab running the web app (headless
// Chromium's adapter is SwiftShader: a real WebGPU device, in software), which trusts the root that issued the
// submitter's token. The task runs on the tab's GPU and the right product comes back. A task that needs more memory
// than any peer has fails at once with a sentence saying so.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type PeerProcess, runCli, startPeer } from '../../node/test/support/peer-process.js'
import { buildWebApp, launchChromium, serveStatic } from './support/browser.js'

let app: Awaited<ReturnType<typeof buildWebApp>>
let server: Awaited<ReturnType<typeof serveStatic>>
let pageUrl: string
let browser: Browser | undefined
let dir: string
const peers: PeerProcess[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noodlenet-gpu-'))
  app = await buildWebApp()
  server = await serveStatic(app.dir)
  pageUrl = server.url
  browser = await launchChromium(['--enable-unsafe-webgpu'])
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await Promise.all(peers.map((peer) => peer.kill()))
  await server?.close()
  await app?.remove()
  await rm(dir, { recursive: true, force: true })
})

interface TaskRecord {
  status: string
  peer?: string
  backend?: string
  result?: unknown
  error?: { code: string; message: string }
}

async function runTask(api: string, body: Record<string, unknown>): Promise<TaskRecord> {
  const posted = await fetch(`${api}/api/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const { id } = (await posted.json()) as { id: string }
  return (await (await fetch(`${api}/api/tasks/${id}?wait=60`)).json()) as TaskRecord
}

describe('GPU tasks', () => {
  it('a task that requires a GPU runs on the tab with WebGPU; one that needs too much memory fails clearly', {
    timeout: 180_000,
  }, async () => {
    const rootKey = join(dir, 'root.key')
    const root = JSON.parse((await runCli(['keygen', '--out', rootKey])).stdout).peerId as string
    const submitter = startPeer(['--listen', '/ip4/127.0.0.1/tcp/0/ws'])
    peers.push(submitter)
    const ready = await submitter.ready
    const ws = ready.addrs.find((addr) => addr.includes('/ws/')) as string
    const token = (
      await runCli([
        'token',
        'issue',
        '--key',
        rootKey,
        '--to',
        ready.peerId,
        '--can',
        '/task/run',
        '--kernel',
        'matmul',
        '--expires',
        '10m',
      ])
    ).stdout.trim()

    const page = await (browser as Browser).newPage()
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(`${pageUrl}/?join=1&bootstrap=${encodeURIComponent(ws)}&trust=${root}`)
    await page.waitForFunction(() => window.noodle !== undefined, undefined, { timeout: 30_000 })
    const tabId = (await page.evaluate(() => window.noodle?.peerId)) as string
    // The tab's profile (with its WebGPU adapter) reaches the submitter by presence gossip.
    expect(await page.evaluate(() => window.noodle?.node.profile().hardware.webgpu?.fallback)).toBe(true)

    const a = [
      [1, 2, 3],
      [4, 5, 6],
    ]
    const b = [
      [7, 8],
      [9, 10],
      [11, 12],
    ]
    let record: TaskRecord | undefined
    await eventually(
      async () => {
        record = await runTask(ready.api, { kernel: 'matmul', input: { a, b }, requires: { gpu: true }, token })
        // Until the tab's profile arrives the submitter knows no GPU peer: TASK_UNPLACEABLE, try again.
        if (record.status === 'failed' && record.error?.code !== 'TASK_UNPLACEABLE') throw new Error(JSON.stringify(record.error))
        return record.status === 'done'
      },
      60_000,
      'the GPU task to run',
    )
    expect(record).toMatchObject({
      status: 'done',
      peer: tabId,
      backend: 'webgpu',
      result: [
        [58, 64],
        [139, 154],
      ],
    })

    const huge = await runTask(ready.api, { kernel: 'echo', input: 1, requires: { memoryMB: 100_000_000 } })
    expect(huge).toMatchObject({ status: 'failed', error: { code: 'TASK_UNPLACEABLE' } })
    expect(huge.error?.message).toMatch(/needs 100000000 MB of memory; the largest peer has \d+ MB/)
    expect(errors).toEqual([])
  })
})
