// Messages between the page and its GPU worker (gpu-worker.ts).

export interface AdapterInfo {
  vendor: string
  architecture: string
  device: string
  description: string
  fallback: boolean
}

export type GpuWorkerRequest =
  | { type: 'start' }
  | { type: 'run'; id: number; kernel: string; input: unknown }
  | { type: 'abort'; id: number }
  | { type: 'destroy' }

export type GpuWorkerReply =
  | { type: 'started'; adapter: AdapterInfo; kernels: readonly string[] }
  | { type: 'unavailable'; error: { code: string; message: string } }
  | { type: 'result'; id: number; output: unknown }
  | { type: 'error'; id: number; error: { code: string; message: string } }
