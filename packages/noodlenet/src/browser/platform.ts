// The browser Platform: WebSockets (dial only: a tab cannot listen), WebRTC through the signalling servers in
// config.network.signaling (packages/webrtc over the browser's RTCPeerConnection; the tab listens there),
// IndexedDB for the audit log and revocations, the browser hardware probe, Web Workers for CPU kernels and the
// page's WebGPU device for GPU kernels (packages/webgpu), and log lines to the console.

import type { ConnectionGater } from '@libp2p/interface'
import { webSockets } from '@libp2p/websockets'
import type { HardwareProfile, LogSink, Platform, TransportFactory } from '@noodlenet/shared'
import { webRTCListenAddressesFor, webRTCTransportsFor } from '@noodlenet/webrtc'
import { startGpuWorker } from './exec/gpu-worker-runner.js'
import { createWebWorkerPool } from './exec/web-worker-pool.js'
import { IndexedDbAuditStore } from './idb-audit-store.js'
import { NoodleDatabase } from './idb-database.js'
import { IndexedDbRevocationStore } from './idb-revocation-store.js'
import { probeBrowserHardware } from './probe.js'

export interface BrowserPlatformOptions {
  /** IndexedDB database for the audit log and revocations (and the identity, see identity.ts). */
  database?: string
  /** Extra transports (the WebRTC transport; the memory transport in tests). WebSockets is always there. */
  transports?: TransportFactory[]
  /** Let the node dial loopback and private addresses over ws:// (libp2p refuses them in browsers by default):
   *  for a page served from localhost, a development mesh, tests. */
  allowPrivateAddresses?: boolean
  /** Where log lines go; the console when absent. */
  logSink?: LogSink
  /** The hardware probe; the browser's own when absent. */
  probe?: () => Promise<HardwareProfile>
  /** Offer this tab's WebGPU device to GPU kernels (default true when the browser has WebGPU). */
  gpu?: boolean
}

const ALLOW_ALL_DIALS: ConnectionGater = { denyDialMultiaddr: () => false }

export function browserPlatform(options: BrowserPlatformOptions = {}): Platform {
  const database = options.database
  return {
    name: 'browser',
    transports: (config) => [webSockets(), ...webRTCTransportsFor(config.network), ...(options.transports ?? [])],
    defaultListen: () => [],
    extraListen: (config) => webRTCListenAddressesFor(config.network),
    probeHardware: options.probe ?? (() => probeBrowserHardware()),
    logSink: options.logSink,
    connectionGater: options.allowPrivateAddresses === true ? ALLOW_ALL_DIALS : undefined,
    // A hidden tab's timers run at most once a second (then once a minute): peers widen their window for it.
    isThrottled: () => globalThis.document?.visibilityState === 'hidden',
    auditStore: () => new IndexedDbAuditStore({ name: database }),
    revocationStore: () => new IndexedDbRevocationStore({ name: database }),
    createWorkerPool: () => createWebWorkerPool(),
    gpuRunner: async () => {
      if (options.gpu === false || (globalThis.navigator as Navigator | undefined)?.gpu === undefined) return undefined
      // The device lives in a worker of its own, off the page's thread; the WGSL kernels and webgpu-utils (a third
      // of the bundle otherwise) load only there, only where there is a GPU.
      return startGpuWorker()
    },
  }
}

/** True when the page itself is served from this machine: then dialling loopback peers is what the user wants. */
export function isLocalPage(): boolean {
  const host = globalThis.location?.hostname ?? ''
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]'
}

export { NoodleDatabase }
