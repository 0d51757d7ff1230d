// noodlenet in a Node app: `createNode()` makes this process a peer of the mesh, with the Node platform of the
// `noodlenet` CLI (TCP, WebSockets, WebRTC through signalling servers, mDNS, a worker_threads pool for CPU kernels,
// WebGPU through Dawn in a child process where configured). Nothing is kept on disk unless asked: the identity is
// a fresh key unless `privateKey` is given, the audit log and revocations stay in memory unless the config names files.

// Node 20 lacks runtime features that libp2p uses (Promise.withResolvers, a global WebSocket): installed first.
import '@noodlenet/node/shims'
import type { PrivateKey } from '@libp2p/interface'
import { nodePlatform } from '@noodlenet/node/platform'
import type { LogSink, NoodleNode } from '@noodlenet/shared'
import { assembleNode, type CommonCreateNodeOptions, createNodeConfig } from '../create-node-options.js'

export interface CreateNodeOptions extends CommonCreateNodeOptions {
  /** The node's identity (a libp2p Ed25519 key, e.g. from generateIdentity()); a fresh one when absent, so a new
   *  peer id every run. */
  privateKey?: PrivateKey
  /** Where log lines (JSON) go; stderr when absent. */
  logSink?: LogSink
}

/** Creates (and starts) a node in this process. Stop it with `node.stop()`. */
export async function createNode(options: CreateNodeOptions = {}): Promise<NoodleNode> {
  const config = createNodeConfig(options, { source: 'Node defaults', values: {} })
  const platform = nodePlatform({ logSink: options.logSink })
  return assembleNode(options, { config, platform, privateKey: options.privateKey })
}

export { generateIdentity, issueTaskToken, type TaskTokenOptions } from '../capabilities.js'
export type { IceServer } from '../create-node-options.js'
export * from '../embedding-api.js'
export { nodePlatform }
