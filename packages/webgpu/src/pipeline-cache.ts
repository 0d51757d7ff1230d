// Compiled compute pipelines, one per (device, kernel): compiling WGSL takes milliseconds to hundreds of them, a
// dispatch far less. The cache hangs off the device (a WeakMap), so it lives and dies with it and two runners
// (two nodes in one process) never share one.

const pipelines = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>()

/** The compute pipeline for `code` (entry point `main`) on `device`, compiled once per `key`. */
export function cachedPipeline(device: GPUDevice, key: string, code: string): Promise<GPUComputePipeline> {
  let cache = pipelines.get(device)
  if (cache === undefined) {
    cache = new Map()
    pipelines.set(device, cache)
  }
  let pipeline = cache.get(key)
  if (pipeline === undefined) {
    const module = device.createShaderModule({ label: key, code })
    pipeline = device.createComputePipelineAsync({ label: key, layout: 'auto', compute: { module, entryPoint: 'main' } })
    // A failed compilation is not cached: the next call reports it again rather than a stale rejection.
    pipeline.catch(() => cache.delete(key))
    cache.set(key, pipeline)
  }
  return pipeline
}
