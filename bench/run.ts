// `pnpm bench`: runs the benchmarks in bench/, each in a process of its own, prints each one's table and writes its
// JSON to bench/results/<name>.json. `--quick` for a short smoke run; a name (or part of one) runs only what matches.

import '../node/src/shims.js'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Benchmark } from './support/benchmark.js'
import { updateBenchmarksDoc } from './support/docs-tables.js'

/** Every benchmark by its name (its file in bench/), loaded only when it runs or --help lists it. A benchmark runs in a
 *  process that has loaded no other benchmark's modules: with all of them imported up front, `tasks` measured its
 *  16 MB echo beside ~60 MB of vite's and rolldown's source kept alive in the heap, and every major GC took about
 *  twice as long as in a process of its own (docs/BENCHMARKS.md, tasks). */
const BENCHMARKS: Record<string, () => Promise<Benchmark>> = {
  'rpc-roundtrip': async () => (await import('./rpc-roundtrip.js')).rpcRoundTripBenchmark,
  tokens: async () => (await import('./tokens.js')).tokensBenchmark,
  webrtc: async () => (await import('./webrtc.js')).webrtcBenchmark,
  'webrtc-browser': async () => (await import('./webrtc-browser.js')).webrtcBrowserBenchmark,
  placement: async () => (await import('./placement.js')).placementBenchmark,
  routing: async () => (await import('./routing.js')).routingBenchmark,
  tasks: async () => (await import('./tasks.js')).tasksBenchmark,
  bundle: async () => (await import('./bundle.js')).bundleBenchmark,
  matmul: async () => (await import('./matmul.js')).matmulBenchmark,
  monitoring: async () => (await import('./monitoring.js')).monitoringBenchmark,
  'failure-detection': async () => (await import('./failure-detection.js')).failureDetectionBenchmark,
  failover: async () => (await import('./failover.js')).failoverBenchmark,
  'mesh-scale': async () => (await import('./mesh-scale.js')).meshScaleBenchmark,
  simulation: async () => (await import('./simulation.js')).simulationBenchmark,
}
const NAMES = Object.keys(BENCHMARKS)
const SCRIPT = fileURLToPath(import.meta.url)
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
const DOC = fileURLToPath(new URL('../docs/BENCHMARKS.md', import.meta.url))

/** The name column of --help: the longest name and two spaces. */
const NAME_WIDTH = Math.max(...NAMES.map((name) => name.length)) + 2

/** The benchmark of this name, its module loaded. */
async function load(name: string): Promise<Benchmark> {
  const benchmark = await BENCHMARKS[name]()
  if (benchmark.name !== name) throw new Error(`bench/run.ts lists ${benchmark.name} as ${name}`)
  return benchmark
}

async function help(): Promise<string> {
  const listed: string[] = []
  for (const name of NAMES) listed.push(`  ${name.padEnd(NAME_WIDTH)}${(await load(name)).summary}`)
  return `Usage: pnpm bench [--quick] [--no-docs] [--exact] [name...]

Runs NoodleNet's benchmarks, prints a table for each and writes bench/results/<name>.json. A full run also
puts each table into docs/BENCHMARKS.md (its <!-- bench:NAME --> block). Each benchmark runs in a Node process
of its own (with this one's Node flags), one after the other.

Options:
  --quick     a short run (fewer iterations): a smoke test, not figures to quote; docs are left alone
  --no-docs   do not touch docs/BENCHMARKS.md
  --exact     a name argument runs the benchmark of exactly that name
  -h, --help  show this help

Benchmarks (a name argument runs those whose name contains it):
${listed.join('\n')}
`
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseCommandLine>
  try {
    args = parseCommandLine()
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${await help()}`)
    return 2
  }
  if (args.values.help) {
    process.stdout.write(await help())
    return 0
  }
  const filters = args.positionals
  const matches = (name: string, filter: string) => (args.values.exact ? name === filter : name.includes(filter))
  const selected = NAMES.filter((name) => filters.length === 0 || filters.some((filter) => matches(name, filter)))
  if (selected.length === 0) {
    process.stderr.write(`No benchmark matches ${filters.join(', ')}.\n\n${await help()}`)
    return 2
  }
  if (selected.length === 1) return runHere(selected[0], args.values)
  let failed = 0
  for (const name of selected) if ((await runInChild(name, args.values)) !== 0) failed++
  return failed === 0 ? 0 : 1
}

/** Runs one benchmark in this process: prints its table, writes its JSON and, for a full run, its docs block. */
async function runHere(name: string, flags: Flags): Promise<number> {
  const benchmark = await load(name)
  const report = await benchmark.run({ quick: flags.quick })
  process.stdout.write(`${report.table}\n\n`)
  await mkdir(RESULTS, { recursive: true })
  const file = `${RESULTS}${benchmark.name}.json`
  await writeFile(file, `${JSON.stringify(report.json, null, 2)}\n`)
  process.stdout.write(`wrote ${file}\n`)
  if (!flags.quick && !flags['no-docs']) {
    await updateBenchmarksDoc(DOC, benchmark.name, report.table)
    process.stdout.write(`updated docs/BENCHMARKS.md (${benchmark.name})\n`)
  }
  process.stdout.write('\n')
  return 0
}

/** Runs one benchmark in a child process (this script with `--exact NAME`, this process's Node flags) and returns
 *  its exit code; its output goes straight to this process's stdout and stderr. */
async function runInChild(name: string, flags: Flags): Promise<number> {
  const passed = [...(flags.quick ? ['--quick'] : []), ...(flags['no-docs'] ? ['--no-docs'] : [])]
  const child = spawn(process.execPath, [...process.execArgv, SCRIPT, ...passed, '--exact', name], { stdio: 'inherit' })
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null]
  if (code === 0) return 0
  process.stderr.write(`bench ${name} ${signal === null ? `exited with code ${code}` : `was killed by ${signal}`}\n\n`)
  return code ?? 1
}

type Flags = ReturnType<typeof parseCommandLine>['values']

function parseCommandLine() {
  return parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      'no-docs': { type: 'boolean', default: false },
      exact: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  })
}

process.exitCode = await main()
