// What the matmul benchmark page (harness.ts) offers bench/matmul.ts through Playwright: `window.matmulBench`.

import type { AdapterSummary } from '@noodlenet/webgpu'

export type MatmulBackend = 'cpu' | 'webgpu'

export interface MatmulHarness {
  /** Requests the WebGPU device; its adapter, or why there is none. */
  start(): Promise<{ adapter: AdapterSummary } | { unavailable: string }>
  /** One n×n matmul through the kernel on `backend` (validation, transfers and output included): its time in ms. */
  run(backend: MatmulBackend, n: number): Promise<number>
  /** The WebGPU product's largest deviation from the CPU kernel's, relative to the largest element. */
  relativeError(n: number): Promise<number>
}

declare global {
  interface Window {
    matmulBench?: MatmulHarness
  }
}
