// Alert rules as a specification, driven tick by tick with a fake clock: a threshold held for `for` fires, and
// resolves when it clears; a rate over a window; an anomaly far from the window's mean; the firing gauge; the
// resolved list stays bounded; the webhook channel posts JSON and survives a failing receiver.

import { describe, expect, it } from 'vitest'
import { parseConfigJson, resolveConfig } from '../src/config/resolve.js'
import { type AlertRule, durationMs } from '../src/config/schema.js'
import { NoodleError } from '../src/errors.js'
import { type Alert, AlertEvaluator, ratePerSecond, WebhookChannel } from '../src/monitoring/alerts.js'
import { MetricHistory } from '../src/monitoring/history.js'
import { createLogger } from '../src/monitoring/logger.js'
import { MetricsRegistry } from '../src/monitoring/metrics.js'
import { NodeMetrics } from '../src/monitoring/node-metrics.js'

const INTERVAL = 500

/** A node's metrics, a history and an evaluator over `rules`, advanced by tick(). */
function harness(rules: AlertRule[], maxResolved?: number) {
  const metrics = new NodeMetrics(new MetricsRegistry())
  const history = new MetricHistory({ retentionMs: 600_000, intervalMs: INTERVAL })
  const evaluator = new AlertEvaluator({ rules, history, peer: 'self', firingGauge: metrics.alertsFiring, maxResolved })
  const events: Alert[] = []
  evaluator.addEventListener('alert:firing', (evt) => events.push(evt.detail))
  evaluator.addEventListener('alert:resolved', (evt) => events.push(evt.detail))
  let now = 1_000_000
  return {
    metrics,
    evaluator,
    events,
    get now() {
      return now
    },
    /** Advances the clock one interval and evaluates. */
    tick(): void {
      now += INTERVAL
      const snapshot = metrics.registry.snapshot()
      history.record(snapshot, now)
      evaluator.evaluate(snapshot, now)
    },
  }
}

const peersRule: AlertRule = {
  name: 'isolated',
  metric: 'noodlenet_peers_connected',
  kind: 'threshold',
  op: '<',
  threshold: 1,
  for: '2s',
  severity: 'critical',
}

describe('threshold rules', () => {
  it('fire once the condition held for `for`, and resolve when it clears', () => {
    const h = harness([peersRule])
    h.metrics.peersConnected.set({ transport: 'tcp' }, 1)
    h.tick()
    expect(h.evaluator.firing()).toEqual([])
    h.metrics.peersConnected.set({ transport: 'tcp' }, 0)
    h.tick() // pending from here
    const pendingSince = h.now
    for (let i = 0; i < 3; i++) h.tick()
    expect(h.events).toEqual([]) // 1.5 s of 2 s
    h.tick()
    expect(h.events).toHaveLength(1)
    expect(h.events[0]).toMatchObject({
      name: 'isolated',
      state: 'firing',
      severity: 'critical',
      value: 0,
      threshold: 1,
      since: pendingSince,
    })
    expect(h.events[0].firedAt - pendingSince).toBe(2000)
    expect(h.evaluator.firing()).toHaveLength(1)
    expect(h.metrics.alertsFiring.get({ severity: 'critical' })).toBe(1)
    h.tick()
    expect(h.events).toHaveLength(1) // fires once

    h.metrics.peersConnected.set({ transport: 'webrtc' }, 1) // the sum over transports is 1 again
    h.tick()
    expect(h.events).toHaveLength(2)
    expect(h.events[1]).toMatchObject({ state: 'resolved', value: 1, resolvedAt: h.now })
    expect(h.evaluator.firing()).toEqual([])
    expect(h.evaluator.resolved()).toEqual([h.events[1]])
    expect(h.metrics.alertsFiring.get({ severity: 'critical' })).toBe(0)
  })

  it('do not fire when the condition clears before `for`', () => {
    const h = harness([peersRule])
    for (let i = 0; i < 3; i++) h.tick() // 0 peers, pending 1 s
    h.metrics.peersConnected.set({ transport: 'tcp' }, 2)
    h.tick()
    h.metrics.peersConnected.set({ transport: 'tcp' }, 0)
    for (let i = 0; i < 4; i++) h.tick() // pending again from the start: 1.5 s
    expect(h.events).toEqual([])
  })

  it('match only the series with the labels given', () => {
    const h = harness([{ ...peersRule, labels: { transport: 'webrtc' }, for: undefined }])
    h.metrics.peersConnected.set({ transport: 'tcp' }, 3)
    h.tick()
    expect(h.events.map((alert) => alert.state)).toEqual(['firing'])
  })

  it('without `for` fire at the first evaluation; a metric with no series never fires', () => {
    const h = harness([
      { ...peersRule, name: 'now', op: '>=', threshold: 0, for: undefined, severity: 'info' },
      { ...peersRule, name: 'ghost', metric: 'no_such_metric', op: '>=', threshold: 0, for: undefined },
    ])
    h.tick()
    expect(h.evaluator.firing().map((alert) => alert.name)).toEqual(['now'])
    expect(h.metrics.alertsFiring.get({ severity: 'info' })).toBe(1)
  })

  it('keep a bounded list of resolved alerts, newest first', () => {
    const h = harness([{ ...peersRule, for: undefined }], 3)
    for (let i = 0; i < 10; i++) {
      h.metrics.peersConnected.set({ transport: 'tcp' }, 0)
      h.tick()
      h.metrics.peersConnected.set({ transport: 'tcp' }, 1)
      h.tick()
    }
    const resolved = h.evaluator.resolved()
    expect(resolved).toHaveLength(3)
    expect(resolved[0].resolvedAt).toBe(h.now)
  })
})

describe('rate rules', () => {
  it('compare the per-second increase over the window', () => {
    const h = harness([
      { name: 'churn', metric: 'noodlenet_peer_disconnects_total', kind: 'rate', op: '>', threshold: 1, window: '2s', severity: 'warning' },
    ])
    h.tick()
    h.tick()
    expect(h.events).toEqual([])
    for (let i = 0; i < 4; i++) {
      h.metrics.peerDisconnects.inc(undefined, 2) // 4 per second
      h.tick()
    }
    expect(h.events).toHaveLength(1)
    expect(h.events[0]).toMatchObject({ state: 'firing', kind: 'rate' })
    expect(h.events[0].value).toBeGreaterThan(1)
    expect(h.evaluator.firing()[0].value).toBe(4) // the window now holds only the increase: 8 over 2 s
    for (let i = 0; i < 5; i++) h.tick() // no increase over a whole window
    expect(h.events.map((alert) => alert.state)).toEqual(['firing', 'resolved'])
    expect(h.events[1].value).toBeLessThanOrEqual(1)
  })

  it('count a counter that went down as restarted from 0, and a gauge that went down as negative', () => {
    const points = [
      { t: 0, v: 5 },
      { t: 1000, v: 7 },
      { t: 2000, v: 1 },
    ]
    expect(ratePerSecond(points, true)).toBe(1.5)
    expect(ratePerSecond(points, false)).toBe(-2)
    expect(ratePerSecond(points.slice(0, 1), true)).toBeUndefined()
  })
})

describe('anomaly rules', () => {
  it('fire on a value more than `deviations` standard deviations from the window mean', () => {
    const h = harness([
      { name: 'queue', metric: 'noodlenet_executor_queued_tasks', kind: 'anomaly', window: '5s', deviations: 3, severity: 'warning' },
    ])
    for (let i = 0; i < 10; i++) {
      h.metrics.executorQueueLength.set(undefined, 10 + (i % 2)) // mean 10.5, stddev 0.5
      h.tick()
    }
    expect(h.events).toEqual([])
    h.metrics.executorQueueLength.set(undefined, 11.9) // within 3 stddev
    h.tick()
    expect(h.events).toEqual([])
    h.metrics.executorQueueLength.set(undefined, 50)
    h.tick()
    expect(h.events).toHaveLength(1)
    expect(h.events[0]).toMatchObject({ state: 'firing', kind: 'anomaly', value: 50, threshold: 3 })
  })

  it('judge nothing until the window holds a few points', () => {
    const h = harness([{ name: 'queue', metric: 'noodlenet_executor_queued_tasks', kind: 'anomaly', severity: 'info' }])
    h.tick()
    h.metrics.executorQueueLength.set(undefined, 1000)
    h.tick()
    expect(h.events).toEqual([])
  })
})

describe('the webhook channel', () => {
  const alert: Alert = {
    name: 'isolated',
    severity: 'critical',
    kind: 'threshold',
    metric: 'noodlenet_peers_connected',
    state: 'firing',
    value: 0,
    threshold: 1,
    since: 1000,
    firedAt: 3000,
    peer: 'self',
  }
  const quiet = createLogger({ level: 'CRITICAL', component: 'test', sink: { write: () => undefined } })

  it('posts the alert as JSON to every URL, in order', async () => {
    const posts: Array<{ url: string; body: unknown }> = []
    const channel = new WebhookChannel({
      urls: ['http://a.test/hook', 'http://b.test/hook'],
      logger: quiet,
      fetch: async (url, init) => {
        posts.push({ url: String(url), body: JSON.parse(String(init?.body)) })
        return new Response(null, { status: 204 })
      },
    })
    channel.notify(alert)
    channel.notify({ ...alert, state: 'resolved', resolvedAt: 5000 })
    await channel.flush()
    expect(posts.map((post) => post.url).sort()).toEqual(
      ['http://a.test/hook', 'http://a.test/hook', 'http://b.test/hook', 'http://b.test/hook'].sort(),
    )
    const toA = posts.filter((post) => post.url === 'http://a.test/hook').map((post) => post.body)
    expect(toA).toEqual([
      {
        name: 'isolated',
        severity: 'critical',
        state: 'firing',
        value: 0,
        threshold: 1,
        since: 1000,
        peer: 'self',
        metric: 'noodlenet_peers_connected',
        at: 3000,
      },
      {
        name: 'isolated',
        severity: 'critical',
        state: 'resolved',
        value: 0,
        threshold: 1,
        since: 1000,
        peer: 'self',
        metric: 'noodlenet_peers_connected',
        at: 5000,
      },
    ])
  })

  it('logs a failing or refusing receiver and goes on', async () => {
    const lines: string[] = []
    const logger = createLogger({ level: 'WARNING', component: 'alerts', sink: { write: (line) => lines.push(line) } })
    let calls = 0
    const channel = new WebhookChannel({
      urls: ['http://down.test/'],
      logger,
      fetch: async () => {
        calls++
        if (calls === 1) throw new TypeError('fetch failed')
        return new Response('no', { status: 500 })
      },
    })
    channel.notify(alert)
    channel.notify(alert)
    await channel.flush()
    expect(lines.map((line) => JSON.parse(line).msg)).toEqual(['alert webhook failed', 'alert webhook refused'])
  })
})

describe('alert rules in config', () => {
  const resolve = (monitoring: unknown) => resolveConfig([parseConfigJson(JSON.stringify({ monitoring }), 'file ./noodle.json')])

  it('takes rules, webhooks and a history retention, with kind threshold by default', () => {
    const config = resolve({
      rules: [
        { name: 'isolated', metric: 'noodlenet_peers_connected', op: '<', threshold: 1, for: '2s', severity: 'critical' },
        {
          name: 'churn',
          metric: 'noodlenet_peer_disconnects_total',
          kind: 'rate',
          op: '>',
          threshold: 0.5,
          window: '5m',
          severity: 'warning',
        },
        { name: 'queue', metric: 'noodlenet_executor_queued_tasks', labels: {}, kind: 'anomaly', deviations: 4, severity: 'info' },
      ],
      webhooks: ['http://127.0.0.1:9000/alerts'],
      historySeconds: 3600,
    })
    expect(config.monitoring.rules?.map((rule) => rule.kind)).toEqual(['threshold', 'rate', 'anomaly'])
    expect(config.monitoring.webhooks).toEqual(['http://127.0.0.1:9000/alerts'])
    expect(config.monitoring.historySeconds).toBe(3600)
    expect(durationMs('2s')).toBe(2000)
    expect(durationMs('1.5m')).toBe(90_000)
    expect(durationMs('250ms')).toBe(250)
    expect(durationMs('2 s')).toBeUndefined()
  })

  it.each([
    [
      { rules: [{ name: 'x', metric: 'm', op: '<', threshold: 1, severity: 'urgent' }] },
      /monitoring\.rules\.0\.severity = "urgent" .*: must be one of info, warning, critical/,
    ],
    [
      { rules: [{ name: 'x', metric: 'm', op: '=<', threshold: 1, severity: 'info' }] },
      /monitoring\.rules\.0\.op = "=<" .*: must be one of </,
    ],
    [
      { rules: [{ name: 'x', metric: 'm', op: '<', threshold: 1, for: '2 seconds', severity: 'info' }] },
      /monitoring\.rules\.0\.for = "2 seconds" .*: must be a duration/,
    ],
    [
      { rules: [{ name: 'x', metric: 'm', op: '<', threshold: 1, window: '1m', severity: 'info' }] },
      /monitoring\.rules\.0\.window = .*: must be left out/,
    ],
    [
      { rules: [{ name: 'x', metric: 'm', op: '<', threshold: 1, severity: 'info', extra: 1 }] },
      /monitoring\.rules\.0\.extra = 1 .*: nothing: this is not a known setting/,
    ],
    [{ webhooks: ['ftp://example.org/'] }, /monitoring\.webhooks\.0 = "ftp:\/\/example.org\/" .*: must be an http\(s\) URL/],
    [{ historySeconds: 5 }, /monitoring\.historySeconds = 5 .*: must be a number of seconds from 10 to 86400/],
  ])('refuses %j with one CONFIG_INVALID line', (monitoring, message) => {
    let error: unknown
    try {
      resolve(monitoring)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(NoodleError)
    expect((error as NoodleError).code).toBe('CONFIG_INVALID')
    expect((error as NoodleError).message).not.toMatch(/[\r\n]/)
    expect((error as NoodleError).message).toMatch(message)
  })
})
