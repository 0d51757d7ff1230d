// The noodlenet_* metrics of one node, defined in one place (docs/METRICS.md describes each). Components get this
// object and call its methods where things happen; amounts that are state (connections, queues, profiles) are read
// at scrape time through `collectFrom`, so they cost nothing between scrapes.

import type { NoodleErrorCode } from '../errors.js'
import type { TransportName } from '../net/peers.js'
import { type Counter, type Gauge, type Histogram, MetricsRegistry } from './metrics.js'

/** Transports the peers gauge always shows (at 0 when none), so a dashboard sees a peer leave. */
const TRANSPORTS: readonly TransportName[] = ['tcp', 'websocket', 'webrtc', 'memory', 'other']
/** Alert severities, shown at 0 until the alerting layer raises one. */
export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const

/** What the node reports at each scrape (read, not counted). */
export interface NodeState {
  /** Connected peers by the transport of their first open connection. */
  peersByTransport(): Partial<Record<TransportName, number>>
  /** Node profiles held from presence gossip. */
  profilesKnown(): number
  /** The executor's queue; undefined when this node runs no tasks. */
  executorLoad(): { running: number; queueLength: number } | undefined
  /** Tasks this node submitted: waiting for a peer, and handed out without an answer yet. */
  submitted(): { queued: number; inFlight: number }
}

export class NodeMetrics {
  readonly registry: MetricsRegistry
  readonly peersConnected: Gauge<'transport'>
  readonly peerConnects: Counter
  readonly peerDisconnects: Counter
  readonly tasks: Counter<'kernel' | 'outcome'>
  readonly taskDuration: Histogram<'kernel'>
  readonly authDecisions: Counter<'decision' | 'code' | 'command'>
  readonly routeComputations: Counter
  readonly routeTableSize: Gauge
  readonly routeForwards: Counter<'role' | 'outcome'>
  readonly failureDetections: Counter
  readonly tasksReplaced: Counter<'reason'>
  readonly taskDuplicates: Counter
  readonly taskRetries: Counter
  readonly peerBreakers: Gauge<'state'>
  readonly tasksShed: Counter<'priority'>
  readonly componentFailures: Counter<'component'>
  readonly quorumDisagreements: Counter
  readonly alertsFiring: Gauge<'severity'>
  readonly profilesKnown: Gauge
  readonly executorRunning: Gauge
  readonly executorQueueLength: Gauge
  readonly submittedQueued: Gauge
  readonly submittedInFlight: Gauge

  constructor(registry = new MetricsRegistry()) {
    this.registry = registry
    this.peersConnected = registry.gauge('noodlenet_peers_connected', {
      help: 'Peers connected now, by the transport of the connection (tcp, websocket, webrtc, memory, other).',
      labels: ['transport'],
    })
    this.peerConnects = registry.counter('noodlenet_peer_connects_total', { help: 'Peers that connected (a peer joining the mesh).' })
    this.peerDisconnects = registry.counter('noodlenet_peer_disconnects_total', {
      help: 'Peers whose last connection closed (a peer leaving the mesh, or the link to it breaking).',
    })
    this.tasks = registry.counter('noodlenet_tasks_total', {
      help: 'Tasks this node executed, by kernel and outcome (ok or the error code); counted where the task ran.',
      labels: ['kernel', 'outcome'],
    })
    this.taskDuration = registry.histogram('noodlenet_task_duration_seconds', {
      help: "Seconds a task took on this node's executor (queue wait included), by kernel, whatever the outcome.",
      labels: ['kernel'],
    })
    this.authDecisions = registry.counter('noodlenet_auth_decisions_total', {
      help: 'Authorization decisions of the security gate, by decision (allow, deny), error code (none when allowed) and command.',
      labels: ['decision', 'code', 'command'],
    })
    this.routeComputations = registry.counter('noodlenet_route_computations_total', {
      help: 'Route table computations (Dijkstra over the link-state topology).',
    })
    this.routeTableSize = registry.gauge('noodlenet_route_table_size', {
      help: 'Destinations this node has a route to (the route table after its last computation).',
    })
    this.routeForwards = registry.counter('noodlenet_route_forwards_total', {
      help: 'Routed requests by role (source, relay, destination) and outcome (ok, answered-error, or the error code).',
      labels: ['role', 'outcome'],
    })
    this.failureDetections = registry.counter('noodlenet_failure_detections_total', {
      help: 'Peers the failure detector declared suspect or dead.',
    })
    this.tasksReplaced = registry.counter('noodlenet_tasks_replaced_total', {
      help: "Tasks this node submitted that it placed again because the executor's lease lapsed (reason lease) or it was declared dead (reason dead).",
      labels: ['reason'],
    })
    this.taskDuplicates = registry.counter('noodlenet_task_duplicate_results_total', {
      help: 'Results that arrived after another attempt of the same task had answered: dropped, the caller got the first.',
    })
    this.taskRetries = registry.counter('noodlenet_task_retries_total', {
      help: 'Times this node placed a submitted task again after an attempt failed or its lease lapsed (what the retry budget counts).',
    })
    this.peerBreakers = registry.gauge('noodlenet_peer_breakers', {
      help: "This node's per-peer circuit breakers by state (closed, open, half-open); an open one sends the peer no tasks.",
      labels: ['state'],
    })
    this.tasksShed = registry.counter('noodlenet_tasks_shed_total', {
      help: 'Tasks this node refused or gave up under overload (TASK_SHED), by their priority (0 lowest to 9).',
      labels: ['priority'],
    })
    this.componentFailures = registry.counter('noodlenet_component_failures_total', {
      help: 'Failures of a supervised component (executor: restarted with backoff; a guarded event handler: its exception caught), by component.',
      labels: ['component'],
    })
    this.quorumDisagreements = registry.counter('noodlenet_quorum_disagreements_total', {
      help: 'Replica outputs that disagreed with the quorum (or matched no majority); per peer in GET /api/health/peers.',
    })
    this.alertsFiring = registry.gauge('noodlenet_alerts_firing', { help: 'Alerts firing now, by severity.', labels: ['severity'] })
    this.profilesKnown = registry.gauge('noodlenet_presence_profiles', { help: 'Node profiles of other peers held from presence gossip.' })
    this.executorRunning = registry.gauge('noodlenet_executor_running_tasks', { help: "Tasks running on this node's executor now." })
    this.executorQueueLength = registry.gauge('noodlenet_executor_queued_tasks', {
      help: "Tasks waiting in this node's executor queue now.",
    })
    this.submittedQueued = registry.gauge('noodlenet_submitted_tasks_waiting', {
      help: 'Tasks this node submitted that wait for a peer to take them.',
    })
    this.submittedInFlight = registry.gauge('noodlenet_submitted_tasks_in_flight', {
      help: 'Tasks this node submitted that a peer (or this node) runs now, without an answer yet.',
    })
    // Series that exist before anything happens: 0 is an answer, an absent series is a question.
    this.routeComputations.inc(undefined, 0)
    this.failureDetections.inc(undefined, 0)
    this.taskDuplicates.inc(undefined, 0)
    for (const reason of ['lease', 'dead']) this.tasksReplaced.inc({ reason }, 0)
    this.taskRetries.inc(undefined, 0)
    for (const state of ['closed', 'open', 'half-open']) this.peerBreakers.set({ state }, 0)
    this.peerConnects.inc(undefined, 0)
    this.peerDisconnects.inc(undefined, 0)
    for (const severity of ALERT_SEVERITIES) this.alertsFiring.set({ severity }, 0)
    for (const transport of TRANSPORTS) this.peersConnected.set({ transport }, 0)
  }

  /** Reads the node's state at every scrape. */
  collectFrom(state: NodeState): void {
    this.registry.onCollect(() => {
      const peers = state.peersByTransport()
      for (const transport of TRANSPORTS) this.peersConnected.set({ transport }, peers[transport] ?? 0)
      this.profilesKnown.set(undefined, state.profilesKnown())
      const load = state.executorLoad()
      this.executorRunning.set(undefined, load?.running ?? 0)
      this.executorQueueLength.set(undefined, load?.queueLength ?? 0)
      const submitted = state.submitted()
      this.submittedQueued.set(undefined, submitted.queued)
      this.submittedInFlight.set(undefined, submitted.inFlight)
    })
  }

  /** A task ended on this node's executor: `outcome` is 'ok' or its error code. */
  taskFinished(kernel: string, outcome: 'ok' | NoodleErrorCode, seconds: number): void {
    this.tasks.inc({ kernel, outcome })
    this.taskDuration.observe({ kernel }, seconds)
  }

  /** The security gate decided about a request. */
  authDecision(decision: 'allow' | 'deny', code: string | undefined, command: string): void {
    this.authDecisions.inc({ decision, code: code ?? 'none', command })
  }
}

/** The kernel as a label value: its name when the executor knows it, `custom` for custom WebAssembly kernels
 *  (one name per module hash), `unknown` otherwise; a remote peer cannot make a series per name it invents. */
export function kernelLabel(kernel: string, known: boolean): string {
  if (kernel.startsWith('custom:')) return 'custom'
  return known ? kernel : 'unknown'
}
