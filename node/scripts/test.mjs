// `pnpm test`: type check and lint, then the whole suite (shared in Node and in Chromium, the browser package, the
// Node peer's multi-process tests), then one plain closing line `N passed, N failed, N skipped` that any CI can
// read. Extra arguments go to Vitest (and skip the type check and lint, for quick runs of one file).

import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')
const report = join(root, 'test-artifacts/vitest.json')

const ensure = spawnSync(process.execPath, [join(root, 'node/scripts/ensure-system-packages.mjs')], { stdio: 'inherit' })
if (ensure.status !== 0) process.exit(ensure.status ?? 1)

if (process.argv.length <= 2) {
  for (const [what, args] of [
    ['type check', [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']],
    ['lint', [join(root, 'node_modules/@biomejs/biome/bin/biome'), 'check', '.']],
  ]) {
    console.log(`pnpm test: ${what}...`)
    const step = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root })
    if (step.status !== 0) {
      console.error(`pnpm test: the ${what} failed; fix it before the tests run.`)
      console.log('0 passed, 1 failed, 0 skipped')
      process.exit(1)
    }
  }
}

mkdirSync(dirname(report), { recursive: true })
rmSync(report, { force: true })
const vitest = join(root, 'node_modules/vitest/vitest.mjs')
const run = spawnSync(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: root },
)

let passed = 0
let failed = 0
let skipped = 0
if (existsSync(report)) {
  const results = JSON.parse(readFileSync(report, 'utf8'))
  passed = results.numPassedTests ?? 0
  // A file that fails to load has no failed test but a failed suite: count it, without counting twice the
  // suites whose tests already failed.
  failed = results.numFailedTests ?? 0
  if (failed === 0) failed = results.numFailedTestSuites ?? 0
  skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0)
} else {
  failed = 1
}
const code = run.status ?? 1
if (code !== 0 && failed === 0) failed = 1
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(code)
