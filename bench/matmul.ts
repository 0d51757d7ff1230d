// matmul 512×512: the WebGPU kernel against the CPU kernel (the baseline) in the same place, twice: in one headless
// Chromium tab (navigator.gpu), and in Node (the CPU kernel in this process, Dawn in its child process) where an
// adapter exists. Each time is a whole kernel call as a task makes it: validation, upload, dispatch, readback and
// the number[][] output. Runs alternate between the backends so that drift falls on both alike; the figure is the
// ratio of medians. Here both WebGPU adapters are SwiftShader, a CPU emulation of a GPU: WebGPU is a correctness
// backend on this machine, and the ratio says what it costs, not what a GPU gains.

import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AdapterSummary } from '@noodlenet/webgpu'
import { build } from 'vite'
import { launchChromium } from '../web/test/support/browser.js'
import type { MatmulBackend } from './matmul-page/harness-api.js'
import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { describeMachine, machineLine } from './support/machine.js'
import { alternate, matmulInNode, type Place, type Plan, type Timing } from './support/matmul-node.js'
import { formatTable } from './support/table.js'

const N = 512
const PAGE_ROOT = fileURLToPath(new URL('./matmul-page/', import.meta.url))
/** A made-up origin the page is served from by request interception: localhost, so a secure context (WebGPU). */
const ORIGIN = 'http://localhost:9'

const FULL: Plan = { warmup: 2, runs: 7 }
const QUICK: Plan = { warmup: 1, runs: 2 }

export const matmulBenchmark: Benchmark = {
  name: 'matmul',
  summary: `matmul ${N}×${N}: WebGPU kernel vs the CPU kernel, in headless Chromium and in Node (Dawn)`,
  run,
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL
  const places = [await inChromium(plan), await matmulInNode(plan, N, 'any')]
  return report(places, plan, options)
}

async function inChromium(plan: Plan): Promise<Place> {
  const dir = await mkdtemp(join(tmpdir(), 'noodlenet-bench-matmul-'))
  const browser = await launchChromium(['--enable-unsafe-webgpu'])
  try {
    await build({
      root: PAGE_ROOT,
      configFile: false,
      logLevel: 'warn',
      build: { outDir: dir, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4_000 },
    })
    const page = await browser.newPage()
    await page.route(`${ORIGIN}/**`, async (route) => {
      const path = normalize(new URL(route.request().url()).pathname).replace(/^\/+/, '') || 'index.html'
      const body = path.startsWith('..') ? undefined : await readFile(join(dir, path)).catch(() => undefined)
      if (body === undefined) return route.fulfill({ status: 404 })
      await route.fulfill({ body, contentType: extname(path) === '.html' ? 'text/html' : 'text/javascript' })
    })
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(`${ORIGIN}/`)
    await page
      .waitForFunction(() => window.matmulBench !== undefined, undefined, { timeout: 30_000 })
      .catch(() => {
        throw new Error(`the benchmark page did not load: ${errors.join('; ') || 'no error reported'}`)
      })
    const started = await page.evaluate(() => window.matmulBench!.start())
    const timeOne = (backend: MatmulBackend) => page.evaluate(({ backend, n }) => window.matmulBench!.run(backend, n), { backend, n: N })
    if ('unavailable' in started) {
      return {
        place: 'Chromium',
        unavailable: started.unavailable,
        cpu: await alternate(plan, { cpu: () => timeOne('cpu') }).then((t) => t.cpu),
      }
    }
    const timings = await alternate(plan, { cpu: () => timeOne('cpu'), webgpu: () => timeOne('webgpu') })
    return {
      place: 'Chromium',
      adapter: started.adapter,
      cpu: timings.cpu,
      webgpu: timings.webgpu,
      relativeError: await page.evaluate((n) => window.matmulBench!.relativeError(n), N),
    }
  } finally {
    await browser.close()
    await rm(dir, { recursive: true, force: true })
  }
}

function report(places: Place[], plan: Plan, options: BenchOptions): BenchReport {
  const machine = describeMachine()
  const gflops = (ms: number): number => (2 * N ** 3) / (ms * 1e6)
  const adapterName = (adapter: AdapterSummary | undefined): string =>
    adapter === undefined ? '' : `${adapter.vendor} ${adapter.architecture}${adapter.fallback ? ', software' : ''}`.trim()
  const rows: Array<Array<string | number>> = []
  for (const place of places) {
    const row = (backend: string, timing: Timing): Array<string | number> => [
      place.place,
      backend,
      timing.medianMs,
      timing.minMs,
      timing.maxMs,
      gflops(timing.medianMs),
      timing.medianMs / place.cpu.medianMs,
    ]
    rows.push(row('cpu kernel (baseline)', place.cpu))
    if (place.webgpu === undefined) rows.push([place.place, `webgpu: not run (${place.unavailable})`, '', '', '', '', ''])
    else {
      rows.push(row(`webgpu (${adapterName(place.adapter)})`, place.webgpu))
      if (place.webgpuWithIpc !== undefined) rows.push(row('  same, with IPC to the Dawn process', place.webgpuWithIpc))
    }
  }
  const errors = places
    .filter((p) => p.relativeError !== undefined)
    .map((p) => `${p.place} ${p.relativeError!.toExponential(1)}`)
    .join(', ')
  const software = places.some((p) => p.adapter?.fallback)
  const table = [
    `${matmulBenchmark.name}: ${matmulBenchmark.summary}`,
    machineLine(machine),
    `${plan.warmup} warm-up and ${plan.runs} timed calls per backend, alternating; times are whole kernel calls (validation, transfers, output)${options.quick ? ' (--quick)' : ''}`,
    '',
    formatTable([['where', 'backend', 'median ms', 'min', 'max', 'GFLOP/s', '× cpu time'], ...rows]),
    '',
    `WebGPU product vs the CPU kernel's, largest deviation relative to the largest element (f32 vs f64): ${errors || 'n/a'}`,
    ...(software
      ? [
          'The WebGPU adapters here are SwiftShader, a CPU emulation of a GPU: WebGPU is a correctness backend on this machine,',
          'and its time says what emulation costs, not what a GPU gains. On a machine with a GPU: bench/gpu-check (KERNELS.md).',
        ]
      : []),
  ].join('\n')
  return { table, json: { n: N, machine, plan, quick: options.quick, places } }
}
