// What the web app's Chromium tests share: a production build of the app in a temporary folder, Debian's headless
// Chromium with the flags of ../shared/MACHINE.md, and polling a page for state that has no event to await.

import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { build } from 'vite'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../../node/test/support/chromium.js'
import type { NetworkNamespace } from '../../../node/test/support/netns.js'
import { eventually } from '../../../node/test/support/peer-process.js'

const webRoot = fileURLToPath(new URL('../..', import.meta.url))
export const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts', import.meta.url))

/** Builds the web app as `vite build` does; `remove()` deletes the output. */
export async function buildWebApp(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'noodlenet-web-'))
  await build({ root: webRoot, configFile: join(webRoot, 'vite.config.ts'), logLevel: 'warn', build: { outDir: dir, emptyOutDir: true } })
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }

/** Serves `dir` on 127.0.0.1 (a port the OS picks), as a plain static host would: not the signalling server, so a
 *  page from here links over WebSockets only. */
export async function serveStatic(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const path = normalize(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '') || 'index.html'
    try {
      const body = await readFile(join(dir, path))
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' })
      res.end(body)
    } catch {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** What most web-app tests set up in beforeAll and take down in afterAll: the built app on a static server, a
 *  headless Chromium, a temporary folder, and the peer processes the test starts (`track` them). */
export class WebAppHarness {
  private readonly processes: Array<{ kill(): Promise<void> }> = []

  private constructor(
    private readonly app: Awaited<ReturnType<typeof buildWebApp>>,
    private readonly server: Awaited<ReturnType<typeof serveStatic>>,
    readonly browser: Browser,
    /** A temporary folder for keys and files, removed by close(). */
    readonly dir: string,
  ) {}

  static async start(chromiumArgs: string[] = []): Promise<WebAppHarness> {
    const app = await buildWebApp()
    const server = await serveStatic(app.dir)
    return new WebAppHarness(app, server, await launchChromium(chromiumArgs), await mkdtemp(join(tmpdir(), 'noodlenet-web-test-')))
  }

  /** The page's base URL. */
  get url(): string {
    return this.server.url
  }

  /** Kills `process` at close(). */
  track<P extends { kill(): Promise<void> }>(process: P): P {
    this.processes.push(process)
    return process
  }

  async close(): Promise<void> {
    await this.browser.close()
    await Promise.all(this.processes.map((process) => process.kill()))
    await this.server.close()
    await this.app.remove()
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** Flags that let tabs offer loopback ICE candidates: without camera/microphone permission Chromium offers only
 *  the default-route address (or an mDNS name); with these and a getUserMedia call (`allowLoopbackWebRtc`) it offers
 *  127.0.0.1 too, so WebRTC between tabs stays on this machine. */
export const LOOPBACK_WEBRTC_ARGS = [
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
]

/** Headless Chromium; inside `namespace` when given (through a wrapper script: Playwright talks to it over a pipe,
 *  which `ip netns exec` keeps). */
export async function launchChromium(extraArgs: string[] = [], namespace?: NetworkNamespace): Promise<Browser> {
  let executablePath = CHROMIUM_PATH
  let wrapperDir: string | undefined
  if (namespace !== undefined) {
    wrapperDir = await mkdtemp(join(tmpdir(), 'noodlenet-chromium-'))
    executablePath = join(wrapperDir, 'chromium')
    await writeFile(executablePath, `#!/bin/sh\nexec ${namespace.prefix.join(' ')} ${CHROMIUM_PATH} "$@"\n`)
    await chmod(executablePath, 0o755)
  }
  const browser = await chromium.launch({
    executablePath,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  })
  if (wrapperDir !== undefined) browser.on('disconnected', () => void rm(wrapperDir, { recursive: true, force: true }))
  return browser
}

/** Grants the page a (fake) microphone: with LOOPBACK_WEBRTC_ARGS, its peer connections then gather loopback
 *  candidates. */
export async function allowLoopbackWebRtc(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true })
    for (const track of stream.getTracks()) track.stop()
  })
}

/** Keeps every RTCPeerConnection the page makes in `window.__peerConnections`, for `selectedIceAddresses`. */
export async function recordPeerConnections(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const Native = window.RTCPeerConnection
    const made: RTCPeerConnection[] = []
    ;(window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections = made
    window.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        super(config)
        made.push(this)
      }
    }
  })
}

/** The local and remote addresses of the ICE candidate pair each connected RTCPeerConnection of the page uses. */
export function selectedIceAddresses(page: Page): Promise<Array<{ local: string; remote: string }>> {
  return page.evaluate(async () => {
    const made = (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections
    const pairs: Array<{ local: string; remote: string }> = []
    for (const pc of made) {
      if (pc.connectionState !== 'connected') continue
      const stats = await pc.getStats()
      stats.forEach((report) => {
        if (report.type !== 'transport' || report.selectedCandidatePairId === undefined) return
        const pair = stats.get(report.selectedCandidatePairId)
        const local = stats.get(pair.localCandidateId)
        const remote = stats.get(pair.remoteCandidateId)
        pairs.push({ local: String(local.address), remote: String(remote.address) })
      })
    }
    return pairs
  })
}

/** Polls `predicate` in the page until it returns true. (waitForFunction would take an async predicate's promise
 *  as truthy, so this evaluates instead.) */
export async function eventuallyInPage(
  page: Page,
  predicate: (arg: string) => Promise<boolean> | boolean,
  arg: string,
  timeoutMs: number,
  what: string,
): Promise<void> {
  await eventually(async () => (await page.evaluate(predicate, arg)) === true, timeoutMs, what)
}
