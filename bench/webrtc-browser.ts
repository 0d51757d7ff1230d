// WebRTC tab↔tab beside Node↔Node, in one run: round trip of 100 B, the first transfer on a new connection, and bulk
// MB/s on one stream. Tab↔tab runs in headless Chromium (the harness in bench/browser/, support/browser-harness.ts),
// signalled through a real signalling server process, loopback only, at three layers so that each one's cost shows:
// the bare RTCDataChannel (the upper bound), our DataChannelConnection alone, and libp2p with noise + yamux, between
// two pages (two renderer processes) and between two nodes in one page. Node↔Node: TCP (the baseline) and
// @roamhq/wrtc, both with noise + yamux in this process (bench/webrtc.ts's pairs). All paths run in rotating order
// so that drift and load fall on all alike.

import { tcp } from '@libp2p/tcp'
import { MemorySignalHub, signalledListenAddress, webRTCSignalled } from '@noodlenet/webrtc'
import type { Layer, RawBulkOptions } from './browser/harness-api.js'
import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { type BrowserBench, callHarness, type HarnessPage, startBrowserBench } from './support/browser-harness.js'
import { LatencySamples, type LatencySummary } from './support/latency.js'
import { describeMachine, machineLine } from './support/machine.js'
import { bulkTransfer, median, randomBytes, roundTrip, timeEach } from './support/stream-bench.js'
import { formatTable } from './support/table.js'
import { CHUNK_BYTES, openPath, PAYLOAD_BYTES, TARGET_BULK_MBPS, TARGET_ROUND_TRIP_P50_US, type TransportFactory } from './webrtc.js'

interface Plan {
  warmup: number
  roundTrips: number
  block: number
  /** The first transfer on each of `newConnections` connections (what SCTP's start-up costs shows here). */
  firstBytes: number
  newConnections: number
  /** Then `bulkRuns` transfers of `bulkBytes` on the first connection. */
  bulkBytes: number
  bulkRuns: number
}

const MiB = 1024 * 1024
const FULL: Plan = { warmup: 300, roundTrips: 2_000, block: 250, firstBytes: 8 * MiB, newConnections: 3, bulkBytes: 64 * MiB, bulkRuns: 3 }
const QUICK: Plan = { warmup: 30, roundTrips: 200, block: 50, firstBytes: 8 * MiB, newConnections: 1, bulkBytes: 8 * MiB, bulkRuns: 1 }

/** The raw channel's pacing: 64 KiB messages as ours, and the transport's browser marks (rtc-peer-factory.browser.ts:
 *  1 MiB / 256 KiB after a first 8 MiB at 128 KiB / 32 KiB); and 1 MiB / 256 KiB from the start, as the transport had
 *  before, which shows what a long queue costs a new connection in Chromium. */
const RAW_LONG_QUEUE: RawBulkOptions = { messageBytes: 64 * 1024, highWaterBytes: MiB, lowWaterBytes: 256 * 1024 }
const RAW_PACING: RawBulkOptions = {
  ...RAW_LONG_QUEUE,
  start: { highWaterBytes: 128 * 1024, lowWaterBytes: 32 * 1024, bytes: 8 * MiB },
}
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/

/** One connection of a path. */
interface Link {
  /** µs per round trip. */
  roundTrips(count: number): Promise<number[]>
  /** MB/s for one transfer. */
  bulk(bytes: number): Promise<number>
  close(): Promise<void>
}

interface BenchPath {
  name: string
  between: string
  /** A new connection. */
  open(): Promise<Link>
}

interface PathResult {
  path: string
  between: string
  roundTrip: LatencySummary
  /** The first transfer on each new connection. */
  firstMBps: number[]
  /** The transfers after it on the first connection. */
  bulkMBps: number[]
}

export const webrtcBrowserBenchmark: Benchmark = {
  name: 'webrtc-browser',
  summary: 'WebRTC tab↔tab in Chromium (raw channel, DataChannelConnection, noise+yamux) beside Node↔Node WebRTC and TCP',
  run,
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL
  const hub = new MemorySignalHub()
  const listenWebRTC = signalledListenAddress(hub.address).toString()
  const browser = await startBrowserBench()
  try {
    const pages = [await browser.openPage(), await browser.openPage(), await browser.openPage()]
    const [a, b, single] = pages
    const tabs = 'tab↔tab'
    const paths: BenchPath[] = [
      nodePath('TCP (baseline)', () => tcp(), '/ip4/127.0.0.1/tcp/0'),
      nodePath('WebRTC, @roamhq/wrtc', () => webRTCSignalled({ signaling: [hub.connect], candidates: 'loopback' }), listenWebRTC),
      pagePath('RTCDataChannel, our pacing', tabs, 'raw', a, b, browser.url, RAW_PACING),
      pagePath('RTCDataChannel, 1 MiB queued', tabs, 'raw', a, b, browser.url, RAW_LONG_QUEUE),
      pagePath('DataChannelConnection', tabs, 'conn', a, b, browser.url),
      pagePath('noise + yamux', tabs, 'libp2p', a, b, browser.url),
      pagePath('noise + yamux', 'one page, two nodes', 'libp2p', single, single, browser.url),
    ]
    const results = await measure(paths, plan)
    const ice = (await Promise.all(pages.map((p) => callHarness(p.page, 'iceAddresses')))).flat()
    const offLoopback = ice.filter((pair) => !LOOPBACK.test(pair.local) || (pair.remote !== '' && !LOOPBACK.test(pair.remote)))
    if (offLoopback.length > 0) throw new Error(`WebRTC left loopback: ${JSON.stringify(offLoopback)}`)
    return report(results, plan, options, { browser, pages, icePairs: ice.length })
  } finally {
    await browser.close()
  }
}

/** Round trips (after a warm-up, in blocks whose order rotates), the first transfer on new connections, then bulk
 *  runs on the first connection (rotating too). */
async function measure(paths: BenchPath[], plan: Plan): Promise<PathResult[]> {
  const links = new Map<BenchPath, Link>()
  try {
    for (const path of paths) links.set(path, await path.open())
    const linkOf = (path: BenchPath): Link => links.get(path) as Link
    const rounds = new Map(paths.map((path) => [path, new LatencySamples()]))
    for (const path of paths) await linkOf(path).roundTrips(plan.warmup)
    for (let done = 0, block = 0; done < plan.roundTrips; done += plan.block, block++) {
      for (const path of rotate(paths, block)) {
        rounds.get(path)?.addMicroseconds(await linkOf(path).roundTrips(Math.min(plan.block, plan.roundTrips - done)))
      }
    }
    const first = new Map(paths.map((path) => [path, [] as number[]]))
    for (const path of paths) first.get(path)?.push(await linkOf(path).bulk(plan.firstBytes))
    for (let i = 1; i < plan.newConnections; i++) {
      for (const path of rotate(paths, i)) {
        const link = await path.open()
        first.get(path)?.push(await link.bulk(plan.firstBytes))
        await link.close()
      }
    }
    const bulk = new Map(paths.map((path) => [path, [] as number[]]))
    for (let runIndex = 0; runIndex < plan.bulkRuns; runIndex++) {
      for (const path of rotate(paths, runIndex)) bulk.get(path)?.push(await linkOf(path).bulk(plan.bulkBytes))
    }
    return paths.map((path) => ({
      path: path.name,
      between: path.between,
      roundTrip: rounds.get(path)?.summary() as LatencySummary,
      firstMBps: first.get(path) ?? [],
      bulkMBps: bulk.get(path) ?? [],
    }))
  } finally {
    for (const link of links.values()) await link.close()
  }
}

function rotate<T>(items: T[], by: number): T[] {
  const shift = by % items.length
  return [...items.slice(shift), ...items.slice(0, shift)]
}

/** Two libp2p nodes in this process (bench/webrtc.ts's openPath). */
function nodePath(name: string, transport: () => TransportFactory, listen: string): BenchPath {
  return {
    name,
    between: 'Node↔Node, one process',
    async open() {
      const path = await openPath(name, transport, listen)
      const payload = randomBytes(PAYLOAD_BYTES)
      return {
        roundTrips: (count) => timeEach(count, () => roundTrip(path.echo, payload)),
        bulk: (bytes) => bulkTransfer(path.connection, bytes, CHUNK_BYTES),
        async close() {
          path.echo.abort(new Error('benchmark done'))
          await Promise.all(path.nodes.map((node) => node.stop()))
        },
      }
    },
  }
}

/** Links at `layer` from `dialler` to `listener` (the same page for two nodes in one page). They stay open until
 *  the browser closes. */
function pagePath(
  name: string,
  between: string,
  layer: Layer,
  listener: HarnessPage,
  dialler: HarnessPage,
  url: string,
  raw?: RawBulkOptions,
): BenchPath {
  return {
    name,
    between,
    async open() {
      const { handle: listenHandle, address } = await callHarness(listener.page, 'listen', layer, url)
      const dialHandle = await callHarness(dialler.page, 'dial', layer, url, address)
      return {
        roundTrips: (count) => callHarness(dialler.page, 'roundTrips', dialHandle, count, PAYLOAD_BYTES),
        async bulk(bytes) {
          if (layer === 'conn') await callHarness(listener.page, 'expect', listenHandle, bytes)
          return callHarness(dialler.page, 'bulk', dialHandle, bytes, CHUNK_BYTES, raw)
        },
        close: async () => {},
      }
    },
  }
}

interface BrowserFacts {
  browser: BrowserBench
  pages: HarnessPage[]
  icePairs: number
}

function report(results: PathResult[], plan: Plan, options: BenchOptions, facts: BrowserFacts): BenchReport {
  const machine = describeMachine()
  const tcpBulk = median(results[0].bulkMBps)
  const nodeWebRTC = results[1]
  const rawBulk = median(results[2].bulkMBps)
  const bulkMet = median(nodeWebRTC.bulkMBps) >= TARGET_BULK_MBPS
  const roundTripMet = nodeWebRTC.roundTrip.p50 <= TARGET_ROUND_TRIP_P50_US
  const isolated = facts.pages.every((page) => page.isolated)
  const errors = facts.pages.flatMap((page) => page.errors)
  const where =
    facts.browser.noNamespace === undefined
      ? 'in a private network namespace (loopback only)'
      : `NOT in a network namespace (${facts.browser.noNamespace})`
  const range = (values: number[]): string => `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`
  const table = [
    `${webrtcBrowserBenchmark.name}: ${webrtcBrowserBenchmark.summary}`,
    machineLine(machine),
    `Chromium ${where}; ${facts.icePairs} ICE pairs, all on loopback; page timer ${isolated ? '5 µs (cross-origin isolated)' : '100 µs (not isolated)'}`,
    `${plan.roundTrips} round trips of ${PAYLOAD_BYTES} B per path after ${plan.warmup} warm-up (blocks of ${plan.block}); ` +
      `first ${plan.firstBytes / MiB} MiB on ${plan.newConnections} new connection(s); then ${plan.bulkRuns} × ${plan.bulkBytes / MiB} MiB ` +
      `one way on one stream${options.quick ? ' (--quick)' : ''}`,
    '',
    formatTable([
      [
        'path',
        'between',
        'round trip p50 µs',
        'p90 µs',
        'p99 µs',
        'mean µs',
        'first MB/s (median)',
        'first min–max',
        'bulk MB/s (median)',
        'bulk min–max',
        '× TCP bulk',
        '× raw channel',
      ],
      ...results.map((r) => [
        r.path,
        r.between,
        r.roundTrip.p50,
        r.roundTrip.p90,
        r.roundTrip.p99,
        r.roundTrip.mean,
        median(r.firstMBps),
        range(r.firstMBps),
        median(r.bulkMBps),
        range(r.bulkMBps),
        median(r.bulkMBps) / tcpBulk,
        r.between.startsWith('Node') ? '—' : median(r.bulkMBps) / rawBulk,
      ]),
    ]),
    '',
    formatTable([
      ['Node↔Node WebRTC target', 'measured', 'verdict'],
      [`bulk ≥ ${TARGET_BULK_MBPS} MB/s`, median(nodeWebRTC.bulkMBps), bulkMet ? 'met' : 'MISSED'],
      [`round trip p50 ≤ ${TARGET_ROUND_TRIP_P50_US} µs`, nodeWebRTC.roundTrip.p50, roundTripMet ? 'met' : 'MISSED'],
    ]),
    ...(errors.length > 0 ? ['', `page errors: ${errors.join('; ')}`] : []),
  ].join('\n')
  return {
    table,
    json: {
      name: webrtcBrowserBenchmark.name,
      summary: webrtcBrowserBenchmark.summary,
      date: new Date().toISOString(),
      machine,
      quick: options.quick,
      plan,
      payloadBytes: PAYLOAD_BYTES,
      chunkBytes: CHUNK_BYTES,
      rawPacing: { upperBound: RAW_PACING, longQueue: RAW_LONG_QUEUE },
      chromium: {
        namespace: facts.browser.noNamespace ?? 'private, loopback only',
        icePairs: facts.icePairs,
        crossOriginIsolated: isolated,
        errors,
      },
      targets: { bulkMBps: TARGET_BULK_MBPS, roundTripP50Us: TARGET_ROUND_TRIP_P50_US, bulkMet, roundTripMet },
      results,
    },
  }
}
