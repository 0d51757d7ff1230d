// Browser nodes over WebRTC, end to end: a real signalling server process serves the built web app; two headless
// Chromium tabs open it and contribute, a real `noodlenet start --signaling` process joins the same room, and the
// three form a full mesh whose every link is WebRTC with noise, seen from each tab (window.noodle.peers()) and from
// the Node peer (/api/peers). Then the signalling server stops: the links stay up and carry pings; it comes back
// on the same port and a third tab joins everyone. All of it runs in a private network namespace with nothing but
// loopback (where one can be made: root on Linux), so every WebRTC packet provably stays on loopback; elsewhere it
// runs beside the machine's interfaces with `ice=loopback` (docs/TESTING.md).

import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { PeerSummary } from '@noodlenet/shared'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NetworkNamespace } from '../../node/test/support/netns.js'
import { type ApiPeer, eventually, PeerProcess } from '../../node/test/support/peer-process.js'
import { SignalingProcess } from '../../signaling/test/support/signaling-process.js'
import {
  ARTIFACTS,
  allowLoopbackWebRtc,
  buildWebApp,
  eventuallyInPage,
  LOOPBACK_WEBRTC_ARGS,
  launchChromium,
  recordPeerConnections,
  selectedIceAddresses,
} from './support/browser.js'

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/
const made = NetworkNamespace.create('webrtc-mesh')
const namespace = typeof made === 'string' ? undefined : made
if (namespace === undefined) console.warn(`WebRTC mesh test runs without a private network namespace (${made}): loopback candidates only`)
const prefix = namespace?.prefix ?? []
let app: Awaited<ReturnType<typeof buildWebApp>>
let browser: Browser
const processes: Array<PeerProcess | SignalingProcess> = []

beforeAll(async () => {
  app = await buildWebApp()
  browser = await launchChromium(LOOPBACK_WEBRTC_ARGS, namespace)
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await Promise.all(processes.map((child) => child.kill()))
  await app?.remove()
  namespace?.remove()
})

function startSignaling(port = '0'): SignalingProcess {
  const server = new SignalingProcess(['--port', port, '--host', '127.0.0.1', '--static', app.dir, '--log-level', 'WARNING'], prefix)
  processes.push(server)
  return server
}

/** A tab (its own browser context: its own IndexedDB, so its own identity) that has clicked "Contribute". */
async function contributingTab(url: string, errors: string[]): Promise<{ page: Page; context: BrowserContext; peerId: string }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  await recordPeerConnections(page)
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(`${url}/?ice=loopback`)
  await allowLoopbackWebRtc(page)
  await page.click('#join')
  await page.waitForFunction(() => window.noodle !== undefined, undefined, { timeout: 30_000 })
  const peerId = (await page.evaluate(() => window.noodle?.peerId)) as string
  return { page, context, peerId }
}

/** The Node peer's /api/peers (from inside the namespace when there is one). */
async function apiPeers(peer: PeerProcess): Promise<ApiPeer[]> {
  const url = `${(await peer.ready).api}/api/peers`
  return namespace === undefined ? ((await (await fetch(url)).json()) as ApiPeer[]) : namespace.fetchJson<ApiPeer[]>(url)
}

function tabPeers(page: Page): Promise<PeerSummary[]> {
  return page.evaluate(async () => (await window.noodle?.peers()) ?? [])
}

/** Whether `page` has a WebRTC link with noise to each of `ids`. */
async function linkedOverWebRtc(page: Page, ids: string[]): Promise<boolean> {
  const peers = await tabPeers(page)
  return ids.every((id) => peers.some((peer) => peer.peerId === id && peer.transport === 'webrtc' && peer.encryption === '/noise'))
}

/** Round trips with libp2p's ping over the tab's existing connection to each of `ids` (no new dial). */
function pingFromTab(page: Page, ids: string[]): Promise<number[]> {
  return page.evaluate(async (targets) => {
    const node = window.noodle?.node
    if (node === undefined) throw new Error('the tab has no node')
    return Promise.all(
      targets.map(async (id) => {
        const connection = node.libp2p.getConnections().find((c) => c.remotePeer.toString() === id)
        if (connection === undefined) throw new Error(`no connection to ${id}`)
        return node.libp2p.services.ping.ping(connection.remotePeer, { signal: AbortSignal.timeout(10_000) })
      }),
    )
  }, ids)
}

describe('browser nodes over WebRTC', () => {
  it('two tabs and a Node peer form a full WebRTC mesh that outlives its signalling server', { timeout: 180_000 }, async () => {
    const errors: string[] = []
    const signaling = startSignaling()
    const url = await signaling.url()
    const nodePeer = new PeerProcess(
      ['--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--no-mdns', '--signaling', url, '--ice-candidates', 'loopback'],
      {},
      prefix,
    )
    processes.push(nodePeer)
    const { peerId: nodeId } = await nodePeer.ready

    const a = await contributingTab(url, errors)
    const b = await contributingTab(url, errors)
    expect(await a.page.textContent('#signaling')).toBe(url)

    // Every link WebRTC with noise, from each tab's side...
    await eventually(async () => linkedOverWebRtc(a.page, [b.peerId, nodeId]), 60_000, 'tab A to link to tab B and the Node peer')
    await eventually(async () => linkedOverWebRtc(b.page, [a.peerId, nodeId]), 60_000, 'tab B to link to tab A and the Node peer')
    // ...and from the Node peer's.
    await eventually(
      async () => {
        const peers = await apiPeers(nodePeer)
        return [a.peerId, b.peerId].every((id) =>
          peers.some((peer) => peer.peerId === id && peer.transport === 'webrtc' && peer.encryption === '/noise'),
        )
      },
      30_000,
      'the Node peer to list both tabs over WebRTC',
    )
    // In the namespace, every selected ICE pair is loopback at both ends (Chromium reports a peer-reflexive remote
    // without its address: ''). Outside one, the loopback policy still keeps other candidates out of the signals.
    if (namespace !== undefined) {
      for (const tab of [a, b]) {
        const pairs = await selectedIceAddresses(tab.page)
        expect(pairs.length).toBeGreaterThanOrEqual(2)
        for (const pair of pairs) {
          expect(pair.local).toMatch(LOOPBACK)
          expect(pair.remote === '' || LOOPBACK.test(pair.remote)).toBe(true)
        }
      }
    }
    await mkdir(ARTIFACTS, { recursive: true })
    await a.page.screenshot({ path: join(ARTIFACTS, 'web-app-webrtc-mesh.png'), fullPage: true })

    // The signalling server goes away: established links stay and carry traffic.
    await signaling.stop()
    const rtts = [...(await pingFromTab(a.page, [b.peerId, nodeId])), ...(await pingFromTab(b.page, [nodeId]))]
    expect(rtts.every((rtt) => Number.isFinite(rtt) && rtt >= 0)).toBe(true)
    expect(await linkedOverWebRtc(a.page, [b.peerId, nodeId])).toBe(true)
    expect(await linkedOverWebRtc(b.page, [a.peerId, nodeId])).toBe(true)

    // It comes back on the same address (the peers' WebRTC addresses name it); the others re-register with
    // backoff, and a third tab that joins now links to all three.
    const restarted = startSignaling(new URL(url).port)
    expect(await restarted.url()).toBe(url)
    const c = await contributingTab(url, errors)
    await eventually(async () => linkedOverWebRtc(c.page, [a.peerId, b.peerId, nodeId]), 60_000, 'tab C to link to everyone')
    await eventuallyInPage(
      a.page,
      async (id) => (await window.noodle?.peers())?.some((peer) => peer.peerId === id && peer.transport === 'webrtc') === true,
      c.peerId,
      30_000,
      'tab A to list tab C',
    )
    expect(errors).toEqual([])
  })
})
