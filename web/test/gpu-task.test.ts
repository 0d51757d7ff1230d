// A task that requires a GPU, end to end: a `noodlenet start` process with no GPU submits `matmul --requires gpu`
// through its admin API; the only peer with a WebGPU device is a Chromium tab running the web app (headless
// Chromium's adapter is SwiftShader: a real WebGPU device, in software), which trusts the root that issued the
// submitter's token. The task runs on the tab's GPU and the right product comes back. A task that needs more memory
// than any peer has fails at once with a sentence saying so. A caller's own WGSL shader (`wgsl`) goes to the tab
// without asking for a GPU, since only a peer with WebGPU lists it; it runs with a token that names `wgsl` at
// INTERNAL, and the tab's gate refuses a token for any kernel.

import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, runCli, startPeer } from '../../node/test/support/peer-process.js'
import { WebAppHarness } from './support/browser.js'

let harness: WebAppHarness

beforeAll(async () => {
  harness = await WebAppHarness.start(['--enable-unsafe-webgpu'])
}, 120_000)

afterAll(async () => harness?.close())

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

/** Runs a task until it is placed: until the tab's profile reaches the submitter by presence gossip, it knows no peer
 *  that can run it (TASK_UNPLACEABLE), and tries again. */
async function runOnceKnown(api: string, body: Record<string, unknown>): Promise<TaskRecord> {
  let record: TaskRecord | undefined
  await eventually(
    async () => {
      record = await runTask(api, body)
      if (record.status === 'failed' && record.error?.code !== 'TASK_UNPLACEABLE') throw new Error(JSON.stringify(record.error))
      return record.status === 'done'
    },
    60_000,
    `the ${body.kernel} task to run`,
  )
  return record as TaskRecord
}

/** A root key (`name` in the test folder), a `noodlenet start` submitter with no GPU, and a web-app tab that joins it
 *  and trusts the root; `issue(...flags)` issues a /task/run token from the root to the submitter. */
async function submitterAndTab(name: string) {
  const rootKey = join(harness.dir, name)
  const root = JSON.parse((await runCli(['keygen', '--out', rootKey])).stdout).peerId as string
  const submitter = harness.track(startPeer(['--listen', '/ip4/127.0.0.1/tcp/0/ws']))
  const ready = await submitter.ready
  const ws = ready.addrs.find((addr) => addr.includes('/ws/')) as string
  const issue = async (...flags: string[]): Promise<string> =>
    (
      await runCli(['token', 'issue', '--key', rootKey, '--to', ready.peerId, '--can', '/task/run', '--expires', '10m', ...flags])
    ).stdout.trim()
  const page = await harness.browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(`${harness.url}/?join=1&bootstrap=${encodeURIComponent(ws)}&trust=${root}`)
  await page.waitForFunction(() => window.noodle !== undefined, undefined, { timeout: 30_000 })
  const tabId = (await page.evaluate(() => window.noodle?.peerId)) as string
  return { api: ready.api, issue, page, tabId, errors }
}

/** y[i] = x[i]² + 1 over f32 values, one invocation each. */
const SQUARE_PLUS_ONE = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < arrayLength(&x)) {
    y[id.x] = x[id.x] * x[id.x] + 1.0;
  }
}
`

describe('GPU tasks', () => {
  it('a task that requires a GPU runs on the tab with WebGPU; one that needs too much memory fails clearly', {
    timeout: 180_000,
  }, async () => {
    const { api, issue, page, tabId, errors } = await submitterAndTab('root.key')
    const token = await issue('--kernel', 'matmul')
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
    const record = await runOnceKnown(api, { kernel: 'matmul', input: { a, b }, requires: { gpu: true }, token })
    expect(record).toMatchObject({
      status: 'done',
      peer: tabId,
      backend: 'webgpu',
      result: [
        [58, 64],
        [139, 154],
      ],
    })

    const huge = await runTask(api, { kernel: 'echo', input: 1, requires: { memoryMB: 100_000_000 } })
    expect(huge).toMatchObject({ status: 'failed', error: { code: 'TASK_UNPLACEABLE' } })
    expect(huge.error?.message).toMatch(/needs 100000000 MB of memory; the largest peer has \d+ MB/)
    expect(errors).toEqual([])
  })

  it("a caller's own shader (wgsl) runs on the tab with a token that names wgsl at INTERNAL; one for any kernel is refused", {
    timeout: 180_000,
  }, async () => {
    const { api, issue, page, tabId, errors } = await submitterAndTab('wgsl-root.key')
    const [named, anyKernel, publicOnly] = await Promise.all([
      issue('--kernel', 'wgsl', '--level', 'INTERNAL'),
      issue('--level', 'INTERNAL'),
      issue('--kernel', 'wgsl'),
    ])
    // The tab lists wgsl among its kernels because it has a WebGPU device: that is how the submitter finds it.
    await page.waitForFunction(() => window.noodle?.node.profile().kernels?.includes('wgsl') === true, undefined, { timeout: 30_000 })

    const x = new Float32Array([0, 1, -2, 0.5, 3])
    const input = {
      code: SQUARE_PLUS_ONE,
      workgroups: [1],
      buffers: [{ data: { $bytes: Buffer.from(x.buffer).toString('base64') } }, { size: x.byteLength, output: true }],
    }
    // No `requires.gpu`: only the tab runs wgsl.
    const record = await runOnceKnown(api, { kernel: 'wgsl', input, token: named })
    expect(record).toMatchObject({ status: 'done', peer: tabId, backend: 'webgpu', result: { $bytes: expect.any(String) } })
    const { $bytes } = record.result as { $bytes: string }
    const y = new Float32Array(new Uint8Array(Buffer.from($bytes, 'base64')).buffer)
    expect(Array.from(y)).toEqual(Array.from(x, (value) => Math.fround(value * value + 1)))

    // "Any kernel" does not cover code the caller sends; nor does a token below the kernel's level.
    const refused = await runTask(api, { kernel: 'wgsl', input, token: anyKernel })
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'CAPABILITY_MISSING' } })
    expect(refused.error?.message).toMatch(/wgsl runs code the caller sends.*issue a token with --kernel wgsl/)
    const tooLow = await runTask(api, { kernel: 'wgsl', input, token: publicOnly })
    expect(tooLow).toMatchObject({ status: 'failed', error: { code: 'CAPABILITY_MISSING' } })
    expect(tooLow.error?.message).toMatch(/the request is INTERNAL; the token grants up to PUBLIC/)

    // A shader that does not compile comes back as the tab's typed error.
    const broken = await runTask(api, { kernel: 'wgsl', input: { ...input, code: 'fn main( {' }, token: named })
    expect(broken).toMatchObject({ status: 'failed', error: { code: 'WGSL_INVALID' } })
    expect(errors).toEqual([])
  })
})
