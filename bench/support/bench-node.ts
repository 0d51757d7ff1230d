// A NoodleNode for benchmarks: TCP on 127.0.0.1 with an OS-picked port, no mDNS, quiet logs, and presence gossip
// slowed so that background traffic disturbs the measured round trips as little as it can.

// The Node shims and platform come straight from node/src: @noodlenet/node exports neither (it is the CLI's package).
import '../../node/src/shims.js'
import { createInterface } from 'node:readline'
import { NoodleNode, resolveConfig } from '@noodlenet/shared'
import { nodePlatform } from '../../node/src/platform.js'
import type { BenchProcess } from './bench-process.js'

export interface BenchNodeOptions {
  /** Roots whose capability tokens this node honours (security.trustedRoots). */
  trustedRoots?: string[]
  /** false: no worker pool, so no executor; the node only submits tasks. Default true. */
  executes?: boolean
  /** monitoring.metrics (default true): false counts nothing, for bench/monitoring.ts's baseline. */
  metrics?: boolean
  /** scheduler.leaseMs (default LIMITS.taskLeaseMs): 0 turns task leases and heartbeats off, for bench/failover.ts. */
  leaseMs?: number
}

export async function startBenchNode(options: BenchNodeOptions = {}): Promise<NoodleNode> {
  const config = resolveConfig([
    {
      source: 'bench',
      values: {
        network: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, presenceIntervalMs: 600_000 },
        monitoring: { logLevel: 'ERROR', metrics: options.metrics ?? true },
        security: { trustedRoots: options.trustedRoots ?? [] },
        ...(options.leaseMs === undefined ? {} : { scheduler: { leaseMs: options.leaseMs } }),
      },
    },
  ])
  const platform = nodePlatform()
  if (options.executes === false) delete platform.createWorkerPool
  const node = await NoodleNode.create({ config, platform })
  await node.start()
  return node
}

/** The rest of a benchmark's server process (bench-process.ts starts it): prints the ready line ({ peerId, addrs })
 *  on stdout, hands every stdin line to `onCommand`, and stops the node and exits when stdin closes or on SIGTERM. */
export function serveBenchProcess(node: NoodleNode, onCommand?: (line: string) => void): void {
  let stopping = false
  const stop = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    await node.stop()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop())
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => onCommand?.(line))
  lines.on('close', () => void stop())
  process.stdout.write(`${JSON.stringify({ peerId: node.peerId.toString(), addrs: node.addrs() })}\n`)
}

/** Waits until the submitter has the executor's profile (the scheduler places only on peers it knows), asking the
 *  executor to publish it until it arrives: gossipsub drops a message published before the peers exchange their
 *  subscriptions. */
export async function heardFrom(submitter: NoodleNode, server: Pick<BenchProcess, 'peerId' | 'send'>): Promise<void> {
  if (submitter.presence.get(server.peerId) !== undefined) return
  let onUpdate: ((event: CustomEvent<{ peerId: string }>) => void) | undefined
  const heard = new Promise<void>((resolve) => {
    onUpdate = (event) => {
      if (event.detail.peerId === server.peerId) resolve()
    }
    submitter.presence.addEventListener('presence:update', onUpdate)
  })
  server.send('publish')
  const ask = setInterval(() => server.send('publish'), 250)
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error("the executor's profile did not arrive within 20 s")), 20_000).unref(),
  )
  try {
    await Promise.race([heard, timeout])
  } finally {
    clearInterval(ask)
    if (onUpdate !== undefined) submitter.presence.removeEventListener('presence:update', onUpdate)
  }
}
