// The one configuration schema. Every setting, its default and what values it allows live here; docs/CONFIG.md
// describes the same settings for operators. Objects are strict so a misspelt key is an error, not a silent no-op.

import { multiaddr } from '@multiformats/multiaddr'
import * as v from 'valibot'
import { LIMITS } from '../limits.js'
import { peerIdOfAddr } from '../net/addrs.js'
import { LOG_LEVELS } from '../monitoring/logger.js'
import { SECURITY_LEVELS } from '../security/levels.js'

function int(min: number, max: number, fallback: number) {
  const allowed = `an integer from ${min} to ${max}`
  return v.optional(
    v.pipe(v.number(allowed), v.integer(allowed), v.minValue(min, allowed), v.maxValue(max, allowed)),
    fallback,
  )
}

function oneOf<const T extends readonly string[]>(values: T, fallback: T[number]) {
  const allowed = `one of ${values.join(', ')}`
  return v.optional(v.pipe(v.string(allowed), v.toUpperCase(), v.picklist(values, allowed)), fallback)
}

function isMultiaddr(input: string): boolean {
  try {
    multiaddr(input)
    return input.startsWith('/')
  } catch {
    return false
  }
}

const multiaddrList = v.optional(
  v.array(
    v.pipe(
      v.string('a multiaddr string such as /ip4/127.0.0.1/tcp/4001'),
      v.check(isMultiaddr, 'a multiaddr string such as /ip4/127.0.0.1/tcp/4001'),
    ),
    'a list of multiaddr strings',
  ),
  [],
)

function hasPeerId(input: string): boolean {
  return peerIdOfAddr(input) !== undefined
}

const bootstrapList = v.optional(
  v.array(
    v.pipe(
      v.string('a multiaddr ending in /p2p/<peer id>'),
      v.check(hasPeerId, 'a multiaddr ending in /p2p/<peer id> (copy one from a peer\'s "addrs" in its ready line)'),
    ),
    'a list of multiaddr strings',
  ),
  [],
)

const unknownKey = 'nothing: this is not a known setting (check the spelling against docs/CONFIG.md)'

export const NetworkConfigSchema = v.strictObject(
  {
    /** Addresses to listen on; empty means the platform's default (Node: TCP and WebSockets on all interfaces). */
    listen: multiaddrList,
    /** Peers to dial at start and keep trying until connected. */
    bootstrap: bootstrapList,
    /** mDNS discovery on the LAN (Node peers only). */
    mdns: v.optional(v.boolean('true or false'), true),
    /** Connections the mesh maintainer aims to keep by dialling discovered peers. */
    targetDegree: int(1, 1000, LIMITS.targetDegree),
    maxConnections: int(1, 10_000, LIMITS.maxConnections),
    inboundConnectionThreshold: int(1, 10_000, LIMITS.inboundConnectionThreshold),
    presenceIntervalMs: int(100, 600_000, LIMITS.presenceIntervalMs),
    dialTimeoutMs: int(100, 600_000, LIMITS.dialTimeoutMs),
    requestTimeoutMs: int(10, 3_600_000, LIMITS.requestTimeoutMs),
    frameMaxBytes: int(1024, 256 * 1024 * 1024, LIMITS.frameMaxBytes),
    /** Admin HTTP API (Node peers). 127.0.0.1 by default: the API acts as the peer, so keep it off the network. */
    apiHost: v.optional(v.pipe(v.string('a host name or IP address'), v.nonEmpty('a host name or IP address')), '127.0.0.1'),
    apiPort: int(0, 65535, 7420),
  },
  unknownKey,
)

export const SecurityConfigSchema = v.strictObject(
  {
    /** The node's default security level for commands, kernels and tasks that do not name one. */
    level: oneOf(SECURITY_LEVELS, 'PUBLIC'),
    /** Peer ids whose tokens end a delegation chain. */
    trustedRoots: v.optional(v.array(v.string('a peer id string'), 'a list of peer id strings'), []),
  },
  unknownKey,
)

export const SchedulerConfigSchema = v.strictObject(
  {
    /** Tasks run at once by this node's executors; 0 means one per CPU core. */
    concurrency: int(0, 4096, 0),
    /** Tasks waiting per executor before it answers "busy, retry after". */
    queueLimit: int(1, 1_000_000, 256),
  },
  unknownKey,
)

export const MonitoringConfigSchema = v.strictObject(
  {
    logLevel: oneOf(LOG_LEVELS, 'INFO'),
    /** Seconds between metric summaries and alert evaluations. */
    intervalSeconds: v.optional(
      v.pipe(
        v.number('a number of seconds from 0.1 to 3600'),
        v.minValue(0.1, 'a number of seconds from 0.1 to 3600'),
        v.maxValue(3600, 'a number of seconds from 0.1 to 3600'),
      ),
      10,
    ),
  },
  unknownKey,
)

export const ConfigSchema = v.strictObject(
  {
    network: v.optional(NetworkConfigSchema, {}),
    security: v.optional(SecurityConfigSchema, {}),
    scheduler: v.optional(SchedulerConfigSchema, {}),
    monitoring: v.optional(MonitoringConfigSchema, {}),
  },
  unknownKey,
)

export type NoodleConfig = v.InferOutput<typeof ConfigSchema>
export type NoodleConfigInput = v.InferInput<typeof ConfigSchema>
