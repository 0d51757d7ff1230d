// `pnpm bench`: runs the benchmarks in bench/, prints each one's table and writes its JSON to
// bench/results/<name>.json. `--quick` for a short smoke run; a name (or part of one) runs only what matches.

import '../node/src/shims.js'
import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { bundleBenchmark } from './bundle.js'
import { failoverBenchmark } from './failover.js'
import { failureDetectionBenchmark } from './failure-detection.js'
import { matmulBenchmark } from './matmul.js'
import { meshScaleBenchmark } from './mesh-scale.js'
import { monitoringBenchmark } from './monitoring.js'
import { placementBenchmark } from './placement.js'
import { routingBenchmark } from './routing.js'
import { rpcRoundTripBenchmark } from './rpc-roundtrip.js'
import { simulationBenchmark } from './simulation.js'
import type { Benchmark } from './support/benchmark.js'
import { updateBenchmarksDoc } from './support/docs-tables.js'
import { tasksBenchmark } from './tasks.js'
import { tokensBenchmark } from './tokens.js'
import { webrtcBenchmark } from './webrtc.js'
import { webrtcBrowserBenchmark } from './webrtc-browser.js'

const BENCHMARKS: Benchmark[] = [
  rpcRoundTripBenchmark,
  tokensBenchmark,
  webrtcBenchmark,
  webrtcBrowserBenchmark,
  placementBenchmark,
  routingBenchmark,
  tasksBenchmark,
  bundleBenchmark,
  matmulBenchmark,
  monitoringBenchmark,
  failureDetectionBenchmark,
  failoverBenchmark,
  meshScaleBenchmark,
  simulationBenchmark,
]
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
const DOC = fileURLToPath(new URL('../docs/BENCHMARKS.md', import.meta.url))

/** The name column of --help: the longest name and two spaces. */
const NAME_WIDTH = Math.max(...BENCHMARKS.map((b) => b.name.length)) + 2

const HELP = `Usage: pnpm bench [--quick] [name...]

Runs NoodleNet's benchmarks, prints a table for each and writes bench/results/<name>.json. A full run also
puts each table into docs/BENCHMARKS.md (its <!-- bench:NAME --> block).

Options:
  --quick     a short run (fewer iterations): a smoke test, not figures to quote; docs are left alone
  --no-docs   do not touch docs/BENCHMARKS.md
  -h, --help  show this help

Benchmarks (a name argument runs those whose name contains it):
${BENCHMARKS.map((b) => `  ${b.name.padEnd(NAME_WIDTH)}${b.summary}`).join('\n')}
`

async function main(): Promise<number> {
  let args: ReturnType<typeof parseCommandLine>
  try {
    args = parseCommandLine()
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`)
    return 2
  }
  if (args.values.help) {
    process.stdout.write(HELP)
    return 0
  }
  const filters = args.positionals
  const selected = BENCHMARKS.filter((b) => filters.length === 0 || filters.some((f) => b.name.includes(f)))
  if (selected.length === 0) {
    process.stderr.write(`No benchmark matches ${filters.join(', ')}.\n\n${HELP}`)
    return 2
  }
  await mkdir(RESULTS, { recursive: true })
  for (const benchmark of selected) {
    const report = await benchmark.run({ quick: args.values.quick })
    process.stdout.write(`${report.table}\n\n`)
    const file = `${RESULTS}${benchmark.name}.json`
    await writeFile(file, `${JSON.stringify(report.json, null, 2)}\n`)
    process.stdout.write(`wrote ${file}\n`)
    if (!args.values.quick && !args.values['no-docs']) {
      await updateBenchmarksDoc(DOC, benchmark.name, report.table)
      process.stdout.write(`updated docs/BENCHMARKS.md (${benchmark.name})\n`)
    }
    process.stdout.write('\n')
  }
  return 0
}

function parseCommandLine() {
  return parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      'no-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  })
}

process.exitCode = await main()
