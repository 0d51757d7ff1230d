// The bundle budget: what a web app ships when it embeds `noodlenet/browser` stays within 300 KB gzip
// (packages/noodlenet/scripts/bundle-size.ts; the figure is in docs/BENCHMARKS.md and `pnpm bench bundle`).

import { describe, expect, it } from 'vitest'
import { BUNDLE_BUDGET_GZIP_BYTES, measureBrowserBundle } from '../../packages/noodlenet/scripts/bundle-size.js'

describe('noodlenet/browser bundle', () => {
  it('stays within its gzip budget', async () => {
    const size = await measureBrowserBundle()
    const largest = size.largest.map(({ module, bytes }) => `${module} ${(bytes / 1024).toFixed(0)} KB`).join(', ')
    expect(size.gzipBytes, `bundle is ${(size.gzipBytes / 1024).toFixed(1)} KB gzip; largest: ${largest}`).toBeLessThanOrEqual(
      BUNDLE_BUDGET_GZIP_BYTES,
    )
    // One self-contained chunk: nothing the embedding app must fetch separately.
    expect(size.chunks).toBe(1)
  })
})
