// The web app: "Contribute this browser" makes this tab a node of the mesh (createNode from the noodlenet
// package), shows its peer id and its connected peers with transport and round-trip time, and lets the person cap
// what it gives (share of cores, GPU on or off). `/?join=1` joins without a click; `bootstrap=MULTIADDR` (repeat it
// for several) names peers to join through over WebSockets. Links to tabs and Node peers are WebRTC through the
// signalling server that served the page (or `signaling=URL`, repeatable); `ice=loopback` keeps WebRTC on this
// machine. `trust=PEERID` (repeatable) names the keys whose capability tokens let other peers run tasks here; the
// tab runs them in Web Workers (as many as the cores it shares) and on its WebGPU device when the GPU is on;
// `token=TOKEN` is a capability this tab presents to run its own tasks on others (the Mandelbrot demo);
// `monitoring=SECONDS` sets how often it gossips its metrics summary (docs/METRICS.md). `/?dashboard` shows the
// mesh dashboard instead (docs/DASHBOARD.md): the tab observes, runs no tasks. The node is
// `window.noodle` for the console and for automation.

import { type HardwareProfile, type NoodleNode, type PeerSummary, SIGNALING_SERVICE, type Topology } from '@noodlenet/shared'
import { createNode, probeBrowserHardware } from 'noodlenet/browser'
import { type DemoResult, renderMandelbrot } from './mandelbrot-demo.js'

export interface NoodleHandle {
  readonly peerId: string
  peers(): Promise<PeerSummary[]>
  /** The mesh as this tab sees it from link-state gossip, and its routes (docs/ROUTING.md). */
  topology(): Promise<Topology>
  /** Renders the Mandelbrot demo on the mesh; resolves with the tiles each peer computed. */
  mandelbrot(): Promise<{ byPeer: Record<string, number>; failed: number }>
  readonly node: NoodleNode
}

declare global {
  interface Window {
    noodle?: NoodleHandle
  }
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T
const params = new URLSearchParams(location.search)
const cores = $<HTMLInputElement>('cores')
const gpu = $<HTMLInputElement>('gpu')
const bootstrapInput = $<HTMLInputElement>('bootstrap')
const joinButton = $<HTMLButtonElement>('join')
const renderButton = $<HTMLButtonElement>('render')
const leaveButton = $<HTMLButtonElement>('leave')

const maxCores = navigator.hardwareConcurrency || 1
cores.max = String(maxCores)
cores.value = localStorage.getItem('noodlenet.cores') ?? String(Math.max(1, Math.floor(maxCores / 2)))
gpu.checked = localStorage.getItem('noodlenet.gpu') !== 'off'
bootstrapInput.value = params.getAll('bootstrap').join(' ') || localStorage.getItem('noodlenet.bootstrap') || ''
const showCores = (): void => {
  $('cores-out').textContent = `${cores.value} of ${maxCores}`
}
showCores()
cores.addEventListener('input', () => {
  localStorage.setItem('noodlenet.cores', cores.value)
  showCores()
})
gpu.addEventListener('change', () => localStorage.setItem('noodlenet.gpu', gpu.checked ? 'on' : 'off'))

/** The signalling servers to link through: `signaling=` parameters, else this page's origin when a signalling
 *  server served it (its /health says so), else none (WebSockets only). */
async function signalingServers(): Promise<string[]> {
  if (params.has('signaling')) return params.getAll('signaling').filter((url) => url !== '')
  try {
    const res = await fetch('/health', { cache: 'no-store' })
    const body: unknown = res.ok ? await res.json() : undefined
    if ((body as { service?: unknown } | undefined)?.service === SIGNALING_SERVICE) return [location.origin]
  } catch {
    // not a signalling server (a static host, the Vite dev server): WebSockets only
  }
  return []
}

/** `monitoring=SECONDS`: how often this tab publishes its metrics summary (the core's default when absent). */
function monitoringConfig(): { intervalSeconds?: number } {
  const seconds = Number(params.get('monitoring'))
  return params.has('monitoring') && Number.isFinite(seconds) && seconds > 0 ? { intervalSeconds: seconds } : {}
}

/** What this tab offers the mesh: the probe's findings, capped by the person's choices. */
async function contributedHardware(): Promise<HardwareProfile> {
  const hardware = await probeBrowserHardware()
  const offered = { ...hardware, cpu: { ...hardware.cpu, cores: Math.min(hardware.cpu.cores, Number(cores.value)) } }
  return gpu.checked ? offered : { ...offered, gpus: [], webgpu: undefined }
}

let node: NoodleNode | undefined
let refresh: ReturnType<typeof setInterval> | undefined

function showError(message: string | undefined): void {
  const box = $('error')
  box.hidden = message === undefined
  box.textContent = message ?? ''
}

function renderPeers(peers: PeerSummary[]): void {
  const body = $<HTMLTableSectionElement>('peers')
  body.replaceChildren()
  if (peers.length === 0) {
    const row = body.insertRow()
    const cell = row.insertCell()
    cell.colSpan = 5
    cell.textContent = 'none yet'
    return
  }
  for (const peer of peers) {
    const row = body.insertRow()
    for (const text of [
      peer.peerId,
      peer.transport,
      peer.encryption ?? '—',
      peer.direction,
      peer.rttMs === null ? '—' : `${peer.rttMs} ms`,
    ]) {
      row.insertCell().textContent = text
    }
  }
}

async function join(): Promise<void> {
  if (node !== undefined) return
  joinButton.disabled = true
  showError(undefined)
  $('state').textContent = 'joining…'
  const bootstrap = bootstrapInput.value.split(/\s+/).filter((addr) => addr !== '')
  localStorage.setItem('noodlenet.bootstrap', bootstrap.join(' '))
  try {
    const signaling = await signalingServers()
    const iceCandidates = params.get('ice') === 'loopback' ? 'loopback' : 'all'
    const trustedRoots = params.getAll('trust').filter((id) => id !== '')
    node = await createNode({
      bootstrap,
      signaling,
      config: {
        network: { iceCandidates },
        security: { trustedRoots },
        scheduler: { concurrency: Number(cores.value) },
        monitoring: monitoringConfig(),
      },
      probe: contributedHardware,
      gpu: gpu.checked,
    })
    $('signaling').textContent = signaling.length === 0 ? 'none (WebSockets only)' : signaling.join(', ')
  } catch (err) {
    $('state').textContent = 'not joined'
    showError(`Could not join: ${(err as Error).message}`)
    joinButton.disabled = false
    return
  }
  const current = node
  for (const token of params.getAll('token')) if (token !== '') current.addCapability(token)
  window.noodle = {
    peerId: current.peerId.toString(),
    peers: async () => current.peers(),
    topology: async () => current.topology(),
    mandelbrot: async () => {
      const result = await demo(current)
      return { byPeer: Object.fromEntries(result.byPeer), failed: result.failed }
    },
    node: current,
  }
  renderButton.disabled = false
  $('peer-id').textContent = current.peerId.toString()
  $('state').textContent = 'contributing'
  joinButton.hidden = true
  leaveButton.hidden = false
  const update = (): void => renderPeers(current.peers())
  current.addEventListener('peer:connect', update)
  current.addEventListener('peer:disconnect', update)
  refresh = setInterval(update, 2_000)
  update()
}

/** One render at a time; the button is busy meanwhile. */
async function demo(current: NoodleNode): Promise<DemoResult> {
  renderButton.disabled = true
  try {
    return await renderMandelbrot(current, {
      canvas: $<HTMLCanvasElement>('mandelbrot'),
      legend: $('demo-legend'),
      status: $('demo-status'),
    })
  } finally {
    renderButton.disabled = node === undefined
  }
}

async function leave(): Promise<void> {
  renderButton.disabled = true
  clearInterval(refresh)
  await node?.stop()
  node = undefined
  window.noodle = undefined
  $('state').textContent = 'not joined'
  $('peer-id').textContent = '—'
  $('signaling').textContent = '—'
  renderPeers([])
  joinButton.hidden = false
  joinButton.disabled = false
  leaveButton.hidden = true
}

joinButton.addEventListener('click', () => void join())
renderButton.addEventListener('click', () => {
  if (node !== undefined) void demo(node).catch((err: Error) => showError(`The demo failed: ${err.message}`))
})
leaveButton.addEventListener('click', () => void leave())
if (params.has('dashboard')) void openDashboard()
else if (params.get('join') === '1') void join()

/** `/?dashboard`: the mesh dashboard instead of the contribute page; this tab observes and runs no tasks. Loaded on
 *  demand, so the contribute page never downloads the graph and chart libraries (docs/DASHBOARD.md). */
async function openDashboard(): Promise<void> {
  document.title = 'NoodleNet — mesh dashboard'
  const intro = document.querySelector('header p')
  if (intro !== null) intro.textContent = 'The mesh at a glance: who is in it, how much work it does, how fast, and what is failing.'
  const root = document.querySelector('main') as HTMLElement
  try {
    const { startDashboard } = await import('./dashboard/dashboard.js')
    await startDashboard({
      root,
      bootstrap: (params.getAll('bootstrap').join(' ') || localStorage.getItem('noodlenet.bootstrap') || '')
        .split(/\s+/)
        .filter((addr) => addr !== ''),
      signaling: await signalingServers(),
      monitoringSeconds: monitoringConfig().intervalSeconds,
      iceCandidates: params.get('ice') === 'loopback' ? 'loopback' : 'all',
    })
  } catch (err) {
    root.textContent = `The dashboard could not start: ${(err as Error).message}`
  }
}
