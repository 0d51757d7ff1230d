// What the simulation measures, each on NoodleNet's own code driven by simulated time: gossip convergence (a model
// of gossipsub's eager mesh push and lazy IHAVE/IWANT repair: gossipsub is libp2p's code, not ours), routing
// (shared/src/routing's shortestPaths and linkCost over the whole topology), failure detection (shared/src/health's
// PhiAccrualDetector with the FailureDetector's settings, one per monitored neighbour) and scheduling (shared/src/
// scheduler's placeTask and CostModel deciding on stale gossiped load, against an omniscient placement).

import {
  type Adjacency,
  breakTies,
  type Candidate,
  CostModel,
  fastest,
  LIMITS,
  linkCost,
  PhiAccrualDetector,
  parseTask,
  placeTask,
  type ScoringStrategy,
  shortestPaths,
} from '@noodlenet/shared'
import { DEFAULT_NETWORK, type NetworkOptions, SimNetwork } from './network.js'
import { percentile, Simulator } from './simulator.js'

export interface Distribution {
  p50: number
  p99: number
  max: number
}

function distribution(values: number[]): Distribution {
  const round = (x: number) => Math.round(x * 10) / 10
  return { p50: round(percentile(values, 50)), p99: round(percentile(values, 99)), max: round(values.reduce((a, b) => Math.max(a, b), 0)) }
}

function network(nodes: number, seed: number, overrides: Partial<NetworkOptions> = {}): { sim: Simulator; net: SimNetwork } {
  const sim = new Simulator(seed)
  return { sim, net: new SimNetwork({ ...DEFAULT_NETWORK, nodes, ...overrides }, sim.random) }
}

// ---------------------------------------------------------------------------------------------------------------
// Gossip

export interface GossipResult {
  nodes: number
  down: number
  /** Share of the live nodes the message reached. */
  reached: number
  /** Time from publication to arrival at a live node (ms). */
  arrival: Distribution
  messages: number
}

/** One message published by node 0 (gossipsub defaults: mesh degree 6, heartbeat 1 s, IHAVE to 6 others for the
 *  last 3 heartbeats). `downShare` of the nodes are down (churn). */
export function gossipConvergence(nodes: number, seed: number, options: { downShare?: number; loss?: number } = {}): GossipResult {
  const { sim, net } = network(nodes, seed, options.loss === undefined ? {} : { loss: options.loss })
  const D = 6
  const HEARTBEAT_MS = 1000
  const HISTORY = 3
  let down = 0
  for (let i = 1; i < nodes; i++) {
    if (sim.random.next() < (options.downShare ?? 0)) {
      net.up[i] = 0
      down++
    }
  }
  // Each node's mesh: D of its links (its topic peers); the rest get IHAVE gossip.
  const mesh = net.links.map((links) => [...links].sort(() => sim.random.next() - 0.5).slice(0, D))
  const arrived = new Float64Array(nodes).fill(Number.NaN)
  let messages = 0
  const send = (from: number, to: number, then: () => void): void => {
    messages++
    const delay = net.delay(from, to)
    if (delay !== undefined) sim.after(delay, then)
  }
  const receive = (node: number, from: number): void => {
    if (!Number.isNaN(arrived[node])) return
    arrived[node] = sim.now
    for (const peer of mesh[node]) if (peer !== from) send(node, peer, () => receive(peer, node))
  }
  // Lazy repair: at each heartbeat a node that has the message (seen within HISTORY heartbeats) tells D non-mesh
  // links; one that lacks it asks (IWANT) and gets it.
  for (let node = 0; node < nodes; node++) {
    const phase = sim.random.next() * HEARTBEAT_MS
    const beat = (): void => {
      if (!Number.isNaN(arrived[node]) && sim.now - arrived[node] <= HISTORY * HEARTBEAT_MS && net.up[node] === 1) {
        const others = net.links[node].filter((peer) => !mesh[node].includes(peer))
        for (let k = 0; k < Math.min(D, others.length); k++) {
          const peer = others[sim.random.int(others.length)]
          send(node, peer, () => {
            if (Number.isNaN(arrived[peer])) send(peer, node, () => send(node, peer, () => receive(peer, node)))
          })
        }
      }
      if (sim.now < 30_000) sim.after(HEARTBEAT_MS, beat)
    }
    sim.after(phase, beat)
  }
  receive(0, -1)
  sim.run(30_000)
  const times: number[] = []
  for (let i = 0; i < nodes; i++) if (net.up[i] === 1 && !Number.isNaN(arrived[i])) times.push(arrived[i])
  return { nodes, down, reached: times.length / (nodes - down), arrival: distribution(times), messages }
}

// ---------------------------------------------------------------------------------------------------------------
// Routing

export interface RoutingResult {
  nodes: number
  links: number
  /** Full Dijkstra recompute from one node (ms, median of the runs). */
  recomputeMs: number
  routes: number
  /** Mean equal-cost next hops per destination, and hops to a destination. */
  meanNextHops: number
  hops: Distribution
  /** With the network cut in two: destinations still reachable. */
  reachableWhenPartitioned: number
}

/** Route computation on the simulated topology: link costs from round trips and far-end load (routing/cost.ts). */
export function routing(nodes: number, seed: number, runs = 20): RoutingResult {
  const { sim, net } = network(nodes, seed)
  const load = Array.from({ length: nodes }, () => sim.random.next())
  const build = (usable: (a: number, b: number) => boolean): Adjacency => {
    const adjacency = new Map<string, Map<string, number>>()
    for (let a = 0; a < nodes; a++) {
      const out = new Map<string, number>()
      for (const b of net.links[a]) if (usable(a, b)) out.set(`n${b}`, linkCost({ rttMs: 2 * net.baseDelay(a, b) }, load[b]))
      adjacency.set(`n${a}`, out)
    }
    return adjacency
  }
  const adjacency = build(() => true)
  const times: number[] = []
  let routes = shortestPaths('n0', adjacency)
  for (let i = 0; i < runs + 3; i++) {
    const started = performance.now()
    routes = shortestPaths(`n${i}`, adjacency)
    if (i >= 3) times.push(performance.now() - started) // the first runs warm the JIT up
  }
  routes = shortestPaths('n0', adjacency)
  let nextHops = 0
  const hops: number[] = []
  for (const route of routes.values()) {
    nextHops += route.nextHops.length
    hops.push(route.hops)
  }
  net.partition(2)
  const cut = shortestPaths(
    'n0',
    build((a, b) => net.group[a] === net.group[b]),
  )
  return {
    nodes,
    links: net.linkCount(),
    recomputeMs: Math.round(percentile(times, 50) * 100) / 100,
    routes: routes.size,
    meanNextHops: Math.round((nextHops / routes.size) * 100) / 100,
    hops: distribution(hops),
    reachableWhenPartitioned: cut.size,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Failure detection

export interface DetectionResult {
  nodes: number
  monitors: number
  simulatedSeconds: number
  killed: number
  /** From a node's death to each monitoring neighbour declaring it dead (ms). */
  detection: Distribution
  undetected: number
  /** Live peers that a monitor would have declared dead, or suspected, at some point (per monitor pair). */
  falseDead: number
  falseSuspect: number
  heartbeats: number
}

/** Every node pings each neighbour every heartbeat (config health.heartbeatMs); `killShare` of the nodes die at
 *  random times in the middle third; GC-like pauses delay a node's answers now and then. */
export function failureDetection(
  nodes: number,
  seed: number,
  options: { seconds: number; killShare: number; pauseChance?: number; loss?: number },
): DetectionResult {
  const { sim, net } = network(nodes, seed, options.loss === undefined ? {} : { loss: options.loss })
  const heartbeatMs = LIMITS.healthHeartbeatMs
  const tickMs = heartbeatMs / 4
  const deadPhi = LIMITS.healthDeadPhi
  const suspectPhi = LIMITS.healthSuspectPhi
  const pauseChance = options.pauseChance ?? 0.01
  const end = options.seconds * 1000
  const diesAt = new Float64Array(nodes).fill(Number.POSITIVE_INFINITY)
  let killed = 0
  for (let i = 0; i < nodes; i++) {
    if (sim.random.next() < options.killShare) {
      diesAt[i] = end / 3 + sim.random.next() * (end / 3)
      killed++
    }
  }
  const detection: number[] = []
  let undetected = 0
  let falseDead = 0
  let falseSuspect = 0
  let heartbeats = 0
  let monitors = 0
  for (let monitor = 0; monitor < nodes; monitor++) {
    for (const peer of net.links[monitor]) {
      monitors++
      const detector = new PhiAccrualDetector({
        maxSampleSize: LIMITS.healthSampleSize,
        minStdDeviationMs: heartbeatMs * LIMITS.healthMinStdDeviationFraction,
        acceptableHeartbeatPauseMs: heartbeatMs * LIMITS.healthAcceptablePauseHeartbeats,
        firstHeartbeatEstimateMs: heartbeatMs,
        minIntervalMs: heartbeatMs / 2,
        now: () => sim.now,
      })
      const tickPhase = sim.random.next() * tickMs
      let wasDead = false
      let wasSuspect = false
      const arrive = (): void => {
        if (sim.now >= diesAt[monitor]) return
        // phi only rises with silence: its value just before this heartbeat is the most it reached since the last.
        const phi = detector.phi()
        if (phi >= deadPhi && !wasDead) {
          wasDead = true
          falseDead++
        }
        if (phi >= suspectPhi && !wasSuspect) {
          wasSuspect = true
          falseSuspect++
        }
        detector.heartbeat()
        heartbeats++
      }
      const ping = (): void => {
        if (sim.now >= end || sim.now >= diesAt[monitor]) return
        if (sim.now < diesAt[peer]) {
          const there = net.delay(monitor, peer)
          const back = net.delay(peer, monitor)
          const pause = sim.random.next() < pauseChance ? sim.random.logNormal(200, 0.8) : 0
          if (there !== undefined && back !== undefined && sim.now + there + pause < diesAt[peer]) sim.after(there + pause + back, arrive)
        }
        sim.after(heartbeatMs, ping)
      }
      sim.after(sim.random.next() * heartbeatMs, ping)
      if (diesAt[peer] < end && diesAt[monitor] > diesAt[peer]) {
        // When does the monitor's tick first see phi >= deadPhi? phi is monotone in silence: bisect on the clock,
        // once the answers to pings sent before the death have all come in (the detector's history is then final).
        sim.after(diesAt[peer] + 1_500, () => {
          const saved = sim.now
          let lo = diesAt[peer]
          let hi = diesAt[peer] + 600_000
          sim.now = hi
          if (detector.phi() < deadPhi) {
            undetected++
            sim.now = saved
            return
          }
          for (let i = 0; i < 40; i++) {
            const mid = (lo + hi) / 2
            sim.now = mid
            if (detector.phi() >= deadPhi) hi = mid
            else lo = mid
          }
          sim.now = saved
          const tick = Math.ceil((hi - tickPhase) / tickMs) * tickMs + tickPhase
          if (tick <= diesAt[monitor]) detection.push(tick - diesAt[peer])
        })
      }
    }
  }
  sim.run(end)
  return {
    nodes,
    monitors,
    simulatedSeconds: options.seconds,
    killed,
    detection: distribution(detection),
    undetected,
    falseDead,
    falseSuspect,
    heartbeats,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Scheduling

export interface SchedulingResult {
  workers: number
  submitters: number
  tasks: number
  load: number
  /** Response time, submission to result (ms): NoodleNet's placement on gossiped load, and the omniscient one. */
  ours: { mean: number; p99: number }
  ideal: { mean: number; p99: number }
  /** ours.mean / ideal.mean (Sparrow reports 1.12 or better against its ideal). */
  ratio: number
  placeMsPerTask: number
}

interface Worker {
  cores: number
  /** True ms per unit of work on one core. */
  msPerWork: number
  running: number
  queue: Array<() => void>
  /** What its last gossiped profile said (the submitters' view). */
  advertised: { queueLength: number; tasksRunning: number }
}

/** Workers of mixed sizes and speeds; tasks arrive (Poisson) at `load` of the mesh's capacity at `submitters`
 *  nodes, each placing with placeTask on what presence gossip said (republished every presenceIntervalMs) plus its
 *  own in-flight tasks, learning speeds from results and breaking near-ties at random as TaskService does
 *  (`tieJitter: 0` turns that off). Its cost model learns link round trips as a node's does, from the failure
 *  detector's pings (link:rtt): to its mesh neighbours from the start, and to a worker from one heartbeat after its
 *  first task there (the connection that task opened is pinged from then on). Oracles, for what the gap is made of:
 *  `knownRtt` gives the model every link's round trip, `knownSpeed` every worker's true speed as if observed many
 *  times. The ideal places each task where it finishes first, knowing every queue and speed exactly. */
export function scheduling(
  workers: number,
  seed: number,
  options: {
    tasks: number
    load: number
    submitters: number
    strategy?: ScoringStrategy
    tieJitter?: number
    knownRtt?: boolean
    knownSpeed?: boolean
  },
): SchedulingResult {
  const { sim, net } = network(workers + options.submitters, seed)
  const CORES = [1, 2, 4, 4, 8, 8, 16]
  const MEAN_WORK = 100 // ms on one core at speed 1
  const pool: Worker[] = Array.from({ length: workers }, () => ({
    cores: CORES[sim.random.int(CORES.length)],
    msPerWork: sim.random.logNormal(1, 0.4),
    running: 0,
    queue: [],
    advertised: { queueLength: 0, tasksRunning: 0 },
  }))
  const capacityPerMs = pool.reduce((sum, w) => sum + w.cores / (w.msPerWork * MEAN_WORK), 0)
  const meanGapMs = 1 / (capacityPerMs * options.load)
  // Arrivals and works are drawn up front so both placements see the same tasks.
  const arrivals: Array<{ at: number; work: number; submitter: number }> = []
  for (let i = 0, t = 0; i < options.tasks; i++) {
    t += sim.random.exponential(meanGapMs)
    arrivals.push({ at: t, work: sim.random.exponential(MEAN_WORK), submitter: sim.random.int(options.submitters) })
  }
  const oneWay = (submitter: number, worker: number) => net.baseDelay(workers + submitter, worker)

  // The omniscient placement: earliest finish, exact queues (each worker's cores as their next free times).
  const free = pool.map((w) => new Float64Array(w.cores))
  const idealTimes: number[] = []
  for (const task of arrivals) {
    let best = Number.POSITIVE_INFINITY
    let bestWorker = 0
    let bestCore = 0
    for (let w = 0; w < workers; w++) {
      const cores = free[w]
      let core = 0
      for (let c = 1; c < cores.length; c++) if (cores[c] < cores[core]) core = c
      const start = Math.max(task.at + oneWay(task.submitter, w), cores[core])
      const finish = start + task.work * pool[w].msPerWork + oneWay(task.submitter, w)
      if (finish < best) {
        best = finish
        bestWorker = w
        bestCore = core
      }
    }
    free[bestWorker][bestCore] = best - oneWay(task.submitter, bestWorker)
    idealTimes.push(best - task.at)
  }

  // NoodleNet's placement, event by event.
  const PRESENCE_MS = LIMITS.presenceIntervalMs
  const candidate = (w: number): Candidate => ({
    peerId: `w${w}`,
    local: false,
    health: 'alive',
    cores: pool[w].cores,
    totalMemoryMB: 8192,
    freeMemoryMB: 4096,
    gpu: false,
    gpuFallback: false,
    npu: false,
    load: 0,
    queueLength: pool[w].advertised.queueLength,
    queueLimit: undefined,
    tasksRunning: pool[w].advertised.tasksRunning,
    kernels: undefined,
    price: 0,
  })
  // What presence gossip has told the submitters (all hear the same profiles): replaced one worker at a time.
  const view: Candidate[] = []
  for (let w = 0; w < workers; w++) {
    view.push(candidate(w))
    const publish = (): void => {
      pool[w].advertised = { queueLength: pool[w].queue.length, tasksRunning: pool[w].running }
      view[w] = candidate(w)
      if (sim.now < arrivals[arrivals.length - 1].at) sim.after(PRESENCE_MS, publish)
    }
    sim.after(sim.random.next() * PRESENCE_MS, publish)
  }
  const submitters = Array.from({ length: options.submitters }, () => ({
    model: new CostModel({ msPerWork: 1 }),
    inFlight: new Map<string, number>(),
  }))
  if (options.knownRtt === true) {
    for (let s = 0; s < options.submitters; s++)
      for (let w = 0; w < workers; w++) submitters[s].model.observeLink(`w${w}`, { rttMs: 2 * oneWay(s, w) })
  }
  if (options.knownSpeed === true) {
    for (const submitter of submitters)
      for (let w = 0; w < workers; w++)
        for (let k = 0; k < 20; k++) submitter.model.observe(candidate(w), 'sim', pool[w].msPerWork, 0, { work: 1 })
  }
  // The failure detector's pings, each answer fed to the cost model (NoodleNode: link:rtt -> model.observeLink).
  const lastArrival = arrivals[arrivals.length - 1].at
  const pinged = submitters.map(() => new Set<number>())
  const ping = (s: number, w: number): void => {
    const there = net.delay(workers + s, w)
    const back = net.delay(w, workers + s)
    if (there !== undefined && back !== undefined) {
      sim.after(there + back, () => submitters[s].model.observeLink(`w${w}`, { rttMs: there + back }))
    }
    if (sim.now < lastArrival) sim.after(LIMITS.healthHeartbeatMs, () => ping(s, w))
  }
  const connect = (s: number, w: number, firstPingAfterMs: number): void => {
    if (pinged[s].has(w)) return
    pinged[s].add(w)
    sim.after(firstPingAfterMs, () => ping(s, w))
  }
  for (let s = 0; s < options.submitters; s++) {
    for (const neighbour of net.links[workers + s]) {
      if (neighbour >= workers) continue
      // A mesh link is older than the run: its detector has a few answers already.
      for (let k = 0; k < 3; k++) {
        const there = net.delay(workers + s, neighbour)
        const back = net.delay(neighbour, workers + s)
        if (there !== undefined && back !== undefined) submitters[s].model.observeLink(`w${neighbour}`, { rttMs: there + back })
      }
      connect(s, neighbour, sim.random.next() * LIMITS.healthHeartbeatMs)
    }
  }
  const declaration = parseTask({ kernel: 'sim', input: null })
  // What TaskService does around the task's strategy (fastest): near-ties broken at random, here from the seeded source.
  const random = (): number => sim.random.next()
  const tieBreak: ScoringStrategy = (task, candidate, estimate) =>
    breakTies(fastest(task, candidate, estimate), random, options.tieJitter ?? LIMITS.placementTieJitter)
  const oursTimes: number[] = []
  let placeMs = 0
  const start = (w: number, run: () => void): void => {
    const worker = pool[w]
    if (worker.running < worker.cores) {
      worker.running++
      run()
    } else worker.queue.push(run)
  }
  const finish = (w: number): void => {
    const worker = pool[w]
    worker.running--
    const next = worker.queue.shift()
    if (next !== undefined) {
      worker.running++
      next()
    }
  }
  for (const task of arrivals) {
    sim.after(task.at - sim.now, () => {
      const submitter = submitters[task.submitter]
      const placing = performance.now()
      const { peer } = placeTask(declaration, view, {
        model: submitter.model,
        inFlight: submitter.inFlight,
        work: task.work,
        inputBytes: 0,
        strategy: options.strategy ?? tieBreak,
      })
      placeMs += performance.now() - placing
      const w = Number(peer.peerId.slice(1))
      submitter.inFlight.set(peer.peerId, (submitter.inFlight.get(peer.peerId) ?? 0) + 1)
      connect(task.submitter, w, sim.random.next() * LIMITS.healthHeartbeatMs)
      const submittedAt = sim.now
      sim.after(oneWay(task.submitter, w), () =>
        start(w, () => {
          const durationMs = task.work * pool[w].msPerWork
          sim.after(durationMs, () => {
            finish(w)
            sim.after(oneWay(task.submitter, w), () => {
              oursTimes.push(sim.now - submittedAt)
              const left = (submitter.inFlight.get(peer.peerId) ?? 1) - 1
              if (left === 0) submitter.inFlight.delete(peer.peerId)
              else submitter.inFlight.set(peer.peerId, left)
              submitter.model.observe(peer, 'sim', durationMs, 0, { work: task.work })
            })
          })
        }),
      )
    })
  }
  sim.run()
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length
  const ours = { mean: Math.round(mean(oursTimes)), p99: Math.round(percentile(oursTimes, 99)) }
  const ideal = { mean: Math.round(mean(idealTimes)), p99: Math.round(percentile(idealTimes, 99)) }
  return {
    workers,
    submitters: options.submitters,
    tasks: options.tasks,
    load: options.load,
    ours,
    ideal,
    ratio: Math.round((mean(oursTimes) / mean(idealTimes)) * 100) / 100,
    placeMsPerTask: Math.round((placeMs / options.tasks) * 1000) / 1000,
  }
}
