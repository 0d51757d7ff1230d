// Peers for the scheduler tests: NodeProfiles as presence gossip delivers them, described by what matters to placement.

import * as v from 'valibot'
import { type Candidate, type CandidateInit, candidateFromProfile, type NodeProfile, NodeProfileSchema } from '../src/index.js'

export interface PeerSpec extends CandidateInit {
  cores?: number
  totalMB?: number
  freeMB?: number
  /** A real WebGPU adapter; 'fallback' for a software one. */
  webgpu?: boolean | 'fallback'
  /** GPUs the OS probe saw (without WebGPU they cannot run WGSL kernels). */
  nativeGpus?: number
  npus?: number
  load?: number
  queueLength?: number
  queueLimit?: number
  tasksRunning?: number
  kernels?: string[]
  price?: number
}

/** A profile as it arrives from gossip (validated by the wire schema), for a peer described by `spec`. */
export function profileOf(peerId: string, spec: PeerSpec = {}): NodeProfile {
  const totalMB = spec.totalMB ?? 8192
  return v.parse(NodeProfileSchema, {
    peerId,
    addrs: [],
    version: '0.1.0',
    platform: 'node',
    hardware: {
      cpu: { cores: spec.cores ?? 4 },
      memory: { totalMB, freeMB: spec.freeMB ?? totalMB },
      load: spec.load,
      gpus: Array.from({ length: spec.nativeGpus ?? 0 }, (_, i) => ({ vendor: 'nvidia', name: `GPU ${i}`, source: 'nvidia-smi' })),
      npus: Array.from({ length: spec.npus ?? 0 }, (_, i) => ({ name: `npu${i}`, source: 'sysfs' })),
      webgpu:
        spec.webgpu === undefined || spec.webgpu === false
          ? undefined
          : {
              vendor: 'nvidia',
              architecture: 'ampere',
              device: '',
              description: '',
              fallback: spec.webgpu === 'fallback',
              limits: {
                maxBufferSize: 2 ** 30,
                maxStorageBufferBindingSize: 2 ** 27,
                maxComputeWorkgroupStorageSize: 16_384,
                maxComputeInvocationsPerWorkgroup: 256,
                maxComputeWorkgroupSizeX: 256,
              },
            },
    },
    load: { connections: 1, tasksRunning: spec.tasksRunning ?? 0, queueLength: spec.queueLength ?? 0, queueLimit: spec.queueLimit },
    kernels: spec.kernels,
    price: spec.price,
    seq: 1,
    publishedAt: 0,
  })
}

export function peer(peerId: string, spec: PeerSpec = {}): Candidate {
  return candidateFromProfile(profileOf(peerId, spec), spec)
}

// Real peer ids, for tasks pinned with `peer` (the declaration checks the syntax).
export const ALICE = '12D3KooWD9jk64NrpygXV6VXQYSnXeLPFhywDGgB5p7apEoK7sKC'
export const BOB = '12D3KooWN9upN3sZnpfctXFfQKDBQb3ciY7w6yXxYdD7vPreQAbk'
export const CAROL = '12D3KooWNEkHSU3SuUh38cPYstJMJHvbuEWLYRucj5JvXxg2HZUs'

/** A clock the test moves by hand. */
export class Clock {
  constructor(public ms = 1_000_000) {}
  readonly now = (): number => this.ms
  advance(ms: number): void {
    this.ms += ms
  }
}
