// noodlenet in the browser: `createNode()` makes this tab a peer of the mesh. Its identity lives in IndexedDB (the
// same peer after a reload), its audit log and revocations too, and its profile says what the browser has
// (cores, memory, the WebGPU adapter). Links: WebSockets to Node peers, and WebRTC to tabs and Node peers through
// signalling servers (packages/webrtc): the tab joins each server's room and links to the peers it meets there.

import { type NoodleConfigInput, NoodleNode, resolveConfig } from '@noodlenet/shared'
import { NoodleDatabase } from './idb-database.js'
import { claimIdentitySlot, loadOrCreateIdentity } from './identity.js'
import { type BrowserPlatformOptions, browserPlatform, isLocalPage } from './platform.js'

export interface CreateNodeOptions extends Omit<BrowserPlatformOptions, 'allowPrivateAddresses'> {
  /** Peers to join through (multiaddrs ending in /p2p/<peer id>, e.g. a Node peer's /ws address). */
  bootstrap?: string[]
  /** Signalling servers (http(s) URLs, e.g. the origin that served the web app) to be reachable through over
   *  WebRTC; their rooms' peers are discovered and linked to. */
  signaling?: string[]
  /** STUN/TURN servers for WebRTC (network.iceServers in docs/CONFIG.md). */
  iceServers?: RTCIceServer[]
  /** Any other settings, as in a config file (docs/CONFIG.md). */
  config?: NoodleConfigInput
  /** Dial loopback and private addresses; on by default when the page is served from localhost. */
  allowPrivateAddresses?: boolean
  /** Start the node before returning (default true). */
  start?: boolean
}

/** Creates (and starts) this tab's node. */
export async function createNode(options: CreateNodeOptions = {}): Promise<NoodleNode> {
  const config = resolveConfig([
    // mDNS does not exist in browsers; the other defaults are the core's.
    { source: 'browser defaults', values: { network: { mdns: false } } },
    { source: 'createNode({ config })', values: (options.config ?? {}) as Record<string, unknown> },
    { source: 'createNode({ bootstrap })', values: options.bootstrap === undefined ? {} : { network: { bootstrap: options.bootstrap } } },
    { source: 'createNode({ signaling })', values: options.signaling === undefined ? {} : { network: { signaling: options.signaling } } },
    {
      source: 'createNode({ iceServers })',
      values: options.iceServers === undefined ? {} : { network: { iceServers: options.iceServers as unknown[] } },
    },
  ])
  const database = new NoodleDatabase(options.database)
  const privateKey = await loadOrCreateIdentity(database, await claimIdentitySlot(database.name))
  const platform = browserPlatform({ ...options, allowPrivateAddresses: options.allowPrivateAddresses ?? isLocalPage() })
  const node = await NoodleNode.create({ config, platform, privateKey })
  if (options.start !== false) await node.start()
  return node
}

export { claimIdentitySlot, loadOrCreateIdentity } from './identity.js'
export { type BrowserPlatformOptions, browserPlatform } from './platform.js'
export { probeBrowserHardware } from './probe.js'
export * from './stores.js'
