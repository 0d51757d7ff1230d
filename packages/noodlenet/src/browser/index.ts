// noodlenet in the browser: `createNode()` makes this tab a peer of the mesh. Its identity lives in IndexedDB (the
// same peer after a reload), its audit log and revocations too, and its profile says what the browser has
// (cores, memory, the WebGPU adapter). Links: WebSockets to Node peers, and WebRTC to tabs and Node peers through
// signalling servers (packages/webrtc): the tab joins each server's room and links to the peers it meets there.

import type { NoodleNode } from '@noodlenet/shared'
import { assembleNode, type CommonCreateNodeOptions, createNodeConfig } from '../create-node-options.js'
import { NoodleDatabase } from './idb-database.js'
import { claimIdentitySlot, loadOrCreateIdentity } from './identity.js'
import { type BrowserPlatformOptions, browserPlatform, isLocalPage } from './platform.js'

export interface CreateNodeOptions extends CommonCreateNodeOptions, Omit<BrowserPlatformOptions, 'allowPrivateAddresses'> {
  /** Dial loopback and private addresses; on by default when the page is served from localhost. */
  allowPrivateAddresses?: boolean
}

/** Creates (and starts) this tab's node. */
export async function createNode(options: CreateNodeOptions = {}): Promise<NoodleNode> {
  // mDNS does not exist in browsers; the other defaults are the core's.
  const config = createNodeConfig(options, { source: 'browser defaults', values: { network: { mdns: false } } })
  const database = new NoodleDatabase(options.database)
  const privateKey = await loadOrCreateIdentity(database, await claimIdentitySlot(database.name))
  const platform = browserPlatform({ ...options, allowPrivateAddresses: options.allowPrivateAddresses ?? isLocalPage() })
  return assembleNode(options, { config, platform, privateKey })
}

export { generateIdentity, issueTaskToken, type TaskTokenOptions } from '../capabilities.js'
export type { IceServer } from '../create-node-options.js'
export * from '../embedding-api.js'
export { claimIdentitySlot, loadOrCreateIdentity } from './identity.js'
export { type BrowserPlatformOptions, browserPlatform } from './platform.js'
export { probeBrowserHardware } from './probe.js'
export * from './stores.js'
