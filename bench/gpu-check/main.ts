// The WebGPU kernels on whatever GPU this machine has, through Dawn, with nothing but Node installed: the kernel
// compliance suite that CI runs (packages/webgpu/test/kernels.test.ts, the same file, through vitest-shim.ts) and
// matmul timed against the CPU kernel (support/matmul-node.ts, as bench/matmul.ts does). pack.mjs bundles this
// with Node, Dawn and the Vulkan loader into one folder for a GPU machine that has none of them
// (docs/BENCHMARKS.md, "matmul on a real GPU").
//
//   node main.mjs [RESULT.json]   env: GPU_CHECK_SIZES (default 256,512,1024: matmul's
//   largest operand is 1024²), GPU_CHECK_ADAPTER (system|any|swiftshader)

import { writeFile } from 'node:fs/promises'
import type { DawnAdapterChoice } from '@noodlenet/webgpu/node'
import { DawnProcess } from '@noodlenet/webgpu/node'
import {
  FUSIONS,
  MANDELBROT_BOUNDARY_ZOOM,
  mandelbrotDeviation,
  mandelbrotF32,
  UNFUSED,
} from '../../packages/webgpu/test/kernel-compliance.js'
import { describeMachine, machineLine } from '../support/machine.js'
import { matmulInNode, type Place, type Plan } from '../support/matmul-node.js'
import { formatTable } from '../support/table.js'
import { type Outcome, runDeclared } from './vitest-shim.js'

// Declares the suite's tests (a dynamic import: the package says it has no side effects, and a bare import would be
// dropped from the bundle).
await import('../../packages/webgpu/test/kernels.test.js')

const PLAN: Plan = { warmup: 2, runs: 7 }
const sizes = (process.env.GPU_CHECK_SIZES ?? '256,512,1024').split(',').map(Number)
const adapter = (process.env.GPU_CHECK_ADAPTER ?? 'system') as DawnAdapterChoice
const machine = describeMachine()
process.stdout.write(`${machineLine(machine)}\n\nkernel compliance (packages/webgpu/test/kernels.test.ts):\n`)

const outcomes: Outcome[] = await runDeclared((o) =>
  process.stdout.write(`  ${o.result.padEnd(7)} ${o.name}${o.error === undefined ? '' : `\n          ${o.error.split('\n')[0]}`}\n`),
)
const count = (result: Outcome['result']) => outcomes.filter((o) => o.result === result).length
process.stdout.write(`  ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped\n\n`)

const places: Array<Place & { n: number }> = []
let dawn: DawnProcess | undefined
try {
  dawn = await DawnProcess.start({ adapter })
  process.stdout.write(`Dawn adapter: ${JSON.stringify(dawn.adapter)}\n`)
} catch (err) {
  process.stdout.write(`Dawn (${adapter}) unavailable: ${(err as Error).message}\n`)
}
// Which multiply-adds this GPU fuses, read off the compliance suite's chaotic tile: how many pixels differ from the
// CPU kernel, and how many match each fused variant the tolerance allows for.
const ZOOM = MANDELBROT_BOUNDARY_ZOOM
let mandelbrot: Record<string, unknown> | undefined
if (dawn !== undefined) {
  const gpu = (await dawn.run('mandelbrot', ZOOM)) as number[]
  const cpu = mandelbrotF32(ZOOM, UNFUSED)
  const equal = (counts: number[]) => counts.filter((count, i) => count === gpu[i]).length
  mandelbrot = {
    ...mandelbrotDeviation(gpu, cpu, ZOOM),
    equalTo: {
      unfused: equal(cpu),
      ...Object.fromEntries(FUSIONS.map((fusion) => [JSON.stringify(fusion), equal(mandelbrotF32(ZOOM, fusion))])),
    },
  }
  process.stdout.write(`mandelbrot boundary zoom 64×64, 500 iterations, on this GPU: ${JSON.stringify(mandelbrot)}\n`)
}
for (const n of sizes) {
  places.push({ n, ...(await matmulInNode(PLAN, n, adapter, dawn)) })
  process.stdout.write(`matmul ${n}² done\n`)
}
await dawn?.stop()

const gflops = (n: number, ms: number): number => (2 * n ** 3) / (ms * 1e6)
const rows: Array<Array<string | number>> = []
for (const { n, cpu, webgpu, webgpuWithIpc, relativeError } of places) {
  const row = (backend: string, t: typeof cpu) => [
    n,
    backend,
    t.medianMs,
    t.minMs,
    t.maxMs,
    gflops(n, t.medianMs),
    t.medianMs / cpu.medianMs,
  ]
  rows.push(row('cpu kernel (baseline)', cpu))
  if (webgpu !== undefined) rows.push(row('webgpu (Dawn)', webgpu))
  if (webgpuWithIpc !== undefined) rows.push(row('  same, with IPC to the Dawn process', webgpuWithIpc))
  if (relativeError !== undefined) rows.push([n, `relative error vs cpu ${relativeError.toExponential(1)}`, '', '', '', '', ''])
}
process.stdout.write(
  `\nmatmul: ${PLAN.warmup} warm-up and ${PLAN.runs} timed calls per backend, alternating; whole kernel calls (validation,\ntransfers, output)\n${formatTable([['n', 'backend', 'median ms', 'min', 'max', 'GFLOP/s', '× cpu time'], ...rows])}\n`,
)
const out = process.argv[2]
if (out !== undefined)
  await writeFile(out, `${JSON.stringify({ machine, adapter: dawn?.adapter, plan: PLAN, outcomes, mandelbrot, places }, null, 2)}\n`)
process.exit(count('failed') === 0 ? 0 : 1)
