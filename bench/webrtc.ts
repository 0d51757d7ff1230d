// The signalled WebRTC transport (packages/webrtc, @roamhq/wrtc) against TCP, Node↔Node: round trip of a small
// message on one stream, bulk throughput on one stream, and the time to set up a new connection (WebRTC
// negotiation or TCP connect, then noise and yamux). Both pairs of libp2p nodes run in this one process with the
// same noise + yamux stack, measured in alternating blocks so that drift falls on both alike; TCP is the baseline.
// Targets (issue 3): WebRTC bulk ≥ 30 MB/s and round trip ≤ 1 ms on loopback.

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Connection, Stream, Transport } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import { MemorySignalHub, signalledListenAddress, webRTCSignalled } from '@noodlenet/webrtc'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { LatencySamples, type LatencySummary } from './support/latency.js'
import { describeMachine, machineLine } from './support/machine.js'
import { bulkTransfer, ECHO, median, roundTrip, serveStreamBench } from './support/stream-bench.js'
import { formatTable } from './support/table.js'

export const TARGET_BULK_MBPS = 30
export const TARGET_ROUND_TRIP_P50_US = 1_000
export const CHUNK_BYTES = 64 * 1024
export const PAYLOAD_BYTES = 100

interface Plan {
  warmup: number
  roundTrips: number
  block: number
  bulkBytes: number
  bulkRuns: number
  connects: number
}

const FULL: Plan = { warmup: 500, roundTrips: 4_000, block: 250, bulkBytes: 64 * 1024 * 1024, bulkRuns: 3, connects: 10 }
const QUICK: Plan = { warmup: 50, roundTrips: 400, block: 50, bulkBytes: 16 * 1024 * 1024, bulkRuns: 1, connects: 3 }

// biome-ignore lint/suspicious/noExplicitAny: libp2p's transport factory signature
export type TransportFactory = (components: any) => Transport

/** Two libp2p nodes in this process, connected once, with an ECHO stream open. */
export interface Path {
  name: string
  nodes: [Libp2p, Libp2p]
  target: Multiaddr
  connection: Connection
  echo: Stream
}

interface PathResult {
  path: string
  roundTrip: LatencySummary
  bulkMBps: number[]
  connectMs: LatencySummary
}

export const webrtcBenchmark: Benchmark = {
  name: 'webrtc',
  summary: 'WebRTC transport (@roamhq/wrtc) vs TCP, Node↔Node in one process: round trip, bulk MB/s, connection setup',
  run,
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL
  const hub = new MemorySignalHub()
  const listenWebRTC = signalledListenAddress(hub.address).toString()
  const paths: Path[] = []
  try {
    paths.push(await openPath('TCP (baseline)', () => tcp(), '/ip4/127.0.0.1/tcp/0'))
    paths.push(await openPath('WebRTC', () => webRTCSignalled({ signaling: [hub.connect], candidates: 'loopback' }), listenWebRTC))

    const rounds = new Map(paths.map((p) => [p.name, new LatencySamples()]))
    const payload = crypto.getRandomValues(new Uint8Array(PAYLOAD_BYTES))
    for (const path of paths) for (let i = 0; i < plan.warmup; i++) await roundTrip(path.echo, payload)
    for (let done = 0, block = 0; done < plan.roundTrips; done += plan.block, block++) {
      const order = block % 2 === 0 ? paths : [...paths].reverse()
      for (const path of order) {
        const samples = rounds.get(path.name)!
        for (let i = 0; i < Math.min(plan.block, plan.roundTrips - done); i++) await samples.time(() => roundTrip(path.echo, payload))
      }
    }

    const bulk = new Map(paths.map((p) => [p.name, [] as number[]]))
    for (let runIndex = 0; runIndex < plan.bulkRuns; runIndex++) {
      const order = runIndex % 2 === 0 ? paths : [...paths].reverse()
      for (const path of order) bulk.get(path.name)!.push(await bulkTransfer(path.connection, plan.bulkBytes, CHUNK_BYTES))
    }

    const connects = new Map(paths.map((p) => [p.name, new LatencySamples()]))
    for (let i = 0; i < plan.connects; i++) {
      for (const path of i % 2 === 0 ? paths : [...paths].reverse()) {
        const [, dialler] = path.nodes
        // A fresh connection each time: close the one in use and wait until both sides forget it.
        await Promise.all(dialler.getConnections(path.nodes[0].peerId).map((c) => c.close()))
        const samples = connects.get(path.name)!
        const connection = await samples.time(() => dialler.dial(path.target))
        await connection.close()
      }
    }

    const results: PathResult[] = paths.map((p) => ({
      path: p.name,
      roundTrip: rounds.get(p.name)!.summary(),
      bulkMBps: bulk.get(p.name)!,
      connectMs: scale(connects.get(p.name)!.summary(), 1 / 1000),
    }))
    return report(results, plan, options)
  } finally {
    for (const path of paths) {
      path.echo.abort(new Error('benchmark done'))
      await Promise.all(path.nodes.map((node) => node.stop()))
    }
  }
}

export async function openPath(name: string, transport: () => TransportFactory, listen: string): Promise<Path> {
  const server = await benchNode(transport(), [listen])
  const client = await benchNode(transport(), [])
  const target = server.getMultiaddrs()[0]
  const connection = await client.dial(target)
  const echo = await connection.newStream(ECHO)
  return { name, nodes: [server, client], target, connection, echo }
}

async function benchNode(transport: TransportFactory, listen: string[]): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen },
    transports: [transport],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 10_000 },
    connectionMonitor: { enabled: false },
  })
  await serveStreamBench(node)
  return node
}

function scale(summary: LatencySummary, factor: number): LatencySummary {
  const out = { ...summary }
  for (const key of ['p50', 'p90', 'p99', 'mean', 'min', 'max'] as const) out[key] = summary[key] * factor
  return out
}

function report(results: PathResult[], plan: Plan, options: BenchOptions): BenchReport {
  const machine = describeMachine()
  const webrtc = results.find((r) => r.path === 'WebRTC')!
  const bulkMet = median(webrtc.bulkMBps) >= TARGET_BULK_MBPS
  const roundTripMet = webrtc.roundTrip.p50 <= TARGET_ROUND_TRIP_P50_US
  const table = [
    `${webrtcBenchmark.name}: ${webrtcBenchmark.summary}`,
    machineLine(machine),
    `${plan.roundTrips} round trips of ${PAYLOAD_BYTES} B per path after ${plan.warmup} warm-up (blocks of ${plan.block}); ` +
      `bulk: ${plan.bulkRuns} × ${plan.bulkBytes / 2 ** 20} MiB on one stream; ${plan.connects} new connections${options.quick ? ' (--quick)' : ''}`,
    '',
    formatTable([
      ['path', 'round trip p50 µs', 'p90 µs', 'p99 µs', 'mean µs', 'bulk MB/s (median)', 'connect p50 ms', 'connect max ms'],
      ...results.map((r) => [
        r.path,
        r.roundTrip.p50,
        r.roundTrip.p90,
        r.roundTrip.p99,
        r.roundTrip.mean,
        median(r.bulkMBps),
        r.connectMs.p50,
        r.connectMs.max,
      ]),
    ]),
    '',
    formatTable([
      ['WebRTC target', 'measured', 'verdict'],
      [`bulk ≥ ${TARGET_BULK_MBPS} MB/s`, median(webrtc.bulkMBps), bulkMet ? 'met' : 'MISSED'],
      [`round trip p50 ≤ ${TARGET_ROUND_TRIP_P50_US} µs`, webrtc.roundTrip.p50, roundTripMet ? 'met' : 'MISSED'],
    ]),
  ].join('\n')
  return {
    table,
    json: {
      name: webrtcBenchmark.name,
      summary: webrtcBenchmark.summary,
      date: new Date().toISOString(),
      machine,
      quick: options.quick,
      plan,
      payloadBytes: PAYLOAD_BYTES,
      targets: { bulkMBps: TARGET_BULK_MBPS, roundTripP50Us: TARGET_ROUND_TRIP_P50_US, bulkMet, roundTripMet },
      results,
    },
  }
}
