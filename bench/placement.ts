// Placement decision time: placeTask() over meshes of 10 to 10,000 known peers, each decision timed on its own, with
// a mixed mesh (GPUs, NPUs, kernel lists, prices, suspects and dead peers, full queues), half the peers with learned
// timings, an authorisation predicate, an exclusion set and in-flight counts. The baseline, measured in the same
// run over the same array, is a plain linear min-scan (queue length per core): the floor of any one pass over the
// peers; the ratio is what filtering, the cost model and the strategy add to it.

import {
  type Candidate,
  CostModel,
  candidateFromProfile,
  NodeProfileSchema,
  type PlacementOptions,
  parseTask,
  placeTask,
  type TaskDeclaration,
} from '@noodlenet/shared'
import * as v from 'valibot'
import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { describeMachine, machineLine } from './support/machine.js'
import { random, runFor, type Summary, summarize, timeBlock } from './support/micro-timing.js'
import { formatTable } from './support/table.js'

/** p99 of one decision with 1,000 known peers must stay below this (µs). */
const TARGET_P99_US = 1_000
const TARGET_PEERS = 1_000
const SIZES = [10, 100, 1_000, 10_000]
const KERNELS = ['matmul', 'fft', 'saxpy', 'mandelbrot', 'sha256-search', 'delay']

interface Plan {
  /** Alternating blocks per path and size. */
  blocks: number
  /** Length of one block (ms). */
  blockMs: number
}

const FULL: Plan = { blocks: 10, blockMs: 100 }
const QUICK: Plan = { blocks: 3, blockMs: 20 }

type PathName = 'baseline' | 'placeTask'

interface SizeResult {
  peers: number
  baseline: Summary
  placeTask: Summary
}

export const placementBenchmark: Benchmark = {
  name: 'placement',
  summary: 'placeTask() decision time with 10 to 10,000 known peers vs a plain linear min-scan',
  run,
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL
  const results: SizeResult[] = []
  for (const size of SIZES) {
    const mesh = meshOf(size, random(size))
    let sink = 0
    const paths: Record<PathName, () => void> = {
      baseline: () => {
        sink += minScan(mesh.candidates)
      },
      placeTask: () => {
        sink += placeTask(mesh.task, mesh.candidates, mesh.options).estimate.totalMs
      },
    }
    for (const name of Object.keys(paths) as PathName[]) runFor(paths[name], plan.blockMs * 2) // warm-up
    const samples: Record<PathName, number[]> = { baseline: [], placeTask: [] }
    for (let block = 0; block < plan.blocks; block++) {
      // Alternate which path goes first, so drift (CPU frequency, GC, other load) falls on both alike.
      const order: PathName[] = block % 2 === 0 ? ['baseline', 'placeTask'] : ['placeTask', 'baseline']
      for (const name of order) timeBlock(paths[name], plan.blockMs, samples[name])
    }
    if (Number.isNaN(sink)) throw new Error('no decision made')
    results.push({ peers: size, baseline: summarize(samples.baseline), placeTask: summarize(samples.placeTask) })
    await new Promise((resolve) => setImmediate(resolve))
  }
  return report(results, plan, options)
}

interface Mesh {
  candidates: Candidate[]
  task: TaskDeclaration
  options: PlacementOptions
}

/** A mixed mesh of `size` peers, the same for a given seed. */
function meshOf(size: number, rand: () => number): Mesh {
  const model = new CostModel()
  const candidates: Candidate[] = []
  const excluded = new Set<string>()
  const allowed = new Set<string>()
  const inFlight = new Map<string, number>()
  for (let i = 0; i < size; i++) {
    const peerId = `12D3KooWBenchPeer${i.toString().padStart(6, '0')}`
    const totalMB = 1024 * (1 + Math.floor(rand() * 128))
    const profile = v.parse(NodeProfileSchema, {
      peerId,
      addrs: [],
      version: '0.1.0',
      platform: rand() < 0.5 ? 'node' : 'browser',
      hardware: {
        cpu: { cores: 1 + Math.floor(rand() * 64) },
        memory: { totalMB, freeMB: Math.floor(totalMB * rand()) },
        load: rand(),
        gpus: [],
        npus: rand() < 0.05 ? [{ name: 'npu0', source: 'sysfs' }] : [],
        webgpu: rand() < 0.2 ? webgpu(rand() < 0.2) : undefined,
      },
      load: { connections: 8, tasksRunning: Math.floor(rand() * 8), queueLength: Math.floor(rand() * 32), queueLimit: 32 },
      kernels: rand() < 0.5 ? KERNELS.filter(() => rand() < 0.7) : undefined,
      price: rand() < 0.3 ? rand() * 10 : undefined,
      seq: 1,
      publishedAt: 0,
    })
    const health = rand() < 0.02 ? 'dead' : rand() < 0.1 ? 'suspect' : 'alive'
    const candidate = candidateFromProfile(profile, { health, local: i === 0 })
    candidates.push(candidate)
    if (rand() < 0.5) for (let k = 0; k < 3; k++) model.observe(candidate, 'matmul', 50 + rand() * 500, 65_536)
    model.observeLink(peerId, { rttMs: 1 + rand() * 200, bytesPerSecond: 1e5 + rand() * 1e8 })
    if (rand() < 0.01) excluded.add(peerId)
    if (rand() < 0.95) allowed.add(peerId)
    if (rand() < 0.1) inFlight.set(peerId, 1 + Math.floor(rand() * 4))
  }
  const task = parseTask({ kernel: 'matmul', input: new Float32Array(16_384), requires: { memoryMB: 2048, cpu: 2 }, maxCost: 5 })
  return {
    candidates,
    task,
    options: { model, exclude: excluded, inFlight, authorize: (c) => allowed.has(c.peerId) },
  }
}

function webgpu(fallback: boolean) {
  const limits = {
    maxBufferSize: 2 ** 30,
    maxStorageBufferBindingSize: 2 ** 27,
    maxComputeWorkgroupStorageSize: 16_384,
    maxComputeInvocationsPerWorkgroup: 256,
    maxComputeWorkgroupSizeX: 256,
  }
  return { vendor: 'bench', architecture: '', device: '', description: '', fallback, limits }
}

/** The baseline: the peer with the shortest queue per core, with no filter and no cost model. */
function minScan(candidates: readonly Candidate[]): number {
  let best = -1
  let bestScore = Number.POSITIVE_INFINITY
  for (let i = 0; i < candidates.length; i++) {
    const score = candidates[i].queueLength / candidates[i].cores
    if (score < bestScore) {
      bestScore = score
      best = i
    }
  }
  return best
}

function report(results: SizeResult[], plan: Plan, options: BenchOptions): BenchReport {
  const machine = describeMachine()
  const target = (r: SizeResult): string =>
    r.peers === TARGET_PEERS ? `p99 < ${TARGET_P99_US} µs ${r.placeTask.p99 < TARGET_P99_US ? 'met' : 'MISSED'}` : ''
  const rows = results.map((r) => [
    r.peers,
    r.baseline.p50,
    r.baseline.p99,
    r.placeTask.p50,
    r.placeTask.p99,
    r.placeTask.max,
    r.placeTask.p50 / r.baseline.p50,
    r.placeTask.n,
    target(r),
  ])
  const table = [
    `${placementBenchmark.name}: ${placementBenchmark.summary}`,
    machineLine(machine),
    `one thread; ${plan.blocks} alternating blocks of about ${plan.blockMs} ms per path and size, every decision timed on its own; µs${options.quick ? ' (--quick)' : ''}`,
    '',
    formatTable([
      ['peers', 'min-scan p50', 'min-scan p99', 'placeTask p50', 'placeTask p99', 'max', '× scan p50', 'decisions', 'target'],
      ...rows,
    ]),
  ].join('\n')
  const atTarget = results.find((r) => r.peers === TARGET_PEERS)
  return {
    table,
    json: {
      name: placementBenchmark.name,
      summary: placementBenchmark.summary,
      date: new Date().toISOString(),
      machine,
      quick: options.quick,
      plan,
      unit: 'microseconds per decision',
      target: { peers: TARGET_PEERS, p99Us: TARGET_P99_US },
      meetsTarget: atTarget !== undefined && atTarget.placeTask.p99 < TARGET_P99_US,
      results: results.map((r) => ({ ...r, ratioP50: r.placeTask.p50 / r.baseline.p50 })),
    },
  }
}
