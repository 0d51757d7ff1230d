// Tasks across the mesh against the raw libp2p stream they travel on. An executor process (a NoodleNode with its
// CpuExecutor over worker_threads, trusting one root) serves TASK_PROTOCOL and a raw lpStream echo; this process is a
// submitter with no executor of its own, holding a capability token for `/task/run` from that root, and pins every
// task to the executor. Over one TCP connection on 127.0.0.1 it measures, each path beside its raw baseline in
// alternating blocks: the `echo` round trip, tasks per second one at a time and with many in flight, and a 16 MB
// input's echo.

import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeToken, issueToken, type NoodleNode } from '@noodlenet/shared'
import { heardFrom, startBenchNode } from './support/bench-node.js'
import { startBenchProcess } from './support/bench-process.js'
import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { BULK_PAYLOAD_BYTES, MAX_RAW_STREAMS, RAW_ECHO } from './support/echo-protocols.js'
import { LatencySamples, type LatencySummary } from './support/latency.js'
import { describeMachine, machineLine } from './support/machine.js'
import { formatTable } from './support/table.js'

/** The issue's targets: a round trip at most twice the raw one (p50 and mean), tasks per second awaited one at a
 *  time and with many in flight (Ray's single-client figures are 981/s and 8,041/s), and a 16 MB input at 80 % of
 *  the raw stream's throughput. */
const TARGET_ROUND_TRIP_RATIO = 2
const TARGET_SYNC_PER_S = 2_000
const TARGET_ASYNC_PER_S = 10_000
const TARGET_BULK_RATIO = 0.8
const SMALL_PAYLOAD_BYTES = 100
const SERVER = fileURLToPath(new URL('./support/task-server.ts', import.meta.url))

interface Plan {
  /** Round trips of each path before measuring (after a map of as many tasks, which starts every worker). V8 takes
   *  ~4,000 lone tasks to compile the task path (~700 functions optimized on the submitter alone, on background
   *  threads that share the two cores): before that a task's round trip is 2–7× its steady one. The warm-up is
   *  timed and reported as such. */
  warmup: number
  roundTrips: number
  block: number
  /** Tasks in one node.map() (and raw messages in one async round), and rounds of each. */
  mapTasks: number
  mapRounds: number
  /** Raw streams sending at once in the async baseline: as many as RpcService opens to one peer. */
  lanes: number
  bulkRounds: number
  /** 16 MB echoes of each path before measuring. */
  bulkWarmup: number
}

const FULL: Plan = {
  warmup: 5_000,
  roundTrips: 3_000,
  block: 250,
  mapTasks: 5_000,
  mapRounds: 6,
  lanes: 64,
  bulkRounds: 24,
  bulkWarmup: 3,
}
const QUICK: Plan = { warmup: 300, roundTrips: 300, block: 50, mapTasks: 500, mapRounds: 2, lanes: 64, bulkRounds: 2, bulkWarmup: 1 }

/** Rates of the blocks or rounds of one path: the median, the slowest and the fastest. */
interface Rates {
  median: number
  min: number
  max: number
  samples: number[]
}

interface Results {
  /** The warm-up's round trips, one raw then one task: what the first tasks after a start cost. */
  warmup: { raw: LatencySummary; task: LatencySummary }
  roundTrip: { raw: LatencySummary; task: LatencySummary; ratioP50: number; ratioMean: number; meetsTarget: boolean }
  sync: { raw: Rates; task: Rates; ratio: number; meetsTarget: boolean }
  async: { raw: Rates; task: Rates; ratio: number; meetsTarget: boolean }
  bulk: { raw: Rates; task: Rates; ratio: number; meetsTarget: boolean }
}

export const tasksBenchmark: Benchmark = {
  name: 'tasks',
  summary: 'echo tasks to a peer (round trip, tasks/s, 16 MB) vs raw lpStream, two processes over TCP on 127.0.0.1',
  run,
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL
  const rootKey = await generateKeyPair('Ed25519')
  const server = await startBenchProcess(SERVER, [peerIdFromPrivateKey(rootKey).toString()])
  let submitter: NoodleNode | undefined
  const raw: Stream[] = []
  try {
    submitter = await startBenchNode({ executes: false })
    const token = await issueToken({
      key: rootKey,
      audience: submitter.peerId.toString(),
      command: '/task/run',
      policy: { level: 'PUBLIC', kernels: ['echo'] },
      expires: Math.floor(Date.now() / 1000) + 24 * 3600,
    })
    submitter.addCapability(encodeToken(token))
    const connection = await submitter.libp2p.dial(multiaddr(server.tcpAddr))
    await heardFrom(submitter, server)

    const openRaw = async (): Promise<RawEcho> => {
      const stream = await connection.newStream(RAW_ECHO, { maxOutboundStreams: MAX_RAW_STREAMS })
      raw.push(stream)
      return rawEcho(stream)
    }
    const rawSmall = await openRaw()
    const rawLanes = await Promise.all(Array.from({ length: plan.lanes }, openRaw))
    const task = taskEcho(submitter, server.peerId)
    const small = crypto.getRandomValues(new Uint8Array(SMALL_PAYLOAD_BYTES))

    // Every worker started (tsx loads in each, ~1 s) and every stream open before anything is timed.
    await mapRate(submitter, server.peerId, small, plan.warmup)
    const cold = { raw: new LatencySamples(), task: new LatencySamples() }
    for (let i = 0; i < plan.warmup; i++) {
      await cold.raw.time(() => rawSmall(small))
      await cold.task.time(() => task(small))
    }
    const results: Results = {
      warmup: { raw: cold.raw.summary(), task: cold.task.summary() },
      ...(await measureRoundTrips(plan, rawSmall, task, small)),
      async: await measureAsync(plan, rawLanes, submitter, server.peerId, small),
      bulk: await measureBulk(plan, rawSmall, task),
    }
    return report(results, plan, options)
  } finally {
    for (const stream of raw) stream.abort(new Error('benchmark done'))
    await submitter?.stop()
    await server.stop()
  }
}

type RawEcho = (payload: Uint8Array) => Promise<void>

/** One raw round trip: a length-prefixed write, then the echoed message read back on the same stream. */
function rawEcho(stream: Stream): RawEcho {
  const lp = lpStream(stream, { maxDataLength: BULK_PAYLOAD_BYTES, maxBufferSize: BULK_PAYLOAD_BYTES + 16 })
  return async (payload) => {
    await lp.write(payload)
    const echoed = await lp.read()
    if (echoed.byteLength !== payload.byteLength)
      throw new Error(`raw echo returned ${echoed.byteLength} bytes, sent ${payload.byteLength}`)
  }
}

/** One `echo` task, pinned to the executor, awaited. */
function taskEcho(submitter: NoodleNode, executor: string): RawEcho {
  return async (payload) => {
    const output = await submitter.run('echo', payload, { peer: executor })
    if (!(output instanceof Uint8Array) || output.byteLength !== payload.byteLength) {
      throw new Error(`echo task returned ${describe(output)}, sent ${payload.byteLength} bytes`)
    }
  }
}

/** Round trips of 100 B, raw and task in alternating blocks (raw first in even blocks). Each block is also a run of
 *  tasks awaited one at a time: its count over its time is the sync rate. */
async function measureRoundTrips(
  plan: Plan,
  raw: RawEcho,
  task: RawEcho,
  payload: Uint8Array,
): Promise<Pick<Results, 'roundTrip' | 'sync'>> {
  const samples = { raw: new LatencySamples(), task: new LatencySamples() }
  const blockRates = { raw: [] as number[], task: [] as number[] }
  for (let done = 0, block = 0; done < plan.roundTrips; done += plan.block, block++) {
    const count = Math.min(plan.block, plan.roundTrips - done)
    for (const path of block % 2 === 0 ? (['raw', 'task'] as const) : (['task', 'raw'] as const)) {
      const echo = path === 'raw' ? raw : task
      const started = performance.now()
      for (let i = 0; i < count; i++) await samples[path].time(() => echo(payload))
      blockRates[path].push(count / ((performance.now() - started) / 1000))
    }
  }
  const rawSummary = samples.raw.summary()
  const taskSummary = samples.task.summary()
  const ratioP50 = taskSummary.p50 / rawSummary.p50
  const ratioMean = taskSummary.mean / rawSummary.mean
  const sync = { raw: rates(blockRates.raw), task: rates(blockRates.task) }
  return {
    roundTrip: {
      raw: rawSummary,
      task: taskSummary,
      ratioP50,
      ratioMean,
      meetsTarget: ratioP50 <= TARGET_ROUND_TRIP_RATIO && ratioMean <= TARGET_ROUND_TRIP_RATIO,
    },
    sync: { ...sync, ratio: sync.task.median / sync.raw.median, meetsTarget: sync.task.median >= TARGET_SYNC_PER_S },
  }
}

/** Many in flight: node.map() of `mapTasks` echo tasks, against as many raw echoes spread over `lanes` streams that
 *  each send the next as soon as the last came back. */
async function measureAsync(plan: Plan, lanes: RawEcho[], submitter: NoodleNode, executor: string, payload: Uint8Array) {
  const raw: number[] = []
  const task: number[] = []
  for (let round = 0; round < plan.mapRounds; round++) {
    for (const path of round % 2 === 0 ? (['raw', 'task'] as const) : (['task', 'raw'] as const)) {
      if (path === 'raw') raw.push(await lanesRate(lanes, payload, plan.mapTasks))
      else task.push(await mapRate(submitter, executor, payload, plan.mapTasks))
    }
  }
  const result = { raw: rates(raw), task: rates(task) }
  return { ...result, ratio: result.task.median / result.raw.median, meetsTarget: result.task.median >= TARGET_ASYNC_PER_S }
}

async function lanesRate(lanes: RawEcho[], payload: Uint8Array, messages: number): Promise<number> {
  let left = messages
  const started = performance.now()
  await Promise.all(
    lanes.map(async (echo) => {
      while (left > 0) {
        left--
        await echo(payload)
      }
    }),
  )
  return messages / ((performance.now() - started) / 1000)
}

async function mapRate(submitter: NoodleNode, executor: string, payload: Uint8Array, tasks: number): Promise<number> {
  const started = performance.now()
  let done = 0
  for await (const result of submitter.map(
    'echo',
    Array.from({ length: tasks }, () => payload),
    { peer: executor },
  )) {
    if (!result.ok) throw result.error
    done++
  }
  if (done !== tasks) throw new Error(`map yielded ${done} results for ${tasks} tasks`)
  return tasks / ((performance.now() - started) / 1000)
}

/** One 16 MB echo per path and round, raw and task alternating; MB/s is the payload (10^6 bytes) over the round
 *  trip, so both directions are in both paths. */
async function measureBulk(plan: Plan, raw: RawEcho, task: RawEcho) {
  const payload = new Uint8Array(BULK_PAYLOAD_BYTES)
  for (let i = 0; i < payload.byteLength; i += 65_536) crypto.getRandomValues(payload.subarray(i, i + 65_536))
  for (let i = 0; i < plan.bulkWarmup; i++) {
    await raw(payload)
    await task(payload)
  }
  const mbs = { raw: [] as number[], task: [] as number[] }
  for (let round = 0; round < plan.bulkRounds; round++) {
    for (const path of round % 2 === 0 ? (['raw', 'task'] as const) : (['task', 'raw'] as const)) {
      const started = performance.now()
      await (path === 'raw' ? raw : task)(payload)
      mbs[path].push(BULK_PAYLOAD_BYTES / 1e6 / ((performance.now() - started) / 1000))
    }
  }
  const result = { raw: rates(mbs.raw), task: rates(mbs.task) }
  const ratio = result.task.median / result.raw.median
  return { ...result, ratio, meetsTarget: ratio >= TARGET_BULK_RATIO }
}

function rates(samples: number[]): Rates {
  const sorted = [...samples].sort((a, b) => a - b)
  return { median: sorted[Math.floor((sorted.length - 1) / 2)], min: sorted[0], max: sorted[sorted.length - 1], samples }
}

function report(results: Results, plan: Plan, options: BenchOptions): BenchReport {
  const machine = describeMachine()
  const { warmup, roundTrip, sync, async, bulk } = results
  const row = (path: string, s: LatencySummary) => [path, s.n, s.p50, s.p90, s.p99, s.mean]
  const latency = formatTable([
    ['100 B echo', 'round trips', 'p50 µs', 'p90 µs', 'p99 µs', 'mean µs'],
    row('raw lpStream, warm-up', warmup.raw),
    row('node.run echo task, warm-up', warmup.task),
    row('raw lpStream (baseline)', roundTrip.raw),
    row('node.run echo task', roundTrip.task),
  ])
  const range = (r: Rates): string => `${Math.round(r.min)}–${Math.round(r.max)}`
  const throughput = formatTable([
    ['figure', 'path', 'median', 'slowest–fastest', 'unit'],
    ['sync', 'raw lpStream, one stream', sync.raw.median, range(sync.raw), 'msg/s'],
    ['sync', 'node.run, awaited one at a time', sync.task.median, range(sync.task), 'tasks/s'],
    ['async', `raw lpStream, ${plan.lanes} streams`, async.raw.median, range(async.raw), 'msg/s'],
    ['async', `node.map of ${plan.mapTasks}`, async.task.median, range(async.task), 'tasks/s'],
    ['16 MB', 'raw lpStream echo', bulk.raw.median, range(bulk.raw), 'MB/s'],
    ['16 MB', 'node.run echo task', bulk.task.median, range(bulk.task), 'MB/s'],
  ])
  const verdict = (met: boolean): string => (met ? 'met' : 'MISSED')
  const targets = formatTable([
    ['figure', 'task', 'task/raw', 'target', ''],
    [
      'round trip p50 / mean',
      `${fmt(roundTrip.task.p50)} / ${fmt(roundTrip.task.mean)} µs`,
      `${roundTrip.ratioP50.toFixed(2)} / ${roundTrip.ratioMean.toFixed(2)}`,
      `≤ ${TARGET_ROUND_TRIP_RATIO}× raw`,
      verdict(roundTrip.meetsTarget),
    ],
    ['sync', `${Math.round(sync.task.median)} tasks/s`, sync.ratio.toFixed(2), `≥ ${TARGET_SYNC_PER_S} tasks/s`, verdict(sync.meetsTarget)],
    [
      'async',
      `${Math.round(async.task.median)} tasks/s`,
      async.ratio.toFixed(2),
      `≥ ${TARGET_ASYNC_PER_S} tasks/s`,
      verdict(async.meetsTarget),
    ],
    ['16 MB echo', `${fmt(bulk.task.median)} MB/s`, bulk.ratio.toFixed(2), `≥ ${TARGET_BULK_RATIO}× raw`, verdict(bulk.meetsTarget)],
  ])
  const table = [
    `${tasksBenchmark.name}: ${tasksBenchmark.summary}`,
    machineLine(machine),
    'submitter (no executor) → executor process (CpuExecutor over worker_threads), TCP + noise + yamux; ' +
      `${plan.roundTrips} round trips per path in alternating blocks of ${plan.block} after ${plan.warmup} warm-up ` +
      `(a map of as many, then one of each path in turn), ${plan.mapRounds} async rounds, ${plan.bulkRounds} 16 MB ` +
      `rounds after ${plan.bulkWarmup} warm-up${options.quick ? ' (--quick)' : ''}`,
    '',
    latency,
    '',
    throughput,
    '',
    targets,
  ].join('\n')
  return {
    table,
    json: {
      name: tasksBenchmark.name,
      summary: tasksBenchmark.summary,
      date: new Date().toISOString(),
      machine,
      quick: options.quick,
      plan,
      payloadBytes: { small: SMALL_PAYLOAD_BYTES, bulk: BULK_PAYLOAD_BYTES },
      targets: {
        roundTripRatio: TARGET_ROUND_TRIP_RATIO,
        syncPerSecond: TARGET_SYNC_PER_S,
        asyncPerSecond: TARGET_ASYNC_PER_S,
        bulkRatio: TARGET_BULK_RATIO,
      },
      units: { roundTrip: 'µs', sync: 'per second', async: 'per second', bulk: 'MB/s (10^6 bytes)' },
      results,
    },
  }
}

function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1)
}

function describe(value: unknown): string {
  return value instanceof Uint8Array ? `${value.byteLength} bytes` : typeof value
}
