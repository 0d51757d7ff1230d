// The mesh dashboard (`/?dashboard`, docs/DASHBOARD.md): this tab joins the mesh as an observer that runs no tasks
// and shows, refreshed every second, the live topology (graphology + sigma.js), the mesh's task rate, latency
// percentiles and size over time (uPlot), the tasks each peer ran, and the alerts firing anywhere. Loaded with a
// dynamic import, so the contributing page never downloads sigma or uPlot. `window.noodleDashboard` exposes the
// graph and the figures for automation.

import type { NoodleNode } from '@noodlenet/shared'
import Graph from 'graphology'
import { createNode } from 'noodlenet/browser'
import Sigma from 'sigma'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import './dashboard.css'
import {
  currentSummaries,
  firingAlerts,
  MeshTimeline,
  type MeshTopology,
  platformsOf,
  recentTasks,
  shortId,
  topologyOf,
} from './mesh-view.js'

export interface DashboardOptions {
  root: HTMLElement
  bootstrap: string[]
  signaling: string[]
  /** Seconds between metrics summaries of this observer (its own are empty; it listens to others'). */
  monitoringSeconds?: number
  iceCandidates?: 'all' | 'loopback'
}

export interface DashboardHandle {
  readonly node: NoodleNode
  /** The topology graph as drawn (graph.order: nodes, graph.size: links). */
  readonly graph: Graph
  /** What the page shows now, in numbers. */
  stats(): {
    nodes: number
    links: number
    source: MeshTopology['source']
    taskRate: number
    peakTaskRate: number
    tasks: number
    alerts: number
  }
  stop(): Promise<void>
}

declare global {
  interface Window {
    noodleDashboard?: DashboardHandle
  }
}

/** Colours that stay apart for people with the common colour-vision deficiencies (Okabe–Ito). */
const COLOURS = { node: '#0072B2', browser: '#E69F00', link: '#8a94a6', p50: '#0072B2', p95: '#E69F00', p99: '#D55E00', peers: '#009E73' }
const REFRESH_MS = 1000

/** Joins the mesh as an observer and renders the dashboard into `options.root`. */
export async function startDashboard(options: DashboardOptions): Promise<DashboardHandle> {
  const view = renderSkeleton(options.root)
  view.state.textContent = 'joining the mesh…'
  const node = await createNode({
    bootstrap: options.bootstrap,
    signaling: options.signaling,
    execute: false,
    config: {
      network: { iceCandidates: options.iceCandidates ?? 'all' },
      monitoring: options.monitoringSeconds === undefined ? {} : { intervalSeconds: options.monitoringSeconds },
    },
  })
  view.state.textContent = `observing as ${shortId(node.peerId.toString())} (runs no tasks)`
  const graph = new Graph({ type: 'undirected' })
  const renderer = makeRenderer(graph, view.graph)
  const timeline = new MeshTimeline()
  const charts = makeCharts(view)
  let last = { topology: topologyOf(node, { includeSelf: false }), tasks: 0, alerts: 0 }

  const refresh = (): void => {
    const topology = topologyOf(node, { includeSelf: false })
    const platforms = platformsOf(node)
    syncGraph(graph, topology, platforms)
    renderer?.refresh()
    view.graphEmpty.hidden = graph.order > 0
    view.graphCaption.textContent = `${graph.order} nodes, ${graph.size} links — from ${topology.source === 'routing' ? 'link-state routing' : 'presence and metrics summaries'}`
    const summaries = currentSummaries(node, { includeSelf: false })
    const sample = timeline.push(Date.now(), summaries, topology.nodes.length)
    charts.update(timeline)
    view.rate.textContent = `${sample.rate.toFixed(1)} tasks/s now, peak ${timeline.peakRate.toFixed(1)}`
    const tasks = recentTasks(summaries)
    renderTasks(view.tasks, tasks)
    const alerts = firingAlerts(node)
    renderAlerts(view.alerts, alerts)
    last = { topology, tasks: tasks.length, alerts: alerts.length }
  }
  const timer = setInterval(refresh, REFRESH_MS)
  refresh()

  const handle: DashboardHandle = {
    node,
    graph,
    stats: () => ({
      nodes: graph.order,
      links: graph.size,
      source: last.topology.source,
      taskRate: timeline.samples.at(-1)?.rate ?? 0,
      peakTaskRate: timeline.peakRate,
      tasks: last.tasks,
      alerts: last.alerts,
    }),
    stop: async () => {
      clearInterval(timer)
      renderer?.kill()
      charts.destroy()
      await node.stop()
    },
  }
  window.noodleDashboard = handle
  return handle
}

interface Skeleton {
  state: HTMLElement
  graph: HTMLElement
  graphEmpty: HTMLElement
  graphCaption: HTMLElement
  rate: HTMLElement
  rateChart: HTMLElement
  latencyChart: HTMLElement
  peersChart: HTMLElement
  tasks: HTMLTableSectionElement
  alerts: HTMLElement
}

function renderSkeleton(root: HTMLElement): Skeleton {
  root.innerHTML = `
    <section class="dashboard">
      <p class="dash-state">Dashboard: <strong id="dash-state"></strong></p>
      <div class="dash-grid">
        <article class="dash-card dash-wide">
          <h2>Topology</h2>
          <p class="dash-caption" id="dash-graph-caption"></p>
          <div id="dash-graph" class="dash-graph"></div>
          <p class="dash-empty" id="dash-graph-empty">No peers heard yet: the graph fills in as peers gossip their presence.</p>
          <p class="dash-legend"><span style="color:${COLOURS.node}">●</span> Node peer <span style="color:${COLOURS.browser}">●</span> browser tab</p>
        </article>
        <article class="dash-card">
          <h2>Task rate <small>(tasks/s)</small></h2>
          <p class="dash-caption" id="dash-rate"></p>
          <div id="dash-rate-chart"></div>
        </article>
        <article class="dash-card">
          <h2>Task latency <small>(ms, p50 / p95 / p99)</small></h2>
          <div id="dash-latency-chart"></div>
        </article>
        <article class="dash-card">
          <h2>Peers <small>(nodes in the mesh)</small></h2>
          <div id="dash-peers-chart"></div>
        </article>
        <article class="dash-card">
          <h2>Alerts firing</h2>
          <ul id="dash-alerts" class="dash-alerts"></ul>
        </article>
        <article class="dash-card dash-wide">
          <h2>Recent tasks <small>(newest first, as each peer reports them)</small></h2>
          <table>
            <thead><tr><th>finished</th><th>kernel</th><th>ran on</th><th>outcome</th><th>duration</th></tr></thead>
            <tbody id="dash-tasks"></tbody>
          </table>
        </article>
      </div>
    </section>`
  const $ = <T extends HTMLElement>(id: string): T => root.querySelector(`#${id}`) as T
  return {
    state: $('dash-state'),
    graph: $('dash-graph'),
    graphEmpty: $('dash-graph-empty'),
    graphCaption: $('dash-graph-caption'),
    rate: $('dash-rate'),
    rateChart: $('dash-rate-chart'),
    latencyChart: $('dash-latency-chart'),
    peersChart: $('dash-peers-chart'),
    tasks: $<HTMLTableSectionElement>('dash-tasks'),
    alerts: $('dash-alerts'),
  }
}

/** sigma.js on the container; undefined (with a note in the page) where WebGL is unavailable: the graph's data is
 *  still kept and counted. */
function makeRenderer(graph: Graph, container: HTMLElement): Sigma | undefined {
  try {
    return new Sigma(graph, container, { renderEdgeLabels: true, allowInvalidContainer: true })
  } catch (err) {
    container.textContent = `The graph cannot be drawn here (${(err as Error).message}); the counts above still hold.`
    return undefined
  }
}

/** Brings the graph in line with the topology: nodes on a circle (stable order: sorted ids), links with their RTT. */
function syncGraph(graph: Graph, topology: MeshTopology, platforms: Map<string, 'node' | 'browser'>): void {
  const wanted = new Set(topology.nodes)
  for (const node of graph.nodes()) if (!wanted.has(node)) graph.dropNode(node)
  const count = topology.nodes.length
  topology.nodes.forEach((peer, i) => {
    const angle = (2 * Math.PI * i) / Math.max(1, count) - Math.PI / 2
    const platform = platforms.get(peer) ?? 'node'
    const attributes = {
      x: Math.cos(angle),
      y: Math.sin(angle),
      size: 12,
      color: COLOURS[platform],
      label: `${shortId(peer)} (${platform})`,
    }
    if (graph.hasNode(peer)) graph.mergeNodeAttributes(peer, attributes)
    else graph.addNode(peer, attributes)
  })
  const links = new Set<string>()
  for (const link of topology.links) {
    const key = graph.hasEdge(link.from, link.to) ? graph.edge(link.from, link.to) : graph.addEdge(link.from, link.to)
    if (key === undefined) continue
    links.add(key)
    graph.mergeEdgeAttributes(key, { size: 2, color: COLOURS.link, label: link.rttMs > 0 ? `${link.rttMs.toFixed(1)} ms` : '' })
  }
  for (const edge of graph.edges()) if (!links.has(edge)) graph.dropEdge(edge)
}

interface Charts {
  update(timeline: MeshTimeline): void
  destroy(): void
}

function makeCharts(view: Skeleton): Charts {
  const width = (el: HTMLElement): number => Math.max(280, el.clientWidth || 420)
  const chart = (el: HTMLElement, unit: string, series: Array<{ label: string; stroke: string }>): uPlot =>
    new uPlot(
      {
        width: width(el),
        height: 180,
        series: [
          {},
          ...series.map((s) => ({
            ...s,
            width: 2,
            spanGaps: false,
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : `${v.toFixed(1)} ${unit}`),
          })),
        ],
        axes: [{}, { label: unit, size: 60 }],
        scales: { y: { range: (_u, min, max) => [0, Math.max(1, max ?? 0, min ?? 0)] } },
      },
      [[]],
      el,
    )
  const rate = chart(view.rateChart, 'tasks/s', [{ label: 'mesh', stroke: COLOURS.node }])
  const latency = chart(view.latencyChart, 'ms', [
    { label: 'p50', stroke: COLOURS.p50 },
    { label: 'p95', stroke: COLOURS.p95 },
    { label: 'p99', stroke: COLOURS.p99 },
  ])
  const peers = chart(view.peersChart, 'nodes', [{ label: 'nodes', stroke: COLOURS.peers }])
  return {
    update: (timeline) => {
      rate.setData(timeline.columns(['rate']) as uPlot.AlignedData)
      latency.setData(timeline.columns(['p50', 'p95', 'p99']) as uPlot.AlignedData)
      peers.setData(timeline.columns(['peers']) as uPlot.AlignedData)
    },
    destroy: () => {
      rate.destroy()
      latency.destroy()
      peers.destroy()
    },
  }
}

function renderTasks(body: HTMLTableSectionElement, tasks: ReturnType<typeof recentTasks>): void {
  body.replaceChildren()
  if (tasks.length === 0) {
    const cell = body.insertRow().insertCell()
    cell.colSpan = 5
    cell.className = 'dash-empty'
    cell.textContent = 'No tasks yet: run a job (e.g. noodlenet run echo --inputs @inputs.json) and they appear here.'
    return
  }
  for (const task of tasks) {
    const row = body.insertRow()
    for (const text of [
      new Date(task.at).toLocaleTimeString(),
      task.kernel,
      shortId(task.peer),
      task.outcome,
      `${task.durationMs < 10 ? task.durationMs.toFixed(2) : task.durationMs.toFixed(0)} ms`,
    ]) {
      row.insertCell().textContent = text
    }
    if (task.outcome !== 'ok') row.className = 'dash-failed'
  }
}

function renderAlerts(list: HTMLElement, alerts: ReturnType<typeof firingAlerts>): void {
  list.replaceChildren()
  if (alerts.length === 0) {
    const item = document.createElement('li')
    item.className = 'dash-empty'
    item.textContent = 'None firing. Rules are set per peer (docs/ALERTING.md).'
    list.append(item)
    return
  }
  for (const alert of alerts) {
    const item = document.createElement('li')
    item.className = `dash-alert dash-${alert.severity}`
    item.textContent = `${alert.severity.toUpperCase()} ${alert.name} on ${shortId(alert.peer)}: ${alert.metric} = ${alert.value ?? '—'} (threshold ${alert.threshold}) since ${new Date(alert.firedAt).toLocaleTimeString()}`
    list.append(item)
  }
}
