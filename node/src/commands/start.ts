// `noodlenet start`: runs a headless peer until SIGINT/SIGTERM. Prints exactly one JSON line on stdout when
// ready; logs go to stderr as JSON lines.

import { createLogger, NoodleNode } from '@noodlenet/shared'
import { AdminApi } from '../admin-api.js'
import { parseCommandArgs } from '../cli-args.js'
import { type ConfigFlag, loadConfig, numericFlag } from '../config-loader.js'
import { loadOrCreateKey } from '../keyfile.js'
import { nodePlatform, stderrSink } from '../platform.js'
import { registerProcessMetrics } from '../process-metrics.js'

export const START_HELP = `Usage: noodlenet start [options]

Runs a headless NoodleNet peer until SIGINT or SIGTERM, then stops gracefully.
When ready it prints one line on stdout:
  {"event":"ready","peerId":"...","addrs":["..."],"api":"http://127.0.0.1:PORT"}
Logs are JSON lines on stderr.

Options:
  --listen MULTIADDR       address to listen on (repeatable; default TCP and WebSockets
                           on all interfaces, random ports: /ip4/0.0.0.0/tcp/0, .../tcp/0/ws)
  --bootstrap MULTIADDR    peer to join through, ending in /p2p/PEERID (repeatable)
  --signaling URL          signalling server to be reachable through over WebRTC, e.g.
                           http://127.0.0.1:7430 (repeatable; peers in its room are dialled)
  --ice-server URL         STUN or TURN server for WebRTC links, e.g. stun:stun.example.org:3478
                           (repeatable; TURN credentials go in the config file)
  --ice-candidates POLICY  all (default) or loopback: keep WebRTC traffic on this machine
  --gpu ADAPTER            run WGSL kernels on this machine's GPU through Dawn: system (a
                           hardware adapter) or any (else SwiftShader, in software); default off
  --api-port N             admin HTTP API port on 127.0.0.1 (default 7420; 0 picks a free one)
  --api-host HOST          admin HTTP API host (default 127.0.0.1; the API acts as this peer)
  --key FILE               identity key; created (mode 0600) when missing, so a restarted
                           peer keeps its peer id (default: a new identity each run)
  --config FILE            JSON config file (also NOODLE_NET_CONFIG_PATH); see docs/CONFIG.md
  --no-mdns                do not discover peers on the LAN with mDNS
  --target-degree N        connections the mesh maintainer keeps (default 8)
  --deny-peer PEERID       never dial this peer nor accept its connections; it is still
                           reached through routes via other peers (repeatable)
  --log-level LEVEL        DEBUG, INFO, WARNING, ERROR or CRITICAL (also NOODLE_NET_LOG_LEVEL)
  --security-level LEVEL   PUBLIC, INTERNAL, CONFIDENTIAL, SECRET or CRITICAL
                           (also NOODLE_NET_SECURITY_LEVEL)
  --trusted-root PEERID    a key whose capability tokens this peer honours (repeatable)
  --audit-log FILE         append the hash-chained audit log to FILE (default: memory)
  --revocations FILE       persist capability revocations in FILE (default: memory)
  -h, --help               show this help

Precedence, later wins: defaults, config file, environment, flags.
Exit codes: 0 after a graceful stop, 2 for invalid configuration or usage, 1 otherwise.`

const OPTIONS = {
  listen: { type: 'string', multiple: true },
  bootstrap: { type: 'string', multiple: true },
  signaling: { type: 'string', multiple: true },
  'ice-server': { type: 'string', multiple: true },
  'ice-candidates': { type: 'string' },
  gpu: { type: 'string' },
  'api-port': { type: 'string' },
  'api-host': { type: 'string' },
  key: { type: 'string' },
  config: { type: 'string' },
  'no-mdns': { type: 'boolean' },
  'target-degree': { type: 'string' },
  'deny-peer': { type: 'string', multiple: true },
  'log-level': { type: 'string' },
  'security-level': { type: 'string' },
  'trusted-root': { type: 'string', multiple: true },
  'audit-log': { type: 'string' },
  revocations: { type: 'string' },
} as const

export async function startCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, OPTIONS, 'start')
  if (values.help === true) {
    process.stdout.write(`${START_HELP}\n`)
    return 0
  }
  const flags: ConfigFlag[] = []
  if (values.listen !== undefined) flags.push({ flag: '--listen', path: 'network.listen', value: values.listen })
  if (values.bootstrap !== undefined) flags.push({ flag: '--bootstrap', path: 'network.bootstrap', value: values.bootstrap })
  if (values.signaling !== undefined) flags.push({ flag: '--signaling', path: 'network.signaling', value: values.signaling })
  if (values['ice-server'] !== undefined) {
    flags.push({ flag: '--ice-server', path: 'network.iceServers', value: values['ice-server'].map((urls) => ({ urls })) })
  }
  if (values['ice-candidates'] !== undefined) {
    flags.push({ flag: '--ice-candidates', path: 'network.iceCandidates', value: values['ice-candidates'] })
  }
  if (values.gpu !== undefined) flags.push({ flag: '--gpu', path: 'scheduler.gpu', value: values.gpu })
  if (values['api-port'] !== undefined) flags.push({ flag: '--api-port', path: 'network.apiPort', value: numericFlag(values['api-port']) })
  if (values['api-host'] !== undefined) flags.push({ flag: '--api-host', path: 'network.apiHost', value: values['api-host'] })
  if (values['no-mdns'] === true) flags.push({ flag: '--no-mdns', path: 'network.mdns', value: false })
  if (values['target-degree'] !== undefined) {
    flags.push({ flag: '--target-degree', path: 'network.targetDegree', value: numericFlag(values['target-degree']) })
  }
  if (values['deny-peer'] !== undefined) flags.push({ flag: '--deny-peer', path: 'network.denyPeers', value: values['deny-peer'] })
  if (values['log-level'] !== undefined) flags.push({ flag: '--log-level', path: 'monitoring.logLevel', value: values['log-level'] })
  if (values['security-level'] !== undefined) {
    flags.push({ flag: '--security-level', path: 'security.level', value: values['security-level'] })
  }
  if (values['trusted-root'] !== undefined) {
    flags.push({ flag: '--trusted-root', path: 'security.trustedRoots', value: values['trusted-root'] })
  }
  if (values['audit-log'] !== undefined) flags.push({ flag: '--audit-log', path: 'security.auditLog', value: values['audit-log'] })
  if (values.revocations !== undefined) flags.push({ flag: '--revocations', path: 'security.revocationsFile', value: values.revocations })
  // Listen for the stop signals before anything else: a supervisor may send one the moment it reads the ready
  // line, and a signal during start-up must still end in a graceful stop.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  const config = await loadConfig({ configPath: values.config, env: process.env, flags })
  const privateKey = values.key === undefined ? undefined : await loadOrCreateKey(values.key)
  const logger = createLogger({ level: config.monitoring.logLevel, component: 'node', sink: stderrSink })

  const node = await NoodleNode.create({ config, platform: nodePlatform(), privateKey, logger })
  const stopProcessMetrics = config.monitoring.metrics ? registerProcessMetrics(node.metrics) : () => {}
  const api = new AdminApi(node)
  await node.start()
  let apiUrl: string
  try {
    apiUrl = await api.listen(config.network.apiHost, config.network.apiPort)
  } catch (err) {
    await node.stop()
    throw err
  }
  process.stdout.write(`${JSON.stringify({ event: 'ready', peerId: node.peerId.toString(), addrs: node.addrs(), api: apiUrl })}\n`)

  const signal = await stopSignal
  node.logger.info({ signal }, 'stopping')
  // A second signal while stopping means "now": exit without waiting for a graceful close.
  const force = (): never => process.exit(1)
  process.once('SIGINT', force)
  process.once('SIGTERM', force)
  await api.close()
  await node.stop()
  stopProcessMetrics()
  return 0
}
