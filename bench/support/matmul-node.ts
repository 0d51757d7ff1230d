// matmul in Node, timed: the CPU kernel in this process (the baseline) against the WGSL kernel on Dawn in its child
// process, alternating. Shared by bench/matmul.ts (512², the adapter Node finds here) and bench/gpu-check (a real
// GPU on a machine that has one).

import { type KernelContext, matmulKernel } from '@noodlenet/shared'
import type { AdapterSummary } from '@noodlenet/webgpu'
import { type DawnAdapterChoice, DawnProcess } from '@noodlenet/webgpu/node'
import { matmulOperands, relativeError } from './matmul-operands.js'

export interface Plan {
  /** Untimed runs per backend first (pipeline compilation, JIT). */
  warmup: number
  /** Timed runs per backend. */
  runs: number
}

export interface Timing {
  medianMs: number
  minMs: number
  maxMs: number
  samplesMs: number[]
}

export interface Place {
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

/** n×n matmul in Node: the CPU kernel against Dawn with the adapter chosen (or, without one, the CPU kernel alone). */
export async function matmulInNode(plan: Plan, n: number, adapter: DawnAdapterChoice, dawn?: DawnProcess): Promise<Place> {
  const input = matmulOperands(n)
  const context: KernelContext = { signal: new AbortController().signal, progress: () => {} }
  const cpu = async (): Promise<number> => {
    const started = performance.now()
    await matmulKernel.run(matmulKernel.validate(input), context)
    return performance.now() - started
  }
  let runner: DawnProcess
  try {
    runner = dawn ?? (await DawnProcess.start({ adapter }))
  } catch (err) {
    return { place: 'Node', unavailable: (err as Error).message, cpu: (await alternate(plan, { cpu })).cpu }
  }
  try {
    const withIpc: number[] = []
    const webgpu = async (): Promise<number> => {
      const started = performance.now()
      const { ms } = await runner.runTimed('matmul', input)
      withIpc.push(performance.now() - started)
      return ms
    }
    const timings = await alternate(plan, { cpu, webgpu })
    const product = (await runner.run('matmul', input)) as number[][]
    return {
      place: 'Node',
      adapter: runner.adapter,
      cpu: timings.cpu,
      webgpu: timings.webgpu,
      webgpuWithIpc: summarize(withIpc.slice(-plan.runs)),
      relativeError: relativeError(product, await matmulKernel.run(matmulKernel.validate(input), context)),
    }
  } finally {
    if (dawn === undefined) await runner.stop()
  }
}

/** Warm-up runs of each, then `plan.runs` rounds in which each backend runs once, the order alternating. */
export async function alternate<K extends string>(plan: Plan, backends: Record<K, () => Promise<number>>): Promise<Record<K, Timing>> {
  const names = Object.keys(backends) as K[]
  for (const name of names) for (let i = 0; i < plan.warmup; i++) await backends[name]()
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>
  for (let round = 0; round < plan.runs; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) samples[name].push(await backends[name]())
  }
  return Object.fromEntries(names.map((name) => [name, summarize(samples[name])])) as Record<K, Timing>
}

export function summarize(samples: number[]): Timing {
  const sorted = samples.toSorted((x, y) => x - y)
  return { medianMs: sorted[Math.floor(sorted.length / 2)], minMs: sorted[0], maxMs: sorted[sorted.length - 1], samplesMs: samples }
}
