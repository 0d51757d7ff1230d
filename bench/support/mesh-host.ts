// One process of a many-peer mesh (bench/support/mesh-harness.ts): starts COUNT NoodleNodes on TCP loopback, each
// with a one-worker executor and capability tokens honoured from ROOT, bootstrapping from the given addresses (the
// first node of the first host bootstraps from nobody; the others of a host also from their host's first node).
// Each node notes when it first heard each other peer's presence. Prints one ready line
// {nodes: [{peerId, addr}], startedAt}; a `report` line on stdin prints {heard: {peerId: {otherPeerId: ms}}, peers:
// {peerId: connections}}. Stops when stdin closes or on SIGTERM; the harness SIGKILLs it to kill its peers.
//
// Usage: node --import tsx bench/support/mesh-host.ts COUNT ROOT OPTIONS_JSON [BOOTSTRAP_ADDR...]
// (OPTIONS_JSON: {presenceIntervalMs, heartbeatMs?, metricsIntervalSeconds?}, as MeshOptions)

import '../../node/src/shims.js'
import { createInterface } from 'node:readline'
import { NoodleNode, resolveConfig } from '@noodlenet/shared'
import { nodePlatform } from '../../node/src/platform.js'
import { meshPeerConfig } from './mesh-harness.js'

const [countArg, root, optionsArg, ...bootstrap] = process.argv.slice(2)
const count = Number(countArg)
const options = JSON.parse(optionsArg ?? 'null') as Parameters<typeof meshPeerConfig>[0] | null
if (!Number.isInteger(count) || count < 1 || root === undefined || !Number.isInteger(options?.presenceIntervalMs)) {
  throw new Error(
    'usage: mesh-host.ts COUNT ROOT {"presenceIntervalMs":MS,"heartbeatMs"?:MS,"metricsIntervalSeconds"?:S} [BOOTSTRAP_ADDR...]',
  )
}
const peer = meshPeerConfig(options as Parameters<typeof meshPeerConfig>[0])

const nodes: NoodleNode[] = []
const heard = new Map<string, Record<string, number>>()
for (let i = 0; i < count; i++) {
  const config = resolveConfig([
    {
      source: 'mesh-host',
      values: {
        ...peer,
        network: { ...peer.network, bootstrap: i === 0 ? bootstrap : [...bootstrap.slice(0, 2), nodes[0].addrs()[0]] },
        scheduler: { concurrency: 1 },
        security: { trustedRoots: [root] },
      },
    },
  ])
  const node = await NoodleNode.create({ config, platform: nodePlatform() })
  const firstHeard: Record<string, number> = {}
  heard.set(node.peerId.toString(), firstHeard)
  node.addEventListener('presence:update', (evt) => {
    firstHeard[evt.detail.peerId] ??= Date.now()
  })
  await node.start()
  nodes.push(node)
}

let stopping = false
const stop = async (): Promise<void> => {
  if (stopping) return
  stopping = true
  await Promise.allSettled(nodes.map((node) => node.stop()))
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (line.trim() !== 'report') return
  const peers = Object.fromEntries(nodes.map((node) => [node.peerId.toString(), node.libp2p.getPeers().length]))
  process.stdout.write(`${JSON.stringify({ heard: Object.fromEntries(heard), peers })}\n`)
})
lines.on('close', () => void stop())
const tcp = (node: NoodleNode): string => node.addrs().find((addr) => addr.includes('/tcp/') && !addr.includes('/ws')) ?? node.addrs()[0]
process.stdout.write(
  `${JSON.stringify({ nodes: nodes.map((node) => ({ peerId: node.peerId.toString(), addr: tcp(node) })), startedAt: Date.now() })}\n`,
)
