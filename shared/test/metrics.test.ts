// Metrics: the Prometheus text format (HELP and TYPE lines, escaped label values, cumulative histogram buckets up to
// +Inf), the JSON snapshot, one registry per node, and the node's counters moving as tasks run, the gate denies and
// peers come and go. Runs in Node and in Chromium (libp2p's own metrics included).

import { afterEach, describe, expect, it } from 'vitest'
import {
  libp2pMetricName,
  MetricsRegistry,
  NodeMetrics,
  NoodleError,
  NoodleNode,
  type Platform,
  type SecurityLevel,
  type TaskExecutor,
  type TaskRun,
  unitScale,
} from '../src/index.js'
import { eventually, testConfig, testPlatform } from './test-platform.js'

const nodes: NoodleNode[] = []

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.stop()))
})

/** Every line of a text exposition: a comment, or `name{labels} value` for a name announced by HELP and TYPE. */
function checkExposition(text: string): void {
  const typed = new Map<string, string>()
  const helped = new Set<string>()
  const label = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"`
  const sample = new RegExp(String.raw`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{${label}(,${label})*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$`)
  expect(text.endsWith('\n')).toBe(true)
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S/.exec(line)
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary)$/.exec(line)
    if (help !== null) helped.add(help[1])
    else if (type !== null) typed.set(type[1], type[2])
    else {
      const match = sample.exec(line)
      expect(match, line).not.toBeNull()
      const name = match?.[1] ?? ''
      const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((n) => typed.has(n))
      expect(family, `${name} has a TYPE line`).toBeDefined()
      expect(helped.has(family ?? ''), `${name} has a HELP line`).toBe(true)
    }
  }
}

describe('the Prometheus text format', () => {
  it('writes HELP and TYPE, escapes label values and help text, and counts with and without labels', () => {
    const registry = new MetricsRegistry()
    const plain = registry.counter('demo_events_total', { help: 'Events.\nSecond line with a \\ backslash.' })
    const labelled = registry.counter('demo_requests_total', { help: 'Requests.', labels: ['path', 'code'] })
    const gauge = registry.gauge('demo_queue', { help: 'Queue.' })
    plain.inc()
    plain.inc(undefined, 2)
    labelled.inc({ path: 'a"b\\c\nd', code: 'ok' })
    labelled.inc({ path: 'x', code: 'ok' }, 5)
    gauge.set(undefined, 7)
    gauge.dec(undefined, 2)
    expect(registry.render()).toBe(
      [
        '# HELP demo_events_total Events.\\nSecond line with a \\\\ backslash.',
        '# TYPE demo_events_total counter',
        'demo_events_total 3',
        '# HELP demo_requests_total Requests.',
        '# TYPE demo_requests_total counter',
        'demo_requests_total{path="a\\"b\\\\c\\nd",code="ok"} 1',
        'demo_requests_total{path="x",code="ok"} 5',
        '# HELP demo_queue Queue.',
        '# TYPE demo_queue gauge',
        'demo_queue 5',
        '',
      ].join('\n'),
    )
    expect(labelled.get({ path: 'x', code: 'ok' })).toBe(5)
    expect(() => plain.inc(undefined, -1)).toThrow(/cannot go down/)
    expect(() => registry.gauge('demo_events_total', { help: 'x' })).toThrow(/already registered as a counter/)
    expect(registry.counter('demo_events_total', { help: 'again' })).toBe(plain)
    expect(() => registry.counter('bad name', { help: 'x' })).toThrow(/not a valid Prometheus name/)
    expect(() => registry.histogram('demo_h', { help: 'x', labels: ['le'] })).toThrow(/not allowed/)
  })

  it('renders histograms as cumulative buckets up to le="+Inf", with _sum and _count', () => {
    const registry = new MetricsRegistry()
    const histogram = registry.histogram('demo_duration_seconds', { help: 'Durations.', labels: ['kernel'], buckets: [0.1, 1, 10] })
    for (const value of [0.05, 0.1, 0.5, 2, 20]) histogram.observe({ kernel: 'echo' }, value)
    expect(registry.render()).toBe(
      [
        '# HELP demo_duration_seconds Durations.',
        '# TYPE demo_duration_seconds histogram',
        'demo_duration_seconds_bucket{kernel="echo",le="0.1"} 2',
        'demo_duration_seconds_bucket{kernel="echo",le="1"} 3',
        'demo_duration_seconds_bucket{kernel="echo",le="10"} 4',
        'demo_duration_seconds_bucket{kernel="echo",le="+Inf"} 5',
        'demo_duration_seconds_sum{kernel="echo"} 22.65',
        'demo_duration_seconds_count{kernel="echo"} 5',
        '',
      ].join('\n'),
    )
    expect(registry.snapshot()).toEqual([
      {
        name: 'demo_duration_seconds',
        type: 'histogram',
        help: 'Durations.',
        samples: [
          {
            labels: { kernel: 'echo' },
            buckets: [
              [0.1, 2],
              [1, 3],
              [10, 4],
            ],
            sum: 22.65,
            count: 5,
          },
        ],
      },
    ])
    expect(() => registry.histogram('demo_bad', { help: 'x', buckets: [1, 1] })).toThrow(/ascending/)
  })

  it('times work with a histogram timer and computes gauges at collection', async () => {
    const registry = new MetricsRegistry()
    const histogram = registry.histogram('demo_wait_seconds', { help: 'Waits.' })
    const gauge = registry.gauge('demo_now', { help: 'A value read at scrape.' })
    let value = 1
    registry.onCollect(() => gauge.set(undefined, value))
    const stop = histogram.startTimer()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(stop()).toBeGreaterThanOrEqual(0.015)
    expect(histogram.countOf()).toBe(1)
    value = 42
    expect(registry.render()).toContain('demo_now 42\n')
    expect(registry.snapshot().find((m) => m.name === 'demo_now')?.samples).toEqual([{ labels: {}, value: 42 }])
    expect(new MetricsRegistry().render()).toBe('')
  })

  it("names libp2p's metrics so Prometheus' linter passes them: counters end in _total, nothing else does, times in seconds", () => {
    expect(libp2pMetricName('libp2p_noise_decrypt_errors_total', true)).toBe('libp2p_noise_decrypt_errors_total')
    expect(libp2pMetricName('libp2p_dials', true)).toBe('libp2p_dials_total')
    expect(libp2pMetricName('libp2p_protocol_streams_total', false)).toBe('libp2p_protocol_streams')
    expect(libp2pMetricName('libp2p-queue/size', false)).toBe('libp2p_queue_size')
    expect(libp2pMetricName('libp2p_connection_monitor_ping_time_milliseconds', false)).toBe('libp2p_connection_monitor_ping_time_seconds')
    expect(unitScale('libp2p_connection_monitor_ping_time_milliseconds')).toBe(0.001)
    expect(unitScale('libp2p_dial_queue')).toBe(1)
  })
})

/** Runs `echo` in process. */
class EchoExecutor implements TaskExecutor {
  kernels(): string[] {
    return ['echo']
  }

  levelOf(kernel: string): SecurityLevel | undefined {
    return kernel === 'echo' ? 'PUBLIC' : undefined
  }

  async run(task: TaskRun) {
    if (task.kernel !== 'echo') throw new NoodleError('KERNEL_UNKNOWN', `no kernel ${task.kernel}`, '')
    return { output: task.input, durationMs: 0, backend: 'cpu' as const }
  }

  load() {
    return { running: 0, queueLength: 0, queueLimit: 16 }
  }
}

async function startNode(options: { bootstrap?: string; metrics?: boolean } = {}): Promise<NoodleNode> {
  const platform: Platform = { ...testPlatform(), taskExecutor: () => new EchoExecutor() }
  const node = await NoodleNode.create({
    config: testConfig({
      network: { bootstrap: options.bootstrap === undefined ? [] : [options.bootstrap] },
      monitoring: { metrics: options.metrics ?? true },
    }),
    platform,
  })
  await node.start()
  nodes.push(node)
  return node
}

/** The value of one series in a node's text exposition (what a scrape sees), 0 when absent. */
function scraped(node: NoodleNode, series: string): number {
  const line = node.metrics
    .render()
    .split('\n')
    .find((l) => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

describe("a node's metrics", () => {
  it('count tasks run, requests denied, and peers joining and leaving; each node has its own', async () => {
    const worker = await startNode()
    const submitter = await startNode({ bootstrap: worker.addrs()[0] })
    expect(worker.metrics).not.toBe(submitter.metrics)
    await eventually(() => scraped(worker, 'noodlenet_peers_connected{transport="memory"}') === 1, 10_000, 'the peer to connect')
    expect(scraped(worker, 'noodlenet_peer_connects_total')).toBe(1)

    expect(await worker.run('echo', 'here')).toBe('here')
    expect(scraped(worker, 'noodlenet_tasks_total{kernel="echo",outcome="ok"}')).toBe(1)
    expect(scraped(worker, 'noodlenet_task_duration_seconds_count{kernel="echo"}')).toBe(1)
    expect(scraped(worker, 'noodlenet_task_duration_seconds_bucket{kernel="echo",le="+Inf"}')).toBe(1)
    // Counted where the task ran, not where it was submitted.
    expect(scraped(submitter, 'noodlenet_tasks_total{kernel="echo",outcome="ok"}')).toBe(0)

    // A task sent to the worker without a token: its gate denies it.
    await eventually(() => submitter.presence.get(worker.peerId) !== undefined, 10_000, 'presence')
    await expect(submitter.run('echo', 'x', { peer: worker.peerId.toString() })).rejects.toMatchObject({ code: 'CAPABILITY_MISSING' })
    expect(scraped(worker, 'noodlenet_auth_decisions_total{decision="deny",code="CAPABILITY_MISSING",command="/task/run"}')).toBe(1)
    expect(scraped(submitter, 'noodlenet_auth_decisions_total{decision="deny",code="CAPABILITY_MISSING",command="/task/run"}')).toBe(0)
    expect(scraped(worker, 'noodlenet_tasks_total{kernel="echo",outcome="ok"}')).toBe(1)
    await eventually(() => scraped(worker, 'noodlenet_presence_profiles') === 1, 10_000, "the submitter's profile")

    // libp2p's own metrics are in the same registry.
    expect(scraped(worker, 'noodlenet_libp2p_connections_opened_total{transport="memory"}')).toBeGreaterThanOrEqual(1)
    expect(worker.metrics.render()).toContain('libp2p_connection_manager_connections{')

    await submitter.stop()
    await eventually(() => scraped(worker, 'noodlenet_peers_connected{transport="memory"}') === 0, 10_000, 'the peer to leave')
    expect(scraped(worker, 'noodlenet_peer_disconnects_total')).toBe(1)
    checkExposition(worker.metrics.render())
    expect(worker.metrics.snapshot().map((m) => m.name)).toEqual(
      expect.arrayContaining([
        'noodlenet_peers_connected',
        'noodlenet_tasks_total',
        'noodlenet_task_duration_seconds',
        'noodlenet_auth_decisions_total',
        'noodlenet_route_computations_total',
        'noodlenet_failure_detections_total',
        'noodlenet_alerts_firing',
      ]),
    )
  })

  it('show the layers still to come at 0, and nothing at all when monitoring.metrics is false', async () => {
    const node = await startNode()
    expect(scraped(node, 'noodlenet_route_computations_total')).toBe(0)
    expect(node.metrics.render()).toContain('noodlenet_route_computations_total 0\n')
    expect(node.metrics.render()).toContain('noodlenet_failure_detections_total 0\n')
    expect(node.metrics.render()).toContain('noodlenet_alerts_firing{severity="critical"} 0\n')
    const quiet = await startNode({ metrics: false })
    expect(await quiet.run('echo', 1)).toBe(1)
    expect(quiet.metrics.render()).toBe('')
    expect(new NodeMetrics().registry.render()).toContain('# TYPE noodlenet_tasks_total counter')
  })
})
