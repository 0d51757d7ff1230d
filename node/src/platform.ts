// The Node platform: TCP and WebSockets (listen and dial), WebRTC through the signalling servers in
// config.network.signaling (packages/webrtc with @roamhq/wrtc), mDNS on the LAN when enabled, the native hardware
// probe, and log lines to stderr (stdout is for the CLI's own output, like the ready line).

import { mdns } from '@libp2p/mdns'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import type { LogSink, Platform } from '@noodlenet/shared'
import { webRTCListenAddressesFor, webRTCTransportsFor } from '@noodlenet/webrtc'
import { FileAuditStore } from './audit-file.js'
import { createNodeWorkerPool } from './exec/node-worker-pool.js'
import { probeHardware, sampleLoad } from './probe.js'
import { FileRevocationStore } from './revocation-file.js'

export const stderrSink: LogSink = { write: (line) => void process.stderr.write(line) }

export function nodePlatform(options: { logSink?: LogSink } = {}): Platform {
  return {
    name: 'node',
    transports: (config) => [tcp(), webSockets(), ...webRTCTransportsFor(config.network)],
    extraListen: (config) => webRTCListenAddressesFor(config.network),
    peerDiscovery: (config) => (config.network.mdns ? [mdns({ interval: 10_000 })] : []),
    defaultListen: () => ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws'],
    probeHardware: () => probeHardware(),
    sampleLoad,
    logSink: options.logSink ?? stderrSink,
    gpuRunner: async (config) => {
      if (config.scheduler.gpu === 'off') return undefined
      // Dawn runs in a child process: a native crash there costs the GPU kernels, not the node (decisions/0007).
      const { DawnProcess } = await import('@noodlenet/webgpu/node')
      const dawn = await DawnProcess.start({ adapter: config.scheduler.gpu })
      return {
        adapter: dawn.adapter,
        has: (kernel) => dawn.kernels.includes(kernel),
        kernelNames: dawn.kernels,
        run: (kernel, input, context) => dawn.run(kernel, input, context),
        destroy: () => void dawn.stop(),
      }
    },
    auditStore: (config) => (config.security.auditLog === null ? undefined : new FileAuditStore(config.security.auditLog)),
    revocationStore: (config) =>
      config.security.revocationsFile === null ? undefined : new FileRevocationStore(config.security.revocationsFile),
    createWorkerPool: () => createNodeWorkerPool(),
  }
}
