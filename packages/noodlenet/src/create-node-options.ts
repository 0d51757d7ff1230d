// What `createNode()` takes on every platform (the browser entry and the Node entry), and how it becomes a config and
// a started node. Each entry adds what only its platform has (IndexedDB names in browsers, a key in Node).

import type { PrivateKey } from '@libp2p/interface'
import { type ConfigLayer, type NoodleConfig, type NoodleConfigInput, NoodleNode, type Platform, resolveConfig } from '@noodlenet/shared'

/** A STUN or TURN server, as RTCIceServer describes one (browsers' RTCIceServer objects fit). */
export interface IceServer {
  urls: string | string[]
  username?: string
  credential?: string
}

export interface CommonCreateNodeOptions {
  /** Peers to join through (multiaddrs ending in /p2p/<peer id>, e.g. another node's `addrs()`). */
  bootstrap?: string[]
  /** Signalling servers (http(s) URLs) to be reachable through over WebRTC; their rooms' peers are discovered and
   *  linked to. */
  signaling?: string[]
  /** STUN/TURN servers for WebRTC (network.iceServers in docs/CONFIG.md). */
  iceServers?: IceServer[]
  /** Any other settings, as in a config file (docs/CONFIG.md); the options above win over it. */
  config?: NoodleConfigInput
  /** Run tasks for the mesh on this machine's workers (default true); false makes a node that only submits. */
  execute?: boolean
  /** Start the node before returning (default true). */
  start?: boolean
}

/** The config of `createNode(options)`: the platform's defaults, then `options.config`, then the named options. */
export function createNodeConfig(options: CommonCreateNodeOptions, platformDefaults: ConfigLayer): NoodleConfig {
  const named = (name: string, network: Record<string, unknown> | undefined): ConfigLayer => ({
    source: `createNode({ ${name} })`,
    values: network === undefined ? {} : { network },
  })
  return resolveConfig([
    platformDefaults,
    { source: 'createNode({ config })', values: (options.config ?? {}) as Record<string, unknown> },
    named('bootstrap', options.bootstrap === undefined ? undefined : { bootstrap: options.bootstrap }),
    named('signaling', options.signaling === undefined ? undefined : { signaling: options.signaling }),
    named('iceServers', options.iceServers === undefined ? undefined : { iceServers: options.iceServers }),
  ])
}

/** Builds the node on `platform` (without its workers when `execute` is false) and starts it unless asked not to. */
export async function assembleNode(
  options: CommonCreateNodeOptions,
  init: { config: NoodleConfig; platform: Platform; privateKey?: PrivateKey },
): Promise<NoodleNode> {
  // No worker pool, no executor: the node lists no kernels, so no scheduler (its own included) places work on it.
  const platform =
    options.execute === false
      ? { ...init.platform, taskExecutor: undefined, createWorkerPool: undefined, gpuRunner: undefined }
      : init.platform
  const node = await NoodleNode.create({ ...init, platform })
  if (options.start !== false) await node.start()
  return node
}
