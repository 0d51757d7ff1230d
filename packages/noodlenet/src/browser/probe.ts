// The browser hardware probe: logical cores, device memory (the browser rounds it and caps it at 8 GB), and the
// WebGPU adapter with its limits when the browser exposes one. Every source is optional.

import type { HardwareProfile, WebGpuAdapter } from '@noodlenet/shared'

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean }
  isFallbackAdapter?: boolean
  limits: Record<string, number>
}

interface NavigatorLike {
  hardwareConcurrency?: number
  deviceMemory?: number
  userAgent?: string
  gpu?: { requestAdapter(options?: unknown): Promise<GpuAdapterLike | null> }
}

export async function probeBrowserHardware(nav: NavigatorLike = navigator as NavigatorLike): Promise<HardwareProfile> {
  const cores = nav.hardwareConcurrency ?? 1
  const memoryMB = nav.deviceMemory === undefined ? 0 : Math.round(nav.deviceMemory * 1024)
  const webgpu = await probeWebGpu(nav)
  return {
    cpu: { cores, model: undefined, arch: undefined },
    // The browser tells total memory only, coarsely; free memory it does not tell at all.
    memory: { totalMB: memoryMB, freeMB: memoryMB },
    gpus:
      webgpu === undefined || webgpu.fallback
        ? []
        : [
            {
              vendor: webgpu.vendor || 'unknown',
              name: webgpu.description || webgpu.device || webgpu.architecture || 'WebGPU adapter',
              source: 'webgpu',
            },
          ],
    npus: [],
    webgpu,
  }
}

async function probeWebGpu(nav: NavigatorLike): Promise<WebGpuAdapter | undefined> {
  if (nav.gpu === undefined) return undefined
  let adapter: GpuAdapterLike | null
  try {
    adapter = await nav.gpu.requestAdapter()
  } catch {
    return undefined
  }
  if (adapter === null) return undefined
  const info = adapter.info ?? {}
  const limits = adapter.limits
  return {
    vendor: (info.vendor ?? '').slice(0, 128),
    architecture: (info.architecture ?? '').slice(0, 128),
    device: (info.device ?? '').slice(0, 128),
    description: (info.description ?? '').slice(0, 256),
    fallback: info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false,
    limits: {
      maxBufferSize: Number(limits.maxBufferSize ?? 0),
      maxStorageBufferBindingSize: Number(limits.maxStorageBufferBindingSize ?? 0),
      maxComputeWorkgroupStorageSize: Number(limits.maxComputeWorkgroupStorageSize ?? 0),
      maxComputeInvocationsPerWorkgroup: Number(limits.maxComputeInvocationsPerWorkgroup ?? 0),
      maxComputeWorkgroupSizeX: Number(limits.maxComputeWorkgroupSizeX ?? 0),
    },
  }
}
