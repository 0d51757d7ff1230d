// RpcService round trip against the raw libp2p stream it runs on. A server process serves an RpcService echo and a
// raw lpStream echo; this process measures both over one TCP connection on 127.0.0.1, in alternating blocks so
// that drift (CPU frequency, GC, background gossip) falls on both alike. The ratio is what the helper costs.

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { NoodleNode } from '@noodlenet/shared'
import { startBenchNode } from './support/bench-node.js'
import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { MAX_PAYLOAD_BYTES, RAW_ECHO, RPC_ECHO } from './support/echo-protocols.js'
import { LatencySamples, type LatencySummary } from './support/latency.js'
import { describeMachine, machineLine } from './support/machine.js'
import { formatTable } from './support/table.js'

/** The helper may add at most this much to the raw round trip (p50 and mean). */
const TARGET_RATIO = 1.25
const PAYLOAD_SIZES = [100, 16 * 1024]
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER = fileURLToPath(new URL('./support/rpc-server.ts', import.meta.url))

interface Plan {
  warmup: number
  roundTrips: number
  block: number
}

const FULL: Plan = { warmup: 5_000, roundTrips: 5_000, block: 250 }
const QUICK: Plan = { warmup: 100, roundTrips: 500, block: 50 }

interface PayloadResult {
  payloadBytes: number
  raw: LatencySummary
  rpc: LatencySummary
  ratioP50: number
  ratioMean: number
  meetsTarget: boolean
}

export const rpcRoundTripBenchmark: Benchmark = {
  name: 'rpc-roundtrip',
  summary: 'RpcService.request vs raw lpStream round trip, two processes over TCP on 127.0.0.1',
  run,
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL
  const server = await startServer()
  const client = await startBenchNode()
  let raw: Stream | undefined
  try {
    const connection = await client.libp2p.dial(multiaddr(server.addr))
    const peer = connection.remotePeer
    raw = await client.libp2p.dialProtocol(peer, RAW_ECHO)
    const rawEcho = rawRoundTrip(raw)
    const rpcEcho = (payload: Uint8Array) => rpcRoundTrip(client, peer, payload)

    const results: PayloadResult[] = []
    for (const size of PAYLOAD_SIZES) {
      const payload = crypto.getRandomValues(new Uint8Array(size))
      for (let i = 0; i < plan.warmup; i++) {
        await rawEcho(payload)
        await rpcEcho(payload)
      }
      const rawSamples = new LatencySamples()
      const rpcSamples = new LatencySamples()
      for (let done = 0, blockIndex = 0; done < plan.roundTrips; done += plan.block, blockIndex++) {
        const count = Math.min(plan.block, plan.roundTrips - done)
        // Alternate which path goes first, so neither always runs right after the other's garbage.
        const order = blockIndex % 2 === 0 ? (['raw', 'rpc'] as const) : (['rpc', 'raw'] as const)
        for (const path of order) {
          const samples = path === 'raw' ? rawSamples : rpcSamples
          const echo = path === 'raw' ? rawEcho : rpcEcho
          for (let i = 0; i < count; i++) await samples.time(() => echo(payload))
        }
      }
      const rawSummary = rawSamples.summary()
      const rpcSummary = rpcSamples.summary()
      const ratioP50 = rpcSummary.p50 / rawSummary.p50
      const ratioMean = rpcSummary.mean / rawSummary.mean
      results.push({
        payloadBytes: size,
        raw: rawSummary,
        rpc: rpcSummary,
        ratioP50,
        ratioMean,
        meetsTarget: ratioP50 <= TARGET_RATIO && ratioMean <= TARGET_RATIO,
      })
    }
    return report(results, plan, options)
  } finally {
    raw?.abort(new Error('benchmark done'))
    await client.stop()
    await server.stop()
  }
}

/** One raw round trip: a length-prefixed write, then the echoed message read back on the same stream. */
function rawRoundTrip(stream: Stream): (payload: Uint8Array) => Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_PAYLOAD_BYTES })
  return async (payload) => {
    await lp.write(payload)
    const echoed = await lp.read()
    if (echoed.byteLength !== payload.byteLength)
      throw new Error(`raw echo returned ${echoed.byteLength} bytes, sent ${payload.byteLength}`)
  }
}

async function rpcRoundTrip(client: NoodleNode, peer: PeerId, payload: Uint8Array): Promise<void> {
  const echoed = await client.rpc.request(peer, RPC_ECHO, { payload })
  if (echoed.payload.byteLength !== payload.byteLength) {
    throw new Error(`rpc echo returned ${echoed.payload.byteLength} bytes, sent ${payload.byteLength}`)
  }
}

interface Server {
  addr: string
  stop(): Promise<void>
}

async function startServer(): Promise<Server> {
  // The server gets this process's Node flags (so `node --cpu-prof --import tsx bench/run.ts` profiles both sides).
  const nodeArgs = process.execArgv.some((arg) => arg.includes('tsx')) ? process.execArgv : ['--import', 'tsx', ...process.execArgv]
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, SERVER], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const exited = once(child, 'exit')
  const lines = createInterface({ input: child.stdout! })
  const ready = await Promise.race([
    once(lines, 'line').then(([line]) => JSON.parse(line as string) as { peerId: string; addrs: string[] }),
    exited.then(([code]) => {
      throw new Error(`bench server exited with code ${code} before it was ready`)
    }),
  ])
  const addr = ready.addrs.find((a) => a.includes('/tcp/') && !a.includes('/ws'))
  if (addr === undefined) throw new Error(`bench server has no TCP address: ${ready.addrs.join(', ')}`)
  return {
    addr,
    async stop() {
      if (child.exitCode !== null) return
      child.stdin?.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}

function report(results: PayloadResult[], plan: Plan, options: BenchOptions): BenchReport {
  const machine = describeMachine()
  const latency = formatTable([
    ['payload', 'path', 'round trips', 'p50 µs', 'p90 µs', 'p99 µs', 'mean µs'],
    ...results.flatMap((r) => [
      [bytes(r.payloadBytes), 'raw lpStream (baseline)', r.raw.n, r.raw.p50, r.raw.p90, r.raw.p99, r.raw.mean],
      [bytes(r.payloadBytes), 'RpcService.request', r.rpc.n, r.rpc.p50, r.rpc.p90, r.rpc.p99, r.rpc.mean],
    ]),
  ])
  const ratios = formatTable([
    ['payload', 'rpc/raw p50', 'rpc/raw mean', `target ≤ ${TARGET_RATIO}`],
    ...results.map((r) => [bytes(r.payloadBytes), r.ratioP50, r.ratioMean, r.meetsTarget ? 'met' : 'MISSED']),
  ])
  const table = [
    `${rpcRoundTripBenchmark.name}: ${rpcRoundTripBenchmark.summary}`,
    machineLine(machine),
    `${plan.roundTrips} round trips per path and payload after ${plan.warmup} warm-up, in alternating blocks of ${plan.block}${options.quick ? ' (--quick)' : ''}`,
    '',
    latency,
    '',
    ratios,
  ].join('\n')
  return {
    table,
    json: {
      name: rpcRoundTripBenchmark.name,
      summary: rpcRoundTripBenchmark.summary,
      date: new Date().toISOString(),
      machine,
      quick: options.quick,
      plan,
      unit: 'µs',
      targetRatio: TARGET_RATIO,
      results,
    },
  }
}

function bytes(n: number): string {
  return n >= 1024 ? `${n / 1024} KiB` : `${n} B`
}
