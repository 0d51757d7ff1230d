// A mesh of many real peers for the scale benchmark and test (issue 8): NoodleNodes on TCP loopback, `perProcess` to
// a process (bench/support/mesh-host.ts), so killing one process (SIGKILL) kills its peers at once, as a crash
// would. A submitter node in this process joins them and holds a capability token for `/task/run` from the root
// every peer trusts. What it measures: how long a new peer's presence takes to reach every peer, and whether map jobs
// complete with every result correct while peers die.

import '../../node/src/shims.js'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createInterface, type Interface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { encodeToken, issueToken, NoodleNode, resolveConfig, TOPICS } from '@noodlenet/shared'
import { nodePlatform } from '../../node/src/platform.js'
import { percentile } from '../sim/simulator.js'

const HOST = fileURLToPath(new URL('./mesh-host.ts', import.meta.url))
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface MeshOptions {
  peers: number
  perProcess: number
  /** Presence (and link-state) gossip interval of every peer (ms). */
  presenceIntervalMs: number
  /** Failure-detector ping interval (ms; config health.heartbeatMs, default 1 s). */
  heartbeatMs?: number
  /** Seconds between metrics summaries (config monitoring.intervalSeconds, default 10). */
  metricsIntervalSeconds?: number
}

/** The config every peer of the mesh (and its submitter) runs with, from the mesh's options. */
export function meshPeerConfig(options: Pick<MeshOptions, 'presenceIntervalMs' | 'heartbeatMs' | 'metricsIntervalSeconds'>) {
  return {
    network: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, presenceIntervalMs: options.presenceIntervalMs },
    ...(options.heartbeatMs === undefined ? {} : { health: { heartbeatMs: options.heartbeatMs } }),
    monitoring: {
      logLevel: process.env.MESH_HOST_LOG_LEVEL ?? 'ERROR',
      ...(options.metricsIntervalSeconds === undefined ? {} : { intervalSeconds: options.metricsIntervalSeconds }),
    },
  }
}

interface HostReady {
  nodes: Array<{ peerId: string; addr: string }>
  startedAt: number
}

export interface HostReport {
  heard: Record<string, Record<string, number>>
  peers: Record<string, number>
}

export class MeshHost {
  readonly nodes: HostReady['nodes']
  readonly startedAt: number
  private readonly child: ChildProcess
  private readonly lines: Interface
  private readonly exited: Promise<unknown>

  constructor(child: ChildProcess, lines: Interface, ready: HostReady, exited: Promise<unknown>) {
    this.child = child
    this.lines = lines
    this.nodes = ready.nodes
    this.startedAt = ready.startedAt
    this.exited = exited
  }

  static async start(count: number, root: string, options: MeshOptions, bootstrap: string[]): Promise<MeshHost> {
    const child = spawn(
      process.execPath,
      [
        // e.g. MESH_HOST_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile every peer process.
        ...(process.env.MESH_HOST_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
        '--import',
        'tsx',
        HOST,
        String(count),
        root,
        JSON.stringify({
          presenceIntervalMs: options.presenceIntervalMs,
          heartbeatMs: options.heartbeatMs,
          metricsIntervalSeconds: options.metricsIntervalSeconds,
        }),
        ...bootstrap,
      ],
      {
        cwd: REPO_ROOT,
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    )
    const exited = once(child, 'exit')
    const lines = createInterface({ input: child.stdout! })
    const ready = await Promise.race([
      once(lines, 'line').then(([line]) => JSON.parse(line as string) as HostReady),
      exited.then(([code]) => {
        throw new Error(`mesh-host exited with code ${code} before it was ready`)
      }),
    ])
    return new MeshHost(child, lines, ready, exited)
  }

  /** CPU time the process has used (s, user + system), from /proc; undefined where there is none (not Linux). */
  cpuSeconds(): number | undefined {
    try {
      const fields = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8').split(') ')[1].split(' ')
      // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
      return (Number(fields[11]) + Number(fields[12])) / 100
    } catch {
      return undefined
    }
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  async report(): Promise<HostReport> {
    const line = once(this.lines, 'line')
    this.child.stdin?.write('report\n')
    return JSON.parse((await line)[0] as string) as HostReport
  }

  /** SIGKILL: its peers vanish without a goodbye. */
  async kill(): Promise<void> {
    if (!this.alive) return
    this.child.kill('SIGKILL')
    await this.exited
  }

  async stop(): Promise<void> {
    if (!this.alive) return
    this.child.stdin?.end()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    await this.exited
    clearTimeout(timer)
  }
}

export class Mesh {
  readonly hosts: MeshHost[] = []
  readonly options: MeshOptions
  readonly root: PrivateKey
  submitter: NoodleNode | undefined

  private constructor(options: MeshOptions, root: PrivateKey) {
    this.options = options
    this.root = root
  }

  /** Starts the peers, host by host, and the submitter. Each host bootstraps from two peers picked at random among
   *  those already up (the first host's from nobody): with every peer bootstrapping from the same two, those two held
   *  a link to all 100 and were too loaded to accept the submitter's dial in 5 minutes. */
  static async start(options: MeshOptions): Promise<Mesh> {
    const mesh = new Mesh(options, await generateKeyPair('Ed25519'))
    try {
      const hosts = Math.ceil(options.peers / options.perProcess)
      const first = await MeshHost.start(Math.min(options.perProcess, options.peers), mesh.rootId, options, [])
      mesh.hosts.push(first)
      // Started a few at a time: tsx compiling in many processes at once would only slow all of them down.
      for (let i = 1; i < hosts; i += 4) {
        const batch = Array.from({ length: Math.min(4, hosts - i) }, (_, j) => {
          const count = Math.min(options.perProcess, options.peers - (i + j) * options.perProcess)
          return MeshHost.start(count, mesh.rootId, options, mesh.bootstrap(2))
        })
        mesh.hosts.push(...(await Promise.all(batch)))
      }
      mesh.submitter = await mesh.startSubmitter(mesh.bootstrap(3))
      return mesh
    } catch (err) {
      await mesh.stop()
      throw err
    }
  }

  /** Addresses of `count` live peers picked at random, to bootstrap from. */
  bootstrap(count: number): string[] {
    const nodes = this.hosts.filter((host) => host.alive).flatMap((host) => host.nodes)
    for (let i = nodes.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[nodes[i], nodes[j]] = [nodes[j], nodes[i]]
    }
    return nodes.slice(0, count).map((node) => node.addr)
  }

  get rootId(): string {
    return peerIdFromPrivateKey(this.root).toString()
  }

  /** Peer ids of every peer whose process is alive. */
  livePeers(): string[] {
    return this.hosts.filter((host) => host.alive).flatMap((host) => host.nodes.map((node) => node.peerId))
  }

  private async startSubmitter(bootstrap: string[]): Promise<NoodleNode> {
    const peer = meshPeerConfig(this.options)
    const config = resolveConfig([{ source: 'mesh-harness', values: { ...peer, network: { ...peer.network, bootstrap } } }])
    const platform = nodePlatform()
    delete platform.createWorkerPool // it only submits
    const node = await NoodleNode.create({ config, platform })
    const token = await issueToken({
      key: this.root,
      audience: node.peerId.toString(),
      command: '/task/run',
      policy: { level: 'PUBLIC', kernels: ['echo', 'delay'] },
      expires: Math.floor(Date.now() / 1000) + 3600,
    })
    node.addCapability(encodeToken(token))
    await node.start()
    return node
  }

  /** Every live host's report, merged. */
  async report(): Promise<HostReport> {
    const reports = await Promise.all(this.hosts.filter((host) => host.alive).map((host) => host.report()))
    return {
      heard: Object.assign({}, ...reports.map((r) => r.heard)),
      peers: Object.assign({}, ...reports.map((r) => r.peers)),
    }
  }

  /** Adds one peer in a process of its own and returns its host. */
  async join(): Promise<MeshHost> {
    const host = await MeshHost.start(1, this.rootId, this.options, this.bootstrap(2))
    this.hosts.push(host)
    return host
  }

  async stop(): Promise<void> {
    await this.submitter?.stop()
    await Promise.all(this.hosts.map((host) => host.stop()))
  }
}

export interface ScaleOptions {
  /** Tasks in each map job. */
  tasks: number
  /** Milliseconds each task of the kill job runs (the `delay` kernel), so peers die with work in hand. */
  delayMs: number
  /** Hosts killed during the kill job, from the last one back. */
  killHosts: number
  /** Give up waiting for any one stage after this long (ms). */
  timeoutMs: number
  /** How long the idle CPU of the formed mesh is sampled (ms; default 10 s). */
  idleSampleMs?: number
}

export interface ScaleResult {
  peers: number
  processes: number
  formedMs: number
  /** CPU each peer uses a second (ms) once formed, before any task; NaN where /proc is missing. */
  idleCpuMsPerPeer: number
  presenceReachMs: { p50: number; p99: number; max: number; peers: number }
  map: { tasks: number; correct: number; ms: number; perSecond: number; peersUsed: number }
  kill: {
    tasks: number
    correct: number
    duplicates: number
    /** Tasks that failed, and the first ten of their errors. */
    failedCount: number
    failed: string[]
    ms: number
    peersKilled: number
    ranOnKilled: number
  }
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, state?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state === undefined ? '' : ` (${state()})`}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** Runs the scale scenario on a started mesh: formation, a new peer's presence reach, a map job, and a map job
 *  during which `killHosts` processes are SIGKILLed. */
export async function runScaleScenario(mesh: Mesh, options: ScaleOptions, log: (line: string) => void = () => {}): Promise<ScaleResult> {
  const submitter = mesh.submitter as NoodleNode
  const started = Date.now()
  const peers = mesh.livePeers().length
  // Heard at least once: under load a profile may lapse from the directory for a moment and come back.
  const heard = new Set(submitter.presence.profiles().map((profile) => profile.peerId))
  submitter.addEventListener('presence:update', (evt) => heard.add(evt.detail.peerId))
  await until(
    () => heard.size >= peers,
    options.timeoutMs,
    `the submitter to hear all ${peers} peers`,
    () =>
      `heard ${heard.size}; the submitter has ${submitter.libp2p.getPeers().length} connections, ` +
      `${submitter.libp2p.services.pubsub.getSubscribers(TOPICS.presence).length} presence subscribers`,
  )
  const formedMs = Date.now() - started
  log(`formed: the submitter heard all ${peers} peers in ${formedMs} ms`)

  // What the formed mesh costs with no tasks: CPU of every peer process over a few seconds, per peer.
  const hosts = mesh.hosts.filter((host) => host.alive)
  const before = hosts.map((host) => host.cpuSeconds())
  const idleFrom = performance.now()
  await new Promise((resolve) => setTimeout(resolve, options.idleSampleMs ?? 10_000))
  const idleSeconds = (performance.now() - idleFrom) / 1000
  const cpu = hosts.reduce((sum, host, i) => sum + ((host.cpuSeconds() ?? Number.NaN) - (before[i] ?? Number.NaN)), 0)
  const idleCpuMsPerPeer = Math.round(((cpu / idleSeconds) * 1000 * 10) / peers) / 10
  log(`idle: ${idleCpuMsPerPeer} ms of CPU a second per peer`)

  // A new peer joins: how long until every other peer has heard its presence?
  const joined = await mesh.join()
  const newcomer = joined.nodes[0].peerId
  let reach: number[] = []
  await until(
    async () => {
      const { heard } = await mesh.report()
      const others = Object.entries(heard).filter(([peer]) => peer !== newcomer)
      reach = others.flatMap(([, first]) => (first[newcomer] === undefined ? [] : [first[newcomer] - joined.startedAt]))
      return reach.length === others.length
    },
    options.timeoutMs,
    "every peer to hear the newcomer's presence",
  )
  const presenceReachMs = { p50: percentile(reach, 50), p99: percentile(reach, 99), max: Math.max(...reach), peers: reach.length }
  log(`presence reach of a new peer: p50 ${presenceReachMs.p50} ms, p99 ${presenceReachMs.p99} ms over ${reach.length} peers`)

  // A map job over the whole mesh.
  const mapStarted = performance.now()
  let correct = 0
  const used = new Set<string>()
  for await (const result of submitter.map(
    'echo',
    Array.from({ length: options.tasks }, (_, i) => ({ i })),
  )) {
    if (result.ok && (result.output as { i: number }).i === result.index) {
      correct++
      used.add(result.peer)
    }
  }
  const mapMs = performance.now() - mapStarted
  const map = {
    tasks: options.tasks,
    correct,
    ms: Math.round(mapMs),
    perSecond: Math.round(options.tasks / (mapMs / 1000)),
    peersUsed: used.size,
  }
  log(`map: ${correct}/${options.tasks} correct in ${map.ms} ms on ${used.size} peers`)

  // The same with peers dying a quarter of the way through.
  const victims = mesh.hosts.filter((host) => host.alive && host !== joined).slice(-options.killHosts)
  const killed = new Set(victims.flatMap((host) => host.nodes.map((node) => node.peerId)))
  const seen = new Map<number, number>()
  const failed: string[] = []
  let killCorrect = 0
  let ranOnKilled = 0
  let done = 0
  let killing: Promise<unknown> | undefined
  const killStarted = performance.now()
  for await (const result of submitter.map(
    'delay',
    Array.from({ length: options.tasks }, (_, i) => ({ ms: options.delayMs, value: i })),
  )) {
    seen.set(result.index, (seen.get(result.index) ?? 0) + 1)
    if (result.ok && result.output === result.index) killCorrect++
    else if (!result.ok) failed.push(`${result.index}: ${result.error.code} ${result.error.message}`)
    if (result.ok && killed.has(result.peer)) ranOnKilled++
    if (++done === Math.floor(options.tasks / 4)) {
      log(`killing ${victims.length} processes (${killed.size} peers) with ${options.tasks - done} tasks to go`)
      killing = Promise.all(victims.map((host) => host.kill()))
    }
  }
  await killing
  const kill = {
    tasks: options.tasks,
    correct: killCorrect,
    duplicates: [...seen.values()].filter((n) => n > 1).length,
    failedCount: failed.length,
    failed: failed.slice(0, 10),
    ms: Math.round(performance.now() - killStarted),
    peersKilled: killed.size,
    ranOnKilled,
  }
  log(
    `map with ${killed.size} peers killed: ${killCorrect}/${options.tasks} correct, ${kill.duplicates} duplicated, ${failed.length} failed, ${kill.ms} ms`,
  )
  return { peers, processes: mesh.hosts.length - 1, formedMs, idleCpuMsPerPeer, presenceReachMs, map, kill }
}
