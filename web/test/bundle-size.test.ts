// The bundle budget: what every page that embeds `noodlenet/browser` loads (the entry chunk) stays within 300 KB
// gzip; the WebGPU kernels load on demand, where there is a GPU (packages/noodlenet/scripts/bundle-size.ts; the
// figures are in docs/BENCHMARKS.md and `pnpm bench bundle`).

import { describe, expect, it } from 'vitest'
import { BUNDLE_BUDGET_GZIP_BYTES, measureBrowserBundle } from '../../packages/noodlenet/scripts/bundle-size.js'

describe('noodlenet/browser bundle', () => {
  it('keeps its entry chunk within the gzip budget', async () => {
    const size = await measureBrowserBundle()
    const largest = size.largest.map(({ module, bytes }) => `${module} ${(bytes / 1024).toFixed(0)} KB`).join(', ')
    expect(size.entryGzipBytes, `entry is ${(size.entryGzipBytes / 1024).toFixed(1)} KB gzip; largest: ${largest}`).toBeLessThanOrEqual(
      BUNDLE_BUDGET_GZIP_BYTES,
    )
    // The WebGPU kernels (webgpu-utils and the WGSL) are not in the entry: pages without a GPU never load them.
    expect(size.chunks).toBeGreaterThan(1)
  })
})
