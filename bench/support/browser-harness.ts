// Where the browser benchmarks run: the page harness (bench/browser/) built with Vite, a real signalling server
// process, and headless Chromium, both inside a private network namespace with only loopback when one can be made
// (root on Linux), so every WebRTC packet provably stays on this machine. Pages are served to Chromium from the
// build folder with COOP/COEP headers: a cross-origin-isolated page's performance.now() ticks in 5 µs, not 100 µs.
// (Adding the headers to the server's own responses through CDP's Fetch domain does not isolate the page.)

import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { build } from 'vite'
import { NetworkNamespace } from '../../node/test/support/netns.js'
import { SignalingProcess } from '../../signaling/test/support/signaling-process.js'
import { allowLoopbackWebRtc, LOOPBACK_WEBRTC_ARGS, launchChromium, recordPeerConnections } from '../../web/test/support/browser.js'
import type { BenchHarness } from '../browser/harness-api.js'

const HARNESS_ROOT = fileURLToPath(new URL('../browser/', import.meta.url))
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
}

export interface BrowserBench {
  /** The signalling server, as the pages reach it. */
  url: string
  /** Why there is no namespace, when there is none. */
  noNamespace?: string
  /** A new page (its own browser context, so its own renderer process) with the harness loaded. */
  openPage(): Promise<HarnessPage>
  close(): Promise<void>
}

export interface HarnessPage {
  page: Page
  /** Whether the page is cross-origin isolated (5 µs timer) or not (100 µs). */
  isolated: boolean
  /** Uncaught errors in the page so far. */
  errors: string[]
}

export async function startBrowserBench(): Promise<BrowserBench> {
  const made = NetworkNamespace.create('bench-webrtc')
  const namespace = typeof made === 'string' ? undefined : made
  const dir = await mkdtemp(join(tmpdir(), 'noodlenet-bench-harness-'))
  let signaling: SignalingProcess | undefined
  let browser: Browser | undefined
  const close = async (): Promise<void> => {
    await browser?.close()
    await signaling?.stop()
    namespace?.remove()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await build({
      root: HARNESS_ROOT,
      configFile: false,
      logLevel: 'warn',
      build: { outDir: dir, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2_000 },
    })
    signaling = new SignalingProcess(['--port', '0', '--host', '127.0.0.1', '--log-level', 'WARNING'], namespace?.prefix ?? [])
    const url = await signaling.url()
    browser = await launchChromium(LOOPBACK_WEBRTC_ARGS, namespace)
    const chromium = browser
    return {
      url,
      noNamespace: typeof made === 'string' ? made : undefined,
      openPage: () => openPage(chromium, url, dir),
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}

async function openPage(browser: Browser, url: string, dir: string): Promise<HarnessPage> {
  const context = await browser.newContext()
  // The page is handed to Chromium from the build folder with the isolation headers. Such a page has no IP address
  // space of its own, so Chromium's local network access checks would block its WebSocket to the signalling server
  // on 127.0.0.1 without that permission. Granting replaces the context's permissions: the microphone must be named
  // too, or getUserMedia no longer unlocks loopback candidates. HTTP only: the WebSocket is not routed.
  await context.grantPermissions(['local-network-access', 'microphone'], { origin: url })
  await context.route(`${url}/**`, async (route) => {
    const path = normalize(new URL(route.request().url()).pathname).replace(/^\/+/, '') || 'index.html'
    const body = path.startsWith('..') ? undefined : await readFile(join(dir, path)).catch(() => undefined)
    if (body === undefined) return route.fulfill({ status: 404 })
    await route.fulfill({
      body,
      contentType: CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    })
  })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await recordPeerConnections(page)
  await page.goto(`${url}/`)
  await allowLoopbackWebRtc(page)
  await page.waitForFunction(() => window.bench !== undefined, undefined, { timeout: 30_000 })
  const isolated = await page.evaluate(() => window.crossOriginIsolated)
  return { page, isolated, errors }
}

/** No call into a page takes longer than this (64 MiB at 1 MB/s), so a stalled link fails the run instead of
 *  hanging it. */
const CALL_TIMEOUT_MS = 120_000

/** Calls `window.bench[method](...args)` in `page`. */
export async function callHarness<M extends keyof BenchHarness>(
  page: Page,
  method: M,
  ...args: Parameters<BenchHarness[M]>
): Promise<Awaited<ReturnType<BenchHarness[M]>>> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the benchmark page did not answer ${method} within ${CALL_TIMEOUT_MS / 1000} s`)),
      CALL_TIMEOUT_MS,
    )
  })
  const call = page.evaluate(
    ({ method, args }) => {
      const harness = window.bench
      if (harness === undefined) throw new Error('the benchmark harness is not loaded')
      return (harness[method] as (...a: unknown[]) => unknown)(...args)
    },
    { method, args },
  ) as Promise<Awaited<ReturnType<BenchHarness[M]>>>
  try {
    return await Promise.race([call, timeout])
  } finally {
    clearTimeout(timer)
  }
}
