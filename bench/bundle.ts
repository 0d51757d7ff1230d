// The browser bundle of `noodlenet/browser` (packages/noodlenet/scripts/bundle-size.ts): minified and gzip bytes
// against the 300 KB gzip budget CI holds it to, and the packages that weigh most. Not a timing: the same figure on
// every machine for the same lockfile.

import { BUNDLE_BUDGET_GZIP_BYTES, measureBrowserBundle } from '../packages/noodlenet/scripts/bundle-size.js'
import type { Benchmark, BenchReport } from './support/benchmark.js'
import { formatTable } from './support/table.js'

const kb = (bytes: number): number => Math.round(bytes / 102.4) / 10

export const bundleBenchmark: Benchmark = {
  name: 'bundle',
  summary: 'browser bundle size of noodlenet/browser (entry chunk gzip) against its 300 KB budget',
  async run(): Promise<BenchReport> {
    const size = await measureBrowserBundle()
    const table = [
      'noodlenet/browser bundle (Vite, es2022, minified; gzip level 9)',
      formatTable([
        ['what', 'KB'],
        ['entry chunk, minified', kb(size.entryBytes)],
        ['entry chunk, gzip', kb(size.entryGzipBytes)],
        ['entry gzip budget', kb(BUNDLE_BUDGET_GZIP_BYTES)],
        [`all ${size.chunks} chunks and workers, gzip`, kb(size.gzipBytes)],
      ]),
      '',
      'largest packages (rendered, before minification)',
      formatTable([['package', 'KB'], ...size.largest.map(({ module, bytes }) => [module, kb(bytes)])]),
    ].join('\n')
    return {
      table,
      json: { ...size, budgetGzipBytes: BUNDLE_BUDGET_GZIP_BYTES, withinBudget: size.entryGzipBytes <= BUNDLE_BUDGET_GZIP_BYTES },
    }
  },
}
