// Route computation: a full recompute (link-state records -> topology graph -> Dijkstra with equal-cost next hops
// -> route table) over meshes of 100 to 4,000 peers with ten links each, and a cached route lookup and next-hop
// choice. Baselines measured in the same run over the same inputs: for the recompute, a breadth-first search (hop
// counts, no costs, no next hops) over the same graph, the floor of any one pass over it; for the lookup, Map.get on
// a plain Map of the same size. The targets are the issue's: < 5 ms for 1,000 peers and 10,000 links, < 10 µs a
// lookup (the seed's was 100 ms).

import { type CsrGraph, type Link, type LinkStateRecord, RouteTable, shortestPathsOver, TopologyGraph } from '@noodlenet/shared'
import type { Benchmark, BenchOptions, BenchReport } from './support/benchmark.js'
import { describeMachine, machineLine } from './support/machine.js'
import { random, runFor, type Summary, summarize, timeBlock } from './support/micro-timing.js'
import { formatTable } from './support/table.js'

const TARGET_NODES = 1_000
const TARGET_RECOMPUTE_MS = 5
const TARGET_LOOKUP_US = 10
/** Links per node (each link is listed by both its ends): 1,000 nodes have 10,000 links. */
const LINKS_PER_NODE = 10
const SIZES = [100, 1_000, 4_000]
/** Lookups per timed batch: one lookup is shorter than the timer's resolution. */
const LOOKUP_BATCH = 1_000

interface Plan {
  blocks: number
  blockMs: number
}

const FULL: Plan = { blocks: 10, blockMs: 200 }
const QUICK: Plan = { blocks: 3, blockMs: 40 }

type RecomputePath = 'bfs' | 'recompute' | 'cold'
type LookupPath = 'mapGet' | 'lookup' | 'choose'

interface SizeResult {
  nodes: number
  links: number
  routes: number
  bfs: Summary
  recompute: Summary
  cold: Summary
  /** This thread's CPU time per recompute, mean (ms). */
  recomputeCpuMs: number
  mapGet: Summary
  lookup: Summary
  choose: Summary
}

export const routingBenchmark: Benchmark = {
  name: 'routing',
  summary: 'full route recompute (1,000 peers, 10,000 links) and cached lookup vs BFS and Map.get',
  run,
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = options.quick ? QUICK : FULL
  const results: SizeResult[] = []
  for (const size of SIZES) {
    const mesh = meshOf(size, random(size))
    const self = mesh.names[0]
    let sink = 0
    // What the router keeps between computations: the graph, synced with the records it holds.
    const graph = new TopologyGraph()
    graph.sync(self, mesh.records)
    graph.set(self, mesh.own)
    const prepared = graph.csr(self)
    let changed = 0
    const recompute: Record<RecomputePath, () => void> = {
      bfs: () => {
        sink += bfs(prepared.graph, prepared.source)
      },
      // Router.recompute() after one record changed (what triggers one): sync the records (the new one is
      // indexed, the others cost a comparison), own links, CSR, Dijkstra, the table.
      recompute: () => {
        const k = changed++ % mesh.records.length
        mesh.records[k] = { ...mesh.records[k], seq: mesh.records[k].seq + 1, links: [...mesh.records[k].links] }
        graph.sync(self, mesh.records)
        graph.set(self, mesh.own)
        const { graph: csr, source } = graph.csr(self)
        sink += shortestPathsOver(csr, source).size
      },
      // The same from nothing: every record indexed, as after a restart.
      cold: () => {
        const fresh = new TopologyGraph()
        fresh.sync(self, mesh.records)
        fresh.set(self, mesh.own)
        const { graph: csr, source } = fresh.csr(self)
        sink += shortestPathsOver(csr, source).size
      },
    }
    const routes = shortestPathsOver(prepared.graph, prepared.source)
    const table = new RouteTable()
    table.replace(routes)
    const plain = new Map([...routes].map(([destination, route]) => [destination, route]))
    const targets = Array.from({ length: LOOKUP_BATCH }, (_, i) => mesh.names[1 + (i % (size - 1))])
    const lookups: Record<LookupPath, () => void> = {
      mapGet: () => {
        for (const destination of targets) sink += plain.get(destination)?.cost ?? 0
      },
      lookup: () => {
        for (const destination of targets) sink += table.lookup(destination)?.cost ?? 0
      },
      choose: () => {
        for (const destination of targets) {
          const hop = table.choose(destination)
          if (hop !== undefined) table.finished(hop)
          sink += hop === undefined ? 0 : 1
        }
      },
    }
    const { samples: rSamples, cpuUs: rCpu } = await alternate(recompute, plan, 1)
    const { samples: lSamples } = await alternate(lookups, plan, LOOKUP_BATCH)
    if (Number.isNaN(sink)) throw new Error('nothing computed')
    results.push({
      nodes: size,
      links: mesh.links,
      routes: routes.size,
      bfs: summarize(rSamples.bfs),
      recompute: summarize(rSamples.recompute),
      cold: summarize(rSamples.cold),
      recomputeCpuMs: rCpu.recompute / 1000,
      mapGet: summarize(lSamples.mapGet),
      lookup: summarize(lSamples.lookup),
      choose: summarize(lSamples.choose),
    })
  }
  return report(results, plan, options)
}

/** Warm-up, then alternating blocks of each path (so drift falls on all alike): wall-clock ns per call, and this
 *  thread's CPU time per call (µs; unlike wall time, not inflated when other processes take the cores). */
async function alternate<K extends string>(
  paths: Record<K, () => void>,
  plan: Plan,
  perCall: number,
): Promise<{ samples: Record<K, number[]>; cpuUs: Record<K, number> }> {
  const names = Object.keys(paths) as K[]
  for (const name of names) runFor(paths[name], plan.blockMs)
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>
  const cpu = Object.fromEntries(names.map((name) => [name, 0])) as Record<K, number>
  for (let block = 0; block < plan.blocks; block++) {
    const order = block % 2 === 0 ? names : [...names].reverse()
    for (const name of order) {
      const start = process.cpuUsage()
      timeBlock(paths[name], plan.blockMs, samples[name], perCall)
      const used = process.cpuUsage(start)
      cpu[name] += used.user + used.system
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
  const cpuUs = Object.fromEntries(names.map((name) => [name, cpu[name] / samples[name].length / perCall])) as Record<K, number>
  return { samples, cpuUs }
}

interface Mesh {
  names: string[]
  own: Link[]
  records: LinkStateRecord[]
  links: number
}

/** `size` peers on a ring (so every one is reachable) plus random links up to LINKS_PER_NODE x size links in all,
 *  RTTs 1-80 ms, loads 0-1, a few lossy links; the records each peer would gossip, the first peer's links as its own. */
function meshOf(size: number, rand: () => number): Mesh {
  const names = Array.from({ length: size }, (_, i) => `12D3KooWBenchPeer${i.toString().padStart(6, '0')}`)
  const neighbours = names.map(() => new Map<number, number>())
  const loads = names.map(() => Math.round(rand() * 100) / 100)
  let links = 0
  const link = (a: number, b: number): void => {
    if (a === b || neighbours[a].has(b)) return
    const rttMs = 1 + rand() * 79
    neighbours[a].set(b, rttMs)
    neighbours[b].set(a, rttMs)
    links++
  }
  for (let i = 0; i < size; i++) link(i, (i + 1) % size)
  while (links < LINKS_PER_NODE * size) link(Math.floor(rand() * size), Math.floor(rand() * size))
  const linksOf = (i: number): Link[] =>
    [...neighbours[i]].map(([j, rttMs]) => ({ peer: names[j], rttMs, load: loads[i], ...(rand() < 0.02 ? { loss: 0.1 } : {}) }))
  const records = names.slice(1).map((peerId, k) => ({ peerId, seq: 1, links: linksOf(k + 1), publishedAt: 0 }))
  return { names, own: linksOf(0), records, links }
}

/** The baseline: hop counts by breadth-first search over the same graph (no costs, no next hops, no table). */
function bfs(graph: CsrGraph, source: number): number {
  const hops = new Int32Array(graph.names.length).fill(-1)
  const queue = new Int32Array(graph.names.length)
  hops[source] = 0
  queue[0] = source
  let reached = 1
  for (let at = 0; at < reached; at++) {
    const u = queue[at]
    for (let e = graph.offsets[u]; e < graph.offsets[u + 1]; e++) {
      const v = graph.targets[e]
      if (hops[v] !== -1) continue
      hops[v] = hops[u] + 1
      queue[reached++] = v
    }
  }
  return reached
}

function report(results: SizeResult[], plan: Plan, options: BenchOptions): BenchReport {
  const machine = describeMachine()
  const atTarget = results.find((r) => r.nodes === TARGET_NODES)
  // Judged on the median: on a shared machine the tail is other processes taking the cores (see the CPU column).
  const recomputeMet = atTarget !== undefined && atTarget.recompute.p50 / 1000 < TARGET_RECOMPUTE_MS
  const lookupMet = atTarget !== undefined && atTarget.choose.p99 < TARGET_LOOKUP_US && atTarget.lookup.p99 < TARGET_LOOKUP_US
  const ms = (us: number): string => (us / 1000).toFixed(2)
  const us = (value: number): string => value.toFixed(3)
  const recomputeRows = results.map((r) => [
    r.nodes,
    r.links,
    r.routes,
    ms(r.bfs.p50),
    ms(r.recompute.p50),
    ms(r.recompute.p99),
    ms(r.recompute.max),
    r.recomputeCpuMs.toFixed(2),
    ms(r.cold.p50),
    (r.recompute.p50 / r.bfs.p50).toFixed(1),
    r.recompute.n,
  ])
  const lookupRows = results.map((r) => [
    r.nodes,
    us(r.mapGet.p50),
    us(r.lookup.p50),
    us(r.lookup.p99),
    us(r.choose.p50),
    us(r.choose.p99),
    (r.lookup.p50 / r.mapGet.p50).toFixed(2),
  ])
  const table = [
    `${routingBenchmark.name}: ${routingBenchmark.summary}`,
    machineLine(machine),
    `one thread; ${plan.blocks} alternating blocks of about ${plan.blockMs} ms per path and size${options.quick ? ' (--quick)' : ''}`,
    '',
    'full recompute after one record changed (index it, sync, own links, graph, Dijkstra/ECMP, table; cold: from nothing), ms:',
    formatTable([
      ['peers', 'links', 'routes', 'BFS p50', 'recompute p50', 'p99', 'max', 'CPU mean', 'cold p50', '× BFS p50', 'recomputes'],
      ...recomputeRows,
    ]),
    `target at ${TARGET_NODES} peers: p50 < ${TARGET_RECOMPUTE_MS} ms ${recomputeMet ? 'met' : 'MISSED'}`,
    '',
    `cached lookup, µs per call (batches of ${LOOKUP_BATCH}):`,
    formatTable([['peers', 'Map.get p50', 'lookup p50', 'lookup p99', 'choose p50', 'choose p99', '× Map.get p50'], ...lookupRows]),
    `target at ${TARGET_NODES} peers: p99 < ${TARGET_LOOKUP_US} µs ${lookupMet ? 'met' : 'MISSED'}`,
  ].join('\n')
  return {
    table,
    json: {
      name: routingBenchmark.name,
      summary: routingBenchmark.summary,
      date: new Date().toISOString(),
      machine,
      quick: options.quick,
      plan,
      unit: 'microseconds per recompute / per lookup',
      target: { nodes: TARGET_NODES, recomputeMs: TARGET_RECOMPUTE_MS, lookupUs: TARGET_LOOKUP_US },
      meetsTarget: recomputeMet && lookupMet,
      results: results.map((r) => ({
        ...r,
        recomputeVsBfsP50: r.recompute.p50 / r.bfs.p50,
        lookupVsMapGetP50: r.lookup.p50 / r.mapGet.p50,
      })),
    },
  }
}
