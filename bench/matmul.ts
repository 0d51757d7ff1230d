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
import { type KernelContext, matmulKernel } from '@noodlenet/shared'
import type { AdapterSummary } from '@noodlenet/webgpu'
import { DawnProcess } from '@noodlenet/webgpu/node'
import { build } from 'vite'
import { launchChromium } from '../web/test/support/browser.js'
import type { MatmulBackend } from './matmul-page/harness-api.js'
import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { describeMachine, machineLine } from './support/machine.js'
import { matmulOperands, relativeError } from './support/matmul-operands.js'
import { formatTable } from './support/table.js'

const N = 512
const PAGE_ROOT = fileURLToPath(new URL('./matmul-page/', import.meta.url))
/** A made-up origin the page is served from by request interception: localhost, so a secure context (WebGPU). */
const ORIGIN = 'http://localhost:9'

interface Plan {
  /** Untimed runs per backend first (pipeline compilation, JIT). */
  warmup: number
  /** Timed runs per backend. */
  runs: number
}

const FULL: Plan = { warmup: 2, runs: 7 }
const QUICK: Plan = { warmup: 1, runs: 2 }

interface Timing {
  medianMs: number
  minMs: number
  maxMs: number
  samplesMs: number[]
}

interface Place {
  place: 'Chromium' | 'Node'
  adapter?: AdapterSummary
  /** Why WebGPU did not run there. */
  unavailable?: string
  cpu: Timing
  webgpu?: Timing
  /** Node only: the Dawn calls' time as the caller sees it, IPC to the child process included. */
  webgpuWithIpc?: Timing
  /** Largest deviation of the WebGPU product from the CPU kernel's, relative to the largest element. */
  relativeError?: number
}

export const matmulBenchmark: Benchmark = {
  name: 'matmul',
  summary: `matmul ${N}×${N}: WebGPU kernel vs the CPU kernel, in headless Chromium and in Node (Dawn)`,
  run,
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL
  const places = [await inChromium(plan), await inNode(plan)]
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

async function inNode(plan: Plan): Promise<Place> {
  const input = matmulOperands(N)
  const context: KernelContext = { signal: new AbortController().signal, progress: () => {} }
  const cpu = async (): Promise<number> => {
    const started = performance.now()
    await matmulKernel.run(matmulKernel.validate(input), context)
    return performance.now() - started
  }
  let dawn: DawnProcess
  try {
    dawn = await DawnProcess.start({ adapter: 'any' })
  } catch (err) {
    return { place: 'Node', unavailable: (err as Error).message, cpu: (await alternate(plan, { cpu })).cpu }
  }
  try {
    const withIpc: number[] = []
    const webgpu = async (): Promise<number> => {
      const started = performance.now()
      const { ms } = await dawn.runTimed('matmul', input)
      withIpc.push(performance.now() - started)
      return ms
    }
    const timings = await alternate(plan, { cpu, webgpu })
    const product = (await dawn.run('matmul', input)) as number[][]
    return {
      place: 'Node',
      adapter: dawn.adapter,
      cpu: timings.cpu,
      webgpu: timings.webgpu,
      webgpuWithIpc: summarize(withIpc.slice(-plan.runs)),
      relativeError: relativeError(product, await matmulKernel.run(matmulKernel.validate(input), context)),
    }
  } finally {
    await dawn.stop()
  }
}

/** Warm-up runs of each, then `plan.runs` rounds in which each backend runs once, the order alternating. */
async function alternate<K extends string>(plan: Plan, backends: Record<K, () => Promise<number>>): Promise<Record<K, Timing>> {
  const names = Object.keys(backends) as K[]
  for (const name of names) for (let i = 0; i < plan.warmup; i++) await backends[name]()
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>
  for (let round = 0; round < plan.runs; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) samples[name].push(await backends[name]())
  }
  return Object.fromEntries(names.map((name) => [name, summarize(samples[name])])) as Record<K, Timing>
}

function summarize(samples: number[]): Timing {
  const sorted = samples.toSorted((x, y) => x - y)
  return { medianMs: sorted[Math.floor(sorted.length / 2)], minMs: sorted[0], maxMs: sorted[sorted.length - 1], samplesMs: samples }
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
          'and its time says what emulation costs, not what a GPU gains. Real-GPU figures need a machine with a GPU.',
        ]
      : []),
  ].join('\n')
  return { table, json: { n: N, machine, plan, quick: options.quick, places } }
}
