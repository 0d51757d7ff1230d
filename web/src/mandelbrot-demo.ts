// The mesh demo: a Mandelbrot image cut into tiles, each tile a `mandelbrot` task that the scheduler places on some
// peer of the mesh (this tab included), drawn as results come back and tinted by the peer that computed it, with a
// legend of who did how much. It shows the mesh at work at a glance.

import type { NoodleNode } from '@noodlenet/shared'

export interface MandelbrotDemoOptions {
  canvas: HTMLCanvasElement
  legend: HTMLElement
  status: HTMLElement
  /** Tiles per side (the image is tiles × tiles). */
  tiles?: number
  tileSize?: number
  maxIterations?: number
}

/** Distinct hues for peers, in the order they first return a tile. */
const PEER_HUES = [210, 25, 130, 290, 55, 0, 170, 330]

export interface DemoResult {
  /** Tiles per peer id. */
  byPeer: Map<string, number>
  failed: number
}

export async function renderMandelbrot(node: NoodleNode, options: MandelbrotDemoOptions): Promise<DemoResult> {
  const tiles = options.tiles ?? 8
  const size = options.tileSize ?? 64
  const maxIterations = options.maxIterations ?? 256
  const { canvas, legend, status } = options
  canvas.width = tiles * size
  canvas.height = tiles * size
  const context = canvas.getContext('2d') as CanvasRenderingContext2D
  context.fillStyle = '#222'
  context.fillRect(0, 0, canvas.width, canvas.height)
  // The classic view: real −2.2 … 0.8, imaginary −1.5 … 1.5.
  const [x0, x1, y0, y1] = [-2.2, 0.8, -1.5, 1.5]
  const inputs = []
  for (let row = 0; row < tiles; row++) {
    for (let column = 0; column < tiles; column++) {
      inputs.push({
        x0: x0 + ((x1 - x0) * column) / tiles,
        x1: x0 + ((x1 - x0) * (column + 1)) / tiles,
        y0: y0 + ((y1 - y0) * row) / tiles,
        y1: y0 + ((y1 - y0) * (row + 1)) / tiles,
        width: size,
        height: size,
        maxIterations,
      })
    }
  }
  const hues = new Map<string, number>()
  const result: DemoResult = { byPeer: new Map(), failed: 0 }
  status.textContent = `0 / ${inputs.length} tiles`
  for await (const tile of node.map('mandelbrot', inputs, { placement: 'spread' })) {
    const column = tile.index % tiles
    const row = Math.floor(tile.index / tiles)
    if (!tile.ok) {
      result.failed++
      context.fillStyle = '#a00'
      context.fillRect(column * size, row * size, size, size)
      status.textContent = `tile ${tile.index} failed: ${tile.error.message}`
      continue
    }
    const hue = hues.get(tile.peer) ?? PEER_HUES[hues.size % PEER_HUES.length]
    hues.set(tile.peer, hue)
    result.byPeer.set(tile.peer, (result.byPeer.get(tile.peer) ?? 0) + 1)
    context.putImageData(paint(tile.output as number[], size, maxIterations, hue), column * size, row * size)
    const done = [...result.byPeer.values()].reduce((a, b) => a + b, 0) + result.failed
    status.textContent = `${done} / ${inputs.length} tiles`
    renderLegend(legend, result.byPeer, hues, node.peerId.toString())
  }
  return result
}

/** Escape time as lightness, in the computing peer's hue; points in the set are black. */
function paint(counts: number[], size: number, maxIterations: number, hue: number): ImageData {
  const image = new ImageData(size, size)
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]
    const [r, g, b] = n >= maxIterations ? [0, 0, 0] : hsl(hue, 0.7, 0.15 + 0.7 * Math.sqrt(n / maxIterations))
    image.data[i * 4] = r
    image.data[i * 4 + 1] = g
    image.data[i * 4 + 2] = b
    image.data[i * 4 + 3] = 255
  }
  return image
}

function hsl(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l)
  const f = (n: number): number => {
    const k = (n + h / 30) % 12
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))))
  }
  return [f(0), f(8), f(4)]
}

function renderLegend(legend: HTMLElement, byPeer: Map<string, number>, hues: Map<string, number>, self: string): void {
  legend.replaceChildren(
    ...[...byPeer].map(([peer, count]) => {
      const item = document.createElement('li')
      const swatch = document.createElement('span')
      swatch.className = 'swatch'
      swatch.style.background = `hsl(${hues.get(peer)} 70% 50%)`
      item.append(swatch, `${peer === self ? 'this tab' : `${peer.slice(0, 12)}…${peer.slice(-6)}`}: ${count} tiles`)
      item.dataset.peer = peer
      return item
    }),
  )
}
