// `pnpm start` (node/scripts/local-mesh.mjs) end to end: it builds the web app, starts the signalling server and a
// mesh of two Node peers, and prints a URL; that URL, opened as printed in headless Chromium, makes the tab a node
// linked to both peers over WebRTC with noise. In a private network namespace where one can be made, with
// `--ice-candidates loopback` either way, so WebRTC stays on loopback.

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { NetworkNamespace } from '../../node/test/support/netns.js'
import { type ApiPeer, eventually } from '../../node/test/support/peer-process.js'
import { LOOPBACK_WEBRTC_ARGS, launchChromium } from './support/browser.js'

const SCRIPT = fileURLToPath(new URL('../../node/scripts/local-mesh.mjs', import.meta.url))
const made = NetworkNamespace.create('local-mesh')
const namespace = typeof made === 'string' ? undefined : made
if (namespace === undefined) console.warn(`pnpm start test runs without a private network namespace (${made}): loopback candidates only`)

let mesh: ChildProcess | undefined
let browser: Browser | undefined

afterAll(async () => {
  await browser?.close()
  if (mesh !== undefined && mesh.exitCode === null) {
    mesh.kill('SIGINT')
    await once(mesh, 'exit')
  }
  namespace?.remove()
})

/** The script's stdout up to its last line, "Ctrl-C stops the mesh.". */
function startupOutput(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`pnpm start did not finish starting in ${timeoutMs} ms:\n${out}`)), timeoutMs)
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      if (!out.includes('Ctrl-C stops the mesh.')) return
      clearTimeout(timer)
      resolve(out)
    })
    child.once('exit', (code) => reject(new Error(`pnpm start exited with ${code}:\n${out}`)))
  })
}

/** A peer's /api/peers, from inside the namespace when there is one. */
async function apiPeers(api: string): Promise<ApiPeer[]> {
  const url = `${api}/api/peers`
  return namespace === undefined ? ((await (await fetch(url)).json()) as ApiPeer[]) : namespace.fetchJson<ApiPeer[]>(url)
}

describe('pnpm start', () => {
  it('prints a URL that makes a browser tab a WebRTC peer of the local mesh', { timeout: 180_000 }, async () => {
    const command = [...(namespace?.prefix ?? []), process.execPath, SCRIPT, '--peers', '2', '--ice-candidates', 'loopback']
    mesh = spawn(command[0], command.slice(1), {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NOODLE_NET_LOG_LEVEL: 'ERROR' },
    })
    const output = await startupOutput(mesh, 120_000)
    const url = /Open in a browser to contribute it:\s+(\S+)/.exec(output)?.[1]
    const apis = [...output.matchAll(/admin\s+(\S+)\/health/g)].map((match) => match[1])
    expect(apis).toHaveLength(2)
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?join=1&ice=loopback$/)

    browser = await launchChromium(LOOPBACK_WEBRTC_ARGS, namespace)
    const page = await browser.newPage()
    // Loopback candidates need media permission in Chromium (browser.ts); the page joins as it loads, so ask
    // before its scripts run.
    await page.addInitScript(() => {
      void navigator.mediaDevices.getUserMedia({ audio: true }).then((stream) => {
        for (const track of stream.getTracks()) track.stop()
      })
    })
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(url as string)
    await page.waitForFunction(() => window.noodle !== undefined, undefined, { timeout: 30_000 })
    const tabId = (await page.evaluate(() => window.noodle?.peerId)) as string
    await eventually(
      async () => {
        const peers = await page.evaluate(async () => (await window.noodle?.peers()) ?? [])
        return peers.filter((peer) => peer.transport === 'webrtc' && peer.encryption === '/noise').length >= 2
      },
      60_000,
      'the tab to link to both peers over WebRTC',
    )
    for (const api of apis) {
      await eventually(
        async () => (await apiPeers(api)).some((peer) => peer.peerId === tabId && peer.transport === 'webrtc'),
        30_000,
        `the peer at ${api} to list the tab over WebRTC`,
      )
    }
    expect(errors).toEqual([])
  })
})
