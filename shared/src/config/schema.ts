// The one configuration schema. Every setting, its default and what values it allows live here; docs/CONFIG.md
// describes the same settings for operators. Objects are strict so a misspelt key is an error, not a silent no-op.

import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import * as v from 'valibot'
import { LIMITS } from '../limits.js'
import { LOG_LEVELS } from '../monitoring/logger.js'
import { peerIdOfAddr } from '../net/addrs.js'
import { levelRank, SECURITY_LEVELS } from '../security/levels.js'

function int(min: number, max: number, fallback: number) {
  const allowed = `an integer from ${min} to ${max}`
  return v.optional(v.pipe(v.number(allowed), v.integer(allowed), v.minValue(min, allowed), v.maxValue(max, allowed)), fallback)
}

function phi(fallback: number) {
  const allowed = 'a number above 0, at most 1000'
  return v.optional(v.pipe(v.number(allowed), v.gtValue(0, allowed), v.maxValue(1000, allowed)), fallback)
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

function isHttpUrl(input: string): boolean {
  try {
    const url = new URL(input)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}

const iceUrl = v.pipe(
  v.string('a stun:, turn: or turns: URL such as stun:stun.example.org:3478'),
  v.regex(/^(stun|stuns|turn|turns):[^\s]+$/, 'a stun:, turn: or turns: URL such as stun:stun.example.org:3478'),
)

/** One RTCIceServer, as the browser API takes it. */
const IceServerSchema = v.strictObject(
  {
    urls: v.union([iceUrl, v.pipe(v.array(iceUrl), v.minLength(1, 'at least one URL'))], 'a stun:/turn: URL or a list of them'),
    username: v.optional(v.string('a string')),
    credential: v.optional(v.string('a string')),
  },
  'an object {"urls": "turn:host:port", "username": "...", "credential": "..."}',
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

/** A strict object reports an unknown key and a value that is not an object at all with one message: tell them
 *  apart, so `"network": 5` is not called an unknown setting. */
const unknownKey = (issue: v.BaseIssue<unknown>): string =>
  issue.expected === 'never' ? 'nothing: this is not a known setting (check the spelling against docs/CONFIG.md)' : 'an object of settings'

export const NetworkConfigSchema = v.strictObject(
  {
    /** Addresses to listen on; empty means the platform's default (Node: TCP and WebSockets on all interfaces). */
    listen: multiaddrList,
    /** Peers to dial at start and keep trying until connected. */
    bootstrap: bootstrapList,
    /** Signalling servers (http(s) URLs) this peer is reachable through over WebRTC; see docs/SIGNALING.md. */
    signaling: v.optional(
      v.array(
        v.pipe(
          v.string('an http(s) URL such as http://127.0.0.1:7430'),
          v.check(isHttpUrl, 'an http(s) URL such as http://127.0.0.1:7430'),
        ),
        'a list of URLs',
      ),
      [],
    ),
    /** STUN and TURN servers for WebRTC links (NAT traversal; TURN relays where UDP is blocked). None by default,
     *  which connects peers that can reach each other directly (same host or LAN). */
    iceServers: v.optional(v.array(IceServerSchema, 'a list of {"urls": "stun:host:port"} objects'), []),
    /** Which ICE candidates WebRTC links offer and accept: "all", or "loopback" to keep every WebRTC packet on this
     *  machine (local meshes and tests). */
    iceCandidates: v.optional(v.picklist(['all', 'loopback'], '"all" or "loopback"'), 'all'),
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
    /** Peers (peer ids) this node neither dials nor accepts connections from, so operators and tests can shape the
     *  topology; they are still reached through routes (docs/ROUTING.md). */
    denyPeers: v.optional(
      v.pipe(
        v.array(
          v.pipe(v.string('a peer id string'), v.check(isPeerId, "a peer id such as 12D3KooW... (copy it from the peer's ready line)")),
          'a list of peer id strings',
        ),
        v.maxLength(LIMITS.policyMaxListEntries, `a list of at most ${LIMITS.policyMaxListEntries} peer ids`),
      ),
      [],
    ),
    /** Admin HTTP API (Node peers). 127.0.0.1 by default: the API acts as the peer, so keep it off the network. */
    apiHost: v.optional(v.pipe(v.string('a host name or IP address'), v.nonEmpty('a host name or IP address')), '127.0.0.1'),
    apiPort: int(0, 65535, 7420),
  },
  unknownKey,
)

function isPeerId(input: string): boolean {
  try {
    peerIdFromString(input)
    return true
  } catch {
    return false
  }
}

/** A condition list: absent matches anything, so an empty list (which would match nothing) is refused. */
function conditionList<T extends v.GenericSchema<unknown, string>>(item: T, what: string) {
  return v.optional(
    v.pipe(
      v.array(item, `a list of ${what}`),
      v.minLength(1, `a non-empty list of ${what} (leave the key out to match any)`),
      v.maxLength(LIMITS.policyMaxListEntries, `a list of at most ${LIMITS.policyMaxListEntries} ${what}`),
    ),
  )
}

const peerIdText = v.pipe(v.string('a peer id string'), v.check(isPeerId, 'a peer id string such as 12D3KooW...'))
const commandPath = v.pipe(
  v.string('a command path such as /task/run'),
  v.regex(/^\/([a-z0-9_-]+(\/[a-z0-9_-]+)*)?$/, 'a command path such as /task or /task/run (lower case; / is every command)'),
)
const levelName = v.optional(
  v.pipe(
    v.string(`one of ${SECURITY_LEVELS.join(', ')}`),
    v.toUpperCase(),
    v.picklist(SECURITY_LEVELS, `one of ${SECURITY_LEVELS.join(', ')}`),
  ),
)
const clockTime = v.pipe(v.string('a UTC time as HH:MM'), v.regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a UTC time as HH:MM, from 00:00 to 23:59'))
/** Day names for policy time windows, in the order of Date#getUTCDay. */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const
const amount = (what: string) => v.optional(v.pipe(v.number(what), v.minValue(0, what), v.maxValue(Number.MAX_SAFE_INTEGER, what)))

/** One policy rule. Every condition present must hold for the rule to match; absent conditions match anything. */
export const PolicyRuleSchema = v.pipe(
  v.strictObject(
    {
      /** Shown in decisions and audit records; unnamed rules are called "rule #N" (1-based). */
      name: v.optional(v.pipe(v.string('a name'), v.nonEmpty('a non-empty name'), v.maxLength(128, 'a name of at most 128 characters'))),
      effect: v.picklist(['allow', 'deny'], '"allow" or "deny"'),
      /** Command path prefixes, segment-wise: `/task` covers `/task/run`, not `/tasks`. */
      commands: conditionList(commandPath, 'command paths'),
      kernels: conditionList(
        v.pipe(v.string('a kernel name'), v.nonEmpty('a kernel name'), v.maxLength(128, 'a kernel name')),
        'kernel names',
      ),
      /** Matches requests at or below this level. */
      maxLevel: levelName,
      /** Matches requests at or above this level. */
      minLevel: levelName,
      /** The requesting peer. */
      peers: conditionList(peerIdText, 'peer ids'),
      /** The root issuer of the request's verified capability chain; a request without one does not match. */
      issuers: conditionList(peerIdText, 'peer ids'),
      /** A daily UTC window, from inclusive, to exclusive; from > to wraps past midnight and then belongs to the
       *  day it starts on. */
      time: v.optional(
        v.pipe(
          v.strictObject(
            {
              from: clockTime,
              to: clockTime,
              days: conditionList(
                v.pipe(v.string('a day such as mon'), v.toLowerCase(), v.picklist(WEEKDAYS, `one of ${WEEKDAYS.join(', ')}`)),
                'days',
              ),
            },
            unknownKey,
          ),
          v.forward(
            v.check((time) => time.from !== time.to, 'a time other than from (leave out time to match at any hour)'),
            ['to'],
          ),
        ),
      ),
      /** Per requesting peer. A request over the rate is refused with RATE_LIMITED; one within it goes on to the
       *  next rule. */
      rate: v.optional(
        v.strictObject(
          {
            requests: v.pipe(
              v.number('an integer from 1 to 1000000000'),
              v.integer('an integer from 1 to 1000000000'),
              v.minValue(1, 'an integer from 1 to 1000000000'),
              v.maxValue(1_000_000_000, 'an integer from 1 to 1000000000'),
            ),
            perSeconds: v.pipe(
              v.number('a number of seconds above 0, at most 31536000 (a year)'),
              v.gtValue(0, 'a number of seconds above 0, at most 31536000 (a year)'),
              v.maxValue(31_536_000, 'a number of seconds above 0, at most 31536000 (a year)'),
            ),
          },
          unknownKey,
        ),
      ),
      /** Matches requests that ask for at most maxCpu cores and maxMemoryMB, and (gpu) that do or do not need a
       *  GPU. A request that does not state a resource asks for none of it. */
      resources: v.optional(
        v.strictObject(
          {
            maxCpu: amount('a number of CPU cores, 0 or more'),
            maxMemoryMB: amount('a number of megabytes, 0 or more'),
            gpu: v.optional(v.boolean('true (requests that need a GPU) or false (requests that do not)')),
          },
          unknownKey,
        ),
      ),
      /** Why the rule exists, in a sentence; it becomes the reason of the decisions the rule makes. */
      reason: v.optional(v.pipe(v.string('a sentence'), v.maxLength(500, 'a sentence of at most 500 characters'))),
    },
    unknownKey,
  ),
  v.forward(
    v.check(
      (rule) => rule.rate === undefined || rule.effect === 'deny',
      '"deny" in a rule with a rate: it refuses requests over the rate and passes the others on to the next rule, so allow them with a later rule',
    ),
    ['effect'],
  ),
  v.forward(
    v.check(
      (rule) => rule.minLevel === undefined || rule.maxLevel === undefined || levelRank(rule.minLevel) <= levelRank(rule.maxLevel),
      'at or below maxLevel, or the rule matches no request',
    ),
    ['minLevel'],
  ),
)
export type PolicyRule = v.InferOutput<typeof PolicyRuleSchema>

export const SecurityConfigSchema = v.strictObject(
  {
    /** The node's default security level for commands, kernels and tasks that do not name one. */
    level: oneOf(SECURITY_LEVELS, 'PUBLIC'),
    /** Peer ids whose tokens end a delegation chain. */
    trustedRoots: v.optional(v.array(peerIdText, 'a list of peer id strings'), []),
    /** Audit log file (Node); null keeps a bounded log in memory. */
    auditLog: v.optional(v.nullable(v.pipe(v.string('a file path'), v.nonEmpty('a file path'))), null),
    /** Where revocations are persisted (Node); null keeps them in memory only. */
    revocationsFile: v.optional(v.nullable(v.pipe(v.string('a file path'), v.nonEmpty('a file path'))), null),
    /** Policy rules, first match decides; see docs/SECURITY.md. */
    rules: v.optional(
      v.pipe(
        v.array(PolicyRuleSchema, 'a list of policy rules'),
        v.maxLength(LIMITS.policyMaxRules, `a list of at most ${LIMITS.policyMaxRules} policy rules`),
      ),
      [],
    ),
  },
  unknownKey,
)

export const SchedulerConfigSchema = v.strictObject(
  {
    /** Tasks run at once by this node's executors; 0 means one per CPU core. */
    concurrency: int(0, 4096, 0),
    /** Tasks waiting per executor before it answers "busy, retry after". */
    queueLimit: int(1, 1_000_000, LIMITS.executorQueueLimit),
    /** Node peers: run WGSL kernels through Dawn (the `webgpu` package, in a child process): "off", "system" (a
     *  hardware adapter) or "any" (a hardware one, else SwiftShader in software). Browsers use createNode({ gpu }). */
    gpu: v.optional(v.picklist(['off', 'system', 'any'], '"off", "system" or "any"'), 'off'),
    /** false: this node runs no tasks (it submits only, and no scheduler sends it any). */
    execute: v.optional(v.boolean('true or false'), true),
    /** A remote task's lease (ms): executors send a heartbeat a third as often, and a task whose executor is silent
     *  this long is placed again elsewhere (the first result wins); 0 turns leases off. */
    leaseMs: v.optional(
      v.union([v.literal(0), v.pipe(v.number(), v.integer(), v.minValue(300), v.maxValue(600_000))], '0, or 300 to 600000 ms'),
      LIMITS.taskLeaseMs,
    ),
    /** Failures in a row (or half of the last 20 attempts) that open a peer's circuit breaker: no tasks go to it
     *  until, after breakerCooldownMs (doubled after each failed probe), one probe task succeeds. */
    breakerFailures: int(1, 1000, LIMITS.breakerFailures),
    breakerCooldownMs: int(10, 600_000, LIMITS.breakerCooldownMs),
    /** Retries (a task placed again after its peer lost it) allowed per 100 tasks sent in 10 s, plus the floor;
     *  beyond them a task waits up to retryBudgetWaitMs for the budget, then fails with RETRY_BUDGET_EXHAUSTED. */
    retryBudgetPercent: int(0, 100, LIMITS.retryBudgetPercent),
    retryBudgetFloor: int(0, 1_000_000, LIMITS.retryBudgetFloor),
    retryBudgetWaitMs: int(0, 3_600_000, LIMITS.retryBudgetWaitMs),
    /** Tasks waiting in this node's submit queue (with its own executor full) beyond which the lowest priorities
     *  are shed with TASK_SHED. */
    shedQueueLength: int(1, 1_000_000, LIMITS.shedQueueLength),
  },
  unknownKey,
)

/** A duration such as 500ms, 2s, 1.5m or 1h, in milliseconds; undefined when the text is not one. */
export function durationMs(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text)
  if (match === null) return undefined
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h']
}

/** Alert durations (`for`, `window`): up to a day. */
const duration = v.pipe(
  v.string('a duration such as 2s, 30s, 5m or 1h'),
  v.check((text) => {
    const ms = durationMs(text)
    return ms !== undefined && ms <= 86_400_000
  }, 'a duration such as 2s, 30s, 5m or 1h (ms, s, m or h; at most 24h)'),
)

export const ALERT_OPS = ['<', '<=', '>', '>=', '==', '!='] as const
export const ALERT_KINDS = ['threshold', 'rate', 'anomaly'] as const
/** Seconds of metric history kept when monitoring.historySeconds is not set. */
export const DEFAULT_HISTORY_SECONDS = 600
/** Rate and anomaly rules look this far back when they name no window. */
export const DEFAULT_ALERT_WINDOW = '1m'
/** Anomaly rules fire beyond this many standard deviations when they name none. */
export const DEFAULT_ALERT_DEVIATIONS = 3

/** One alert rule (docs/ALERTING.md): a metric compared with a threshold (its value, or its per-second rate over
 *  a window), or checked for an anomaly (a value far from its recent mean), for at least `for`. */
export const AlertRuleSchema = v.pipe(
  v.strictObject(
    {
      name: v.pipe(v.string('a name'), v.nonEmpty('a non-empty name'), v.maxLength(128, 'a name of at most 128 characters')),
      metric: v.pipe(
        v.string('a metric name such as noodlenet_peers_connected'),
        v.regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'a metric name such as noodlenet_peers_connected'),
      ),
      /** Only the series with these label values; absent: the sum over every series of the metric. */
      labels: v.optional(
        v.record(v.string(), v.string('a label value (a string)'), 'an object of label values such as {"transport": "tcp"}'),
      ),
      kind: v.optional(v.picklist(ALERT_KINDS, `one of ${ALERT_KINDS.join(', ')}`), 'threshold'),
      op: v.optional(v.picklist(ALERT_OPS, `one of ${ALERT_OPS.join(' ')}`)),
      threshold: v.optional(v.pipe(v.number('a number'), v.finite('a finite number'))),
      /** How long the condition must hold before the alert fires; absent: at the first evaluation that sees it. */
      for: v.optional(duration),
      severity: v.picklist(['info', 'warning', 'critical'], 'one of info, warning, critical'),
      /** Rate and anomaly rules: how far back to look. */
      window: v.optional(duration),
      /** Anomaly rules: how many standard deviations from the window's mean count as an anomaly. */
      deviations: v.optional(v.pipe(v.number('a number above 0'), v.gtValue(0, 'a number above 0'), v.finite('a number above 0'))),
    },
    unknownKey,
  ),
  v.forward(
    v.check((rule) => rule.kind === 'anomaly' || rule.op !== undefined, `one of ${ALERT_OPS.join(' ')} (threshold and rate rules compare)`),
    ['op'],
  ),
  v.forward(
    v.check((rule) => rule.kind === 'anomaly' || rule.threshold !== undefined, 'a number (threshold and rate rules compare with it)'),
    ['threshold'],
  ),
  v.forward(
    v.check((rule) => rule.kind !== 'threshold' || rule.window === undefined, 'left out: only rate and anomaly rules look over a window'),
    ['window'],
  ),
  v.forward(
    v.check((rule) => rule.kind === 'anomaly' || rule.deviations === undefined, 'left out: only anomaly rules take deviations'),
    ['deviations'],
  ),
)
export type AlertRule = v.InferOutput<typeof AlertRuleSchema>

/** Orchestrator self-tuning (shared/src/orchestrator/self-tuning.ts, docs/SCHEDULER.md). Off by default: it changes
 *  failure-detection timing and executor concurrency, which an operator should choose knowingly. */
export const SelfTuningConfigSchema = v.strictObject(
  {
    enabled: v.optional(v.boolean('true or false'), false),
    /** Executor concurrency bounds; maxConcurrency 0 means twice the node's cores. */
    minConcurrency: int(1, 4096, 1),
    maxConcurrency: int(0, 4096, 0),
    /** Gossip and heartbeat intervals grow one step (the configured interval again) per this many peers in the mesh. */
    meshSizePerStep: int(1, 1_000_000, 16),
    /** The longest interval, as a multiple of the configured one. */
    maxIntervalFactor: int(1, 64, 4),
    /** Seconds between two changes of the same knob. */
    cooldownSeconds: v.optional(
      v.pipe(
        v.number('a number of seconds from 0 to 3600'),
        v.minValue(0, 'a number of seconds from 0 to 3600'),
        v.maxValue(3600, 'a number of seconds from 0 to 3600'),
      ),
      30,
    ),
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
    /** Metrics (docs/METRICS.md), libp2p's own included; false turns every counter into a no-op (GET /metrics is empty). */
    metrics: v.optional(v.boolean('true or false'), true),
    /** Alert rules, evaluated every intervalSeconds (docs/ALERTING.md). */
    rules: v.optional(v.pipe(v.array(AlertRuleSchema, 'a list of alert rules'), v.maxLength(256, 'a list of at most 256 alert rules'))),
    /** URLs that get an HTTP POST of JSON when an alert fires or resolves. */
    webhooks: v.optional(
      v.pipe(
        v.array(
          v.pipe(
            v.string('an http(s) URL such as http://127.0.0.1:9000/alerts'),
            v.check(isHttpUrl, 'an http(s) URL such as http://127.0.0.1:9000/alerts'),
          ),
          'a list of URLs',
        ),
        v.maxLength(16, 'a list of at most 16 URLs'),
      ),
    ),
    /** Orchestrator self-tuning of executor concurrency and gossip/heartbeat intervals (off by default). */
    selfTuning: v.optional(SelfTuningConfigSchema, {}),
    /** Seconds of metric history kept in memory (GET /api/history, rate and anomaly rules); DEFAULT_HISTORY_SECONDS
     *  when absent. */
    historySeconds: v.optional(
      v.pipe(
        v.number('a number of seconds from 10 to 86400'),
        v.minValue(10, 'a number of seconds from 10 to 86400'),
        v.maxValue(86_400, 'a number of seconds from 10 to 86400'),
      ),
    ),
  },
  unknownKey,
)

/** The failure detector (docs/HEALTH.md): phi thresholds and the ping interval. */
export const HealthConfigSchema = v.pipe(
  v.strictObject(
    {
      /** Phi at which a peer is suspect: placements still use it, at a higher cost. */
      suspectPhi: phi(LIMITS.healthSuspectPhi),
      /** Phi at which a peer is dead: nothing is placed on it and `peer:dead` fires. */
      deadPhi: phi(LIMITS.healthDeadPhi),
      /** How often each connected peer is pinged (ms); the detector expects a heartbeat about this often. */
      heartbeatMs: int(100, 600_000, LIMITS.healthHeartbeatMs),
      /** Acceptable pause multiplier for peers that say they are throttled (hidden browser tabs). */
      throttledFactor: v.optional(
        v.pipe(v.number('a number from 1 to 100'), v.minValue(1, 'a number from 1 to 100'), v.maxValue(100, 'a number from 1 to 100')),
        LIMITS.healthThrottledFactor,
      ),
    },
    unknownKey,
  ),
  v.forward(
    v.check((health) => health.deadPhi > health.suspectPhi, 'above suspectPhi: a peer is suspected before it is declared dead'),
    ['deadPhi'],
  ),
)

export const ConfigSchema = v.strictObject(
  {
    network: v.optional(NetworkConfigSchema, {}),
    security: v.optional(SecurityConfigSchema, {}),
    scheduler: v.optional(SchedulerConfigSchema, {}),
    monitoring: v.optional(MonitoringConfigSchema, {}),
    health: v.optional(HealthConfigSchema, {}),
  },
  unknownKey,
)

export type NoodleConfig = v.InferOutput<typeof ConfigSchema>
export type NoodleConfigInput = v.InferInput<typeof ConfigSchema>
