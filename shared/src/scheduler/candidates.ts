// What the scheduler knows about one peer it could place a task on: the numbers from its gossiped NodeProfile,
// flattened once when the profile arrives so that placing a task reads plain fields, plus what this node observes
// itself (health) and whether the peer is this node. Authorisation is not here: it depends on the task, so the
// caller passes a predicate to placeTask().

import type { NodeProfile } from '../net/wire-schemas.js'

/** The failure detector's verdict (health/): suspect peers still qualify but cost more; dead ones never do. */
export type PeerHealth = 'alive' | 'suspect' | 'dead'

/** The kernels entry a peer lists when it runs custom kernels (`custom:<sha256>`, shipped with the task). */
export const CUSTOM_KERNELS = 'custom:*'

export interface Candidate {
  readonly peerId: string
  /** This node itself: no transfer, and the one `local-first` prefers. */
  readonly local: boolean
  readonly health: PeerHealth
  readonly cores: number
  readonly totalMemoryMB: number
  readonly freeMemoryMB: number
  /** A WebGPU device the WGSL kernels can run on. A software adapter (SwiftShader, WARP) counts, as the correct but
   *  slow GPU it is (`gpuFallback`: the cost model gives it no speed-up); a GPU the probe saw without a WebGPU
   *  adapter (a Node peer without Dawn) cannot run WGSL kernels, so it does not. */
  readonly gpu: boolean
  readonly gpuFallback: boolean
  readonly npu: boolean
  /** Load average per core (0 idle, 1 every core busy); 0 where the platform cannot tell. */
  readonly load: number
  /** Tasks waiting in its executors, and how many they hold before answering "busy" (undefined: not advertised). */
  readonly queueLength: number
  readonly queueLimit: number | undefined
  /** Tasks running now. */
  readonly tasksRunning: number
  /** Kernels it runs; undefined when it does not say (older peers), which the scheduler takes as "any". */
  readonly kernels: ReadonlySet<string> | undefined
  /** Cost units per second of compute; 0 is free. */
  readonly price: number
  /** The profile it came from, for custom scoring functions that want more. */
  readonly profile?: NodeProfile
}

export interface CandidateInit {
  health?: PeerHealth
  local?: boolean
}

/** Flattens a gossiped profile into a candidate. Call it when a profile arrives, not per placement. */
export function candidateFromProfile(profile: NodeProfile, init: CandidateInit = {}): Candidate {
  const hardware = profile.hardware
  const webgpu = hardware.webgpu
  return {
    peerId: profile.peerId,
    local: init.local ?? false,
    health: init.health ?? 'alive',
    cores: Math.max(1, hardware.cpu.cores),
    totalMemoryMB: hardware.memory.totalMB,
    freeMemoryMB: Math.min(hardware.memory.freeMB, hardware.memory.totalMB),
    gpu: webgpu !== undefined,
    gpuFallback: webgpu?.fallback === true,
    npu: hardware.npus.length > 0,
    load: hardware.load ?? 0,
    queueLength: profile.load.queueLength,
    queueLimit: profile.load.queueLimit,
    tasksRunning: profile.load.tasksRunning,
    kernels: profile.kernels === undefined ? undefined : new Set(profile.kernels),
    price: profile.price ?? 0,
    profile,
  }
}

/** The same candidate with another health verdict (candidates are immutable, so a directory swaps them). */
export function withHealth(candidate: Candidate, health: PeerHealth): Candidate {
  return candidate.health === health ? candidate : { ...candidate, health }
}

/** Whether `candidate` says it runs `kernel`. */
export function hostsKernel(candidate: Candidate, kernel: string): boolean {
  const kernels = candidate.kernels
  if (kernels === undefined || kernels.has(kernel)) return true
  return kernel.startsWith('custom:') && kernels.has(CUSTOM_KERNELS)
}
