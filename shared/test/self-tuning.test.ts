// Self-tuning's decisions with fake inputs and a fake clock: executor concurrency follows CPU load and waiting tasks
// within its bounds, gossip and heartbeat intervals follow the mesh's size, one change per knob per cooldown, and
// every change is a log line (old, new, why), a gauge and a count.

import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { ConfigSchema } from '../src/config/schema.js'
import { createLogger } from '../src/monitoring/logger.js'
import { MetricsRegistry } from '../src/monitoring/metrics.js'
import { SelfTuner, SelfTuning, type TuningInputs, TuningMetrics, type TuningState } from '../src/orchestrator/self-tuning.js'
import { MemorySink } from './test-platform.js'

function tuner(selfTuning: Record<string, unknown> = {}) {
  const config = v.parse(ConfigSchema, { monitoring: { selfTuning: { enabled: true, cooldownSeconds: 10, ...selfTuning } } })
  return new SelfTuner({ config: config.monitoring.selfTuning, presenceIntervalMs: 1000, heartbeatMs: 500, cores: 2 })
}

const idle: TuningInputs = { load: 0.2, executor: { concurrency: 2, running: 0, queueLength: 0 }, meshSize: 3 }
const base: TuningState = { concurrency: 2, presenceIntervalMs: 1000, heartbeatMs: 500 }

describe('SelfTuner', () => {
  it('changes nothing for an idle node in a small mesh', () => {
    expect(tuner().evaluate(idle, base, 0)).toEqual([])
  })

  it('adds a worker when tasks wait, all workers are busy and the CPU has room; not above the maximum', () => {
    const t = tuner({ maxConcurrency: 3 })
    const busy = { ...idle, executor: { concurrency: 2, running: 2, queueLength: 5 } }
    expect(t.evaluate(busy, base, 0)).toEqual([
      expect.objectContaining({ knob: 'executor_concurrency', old: 2, new: 3, why: expect.stringContaining('5 tasks wait') }),
    ])
    expect(t.evaluate(busy, { ...base, concurrency: 3 }, 60_000)).toEqual([])
  })

  it('removes a worker when the CPU is oversubscribed; not below the minimum', () => {
    const t = tuner({ minConcurrency: 1 })
    const hot = { ...idle, load: 3 }
    expect(t.evaluate(hot, base, 0)).toEqual([
      expect.objectContaining({ knob: 'executor_concurrency', old: 2, new: 1, why: expect.stringContaining('load average 3.00') }),
    ])
    expect(t.evaluate(hot, { ...base, concurrency: 1 }, 60_000)).toEqual([])
  })

  it('brings a configured concurrency back inside the bounds (maxConcurrency 0: twice the cores)', () => {
    const t = tuner()
    expect(t.concurrencyBounds).toEqual({ min: 1, max: 4 })
    expect(t.evaluate(idle, { ...base, concurrency: 9 }, 0)).toEqual([expect.objectContaining({ old: 9, new: 4 })])
  })

  it('lengthens gossip and heartbeat intervals one step per meshSizePerStep peers, at most maxIntervalFactor', () => {
    const t = tuner({ meshSizePerStep: 10, maxIntervalFactor: 3 })
    expect([1, 10, 11, 20, 21, 1000].map((size) => t.intervalFactor(size))).toEqual([1, 1, 2, 2, 3, 3])
    const big = { ...idle, meshSize: 25 }
    const changes = t.evaluate(big, base, 0)
    expect(changes).toEqual([
      expect.objectContaining({ knob: 'presence_interval', old: 1000, new: 3000, why: expect.stringContaining('25 peers') }),
      expect.objectContaining({ knob: 'heartbeat_interval', old: 500, new: 1500 }),
    ])
    // Shrinking back waits out the cooldown (10 s), then returns to the configured intervals.
    const after = { ...base, presenceIntervalMs: 3000, heartbeatMs: 1500 }
    expect(t.evaluate(idle, after, 5_000)).toEqual([])
    expect(t.evaluate(idle, after, 10_000).map((change) => [change.knob, change.new])).toEqual([
      ['presence_interval', 1000],
      ['heartbeat_interval', 500],
    ])
  })
})

describe('SelfTuning', () => {
  it('applies each change, logs it with old, new and why, and shows it in metrics', () => {
    let state: TuningState = { ...base }
    const sink = new MemorySink()
    const registry = new MetricsRegistry()
    let now = 0
    const tuning = new SelfTuning({
      tuner: tuner({ meshSizePerStep: 2 }),
      logger: createLogger({ level: 'INFO', component: 'node', sink }),
      metrics: new TuningMetrics(registry),
      intervalMs: 1000,
      now: () => now,
      node: {
        inputs: () => ({ ...idle, meshSize: 4 }),
        state: () => state,
        setConcurrency: (value) => (state = { ...state, concurrency: value }),
        setPresenceIntervalMs: (value) => (state = { ...state, presenceIntervalMs: value }),
        setHeartbeatMs: (value) => (state = { ...state, heartbeatMs: value }),
      },
    })
    expect(tuning.tick()).toHaveLength(2)
    expect(state).toEqual({ concurrency: 2, presenceIntervalMs: 2000, heartbeatMs: 1000 })
    now += 60_000
    expect(tuning.tick()).toEqual([])
    const text = registry.render()
    expect(text).toContain('noodlenet_tuning_presence_interval_seconds 2')
    expect(text).toContain('noodlenet_tuning_heartbeat_interval_seconds 1')
    expect(text).toContain('noodlenet_tuning_executor_concurrency 2')
    expect(text).toContain('noodlenet_tuning_adjustments_total{knob="presence_interval"} 1')
    expect(text).toContain('noodlenet_tuning_adjustments_total{knob="executor_concurrency"} 0')
    const lines = sink.records().filter((record) => record.knob !== undefined)
    expect(lines).toEqual([
      expect.objectContaining({ level: 'INFO', knob: 'presence_interval', old: 1000, new: 2000, why: expect.stringContaining('4 peers') }),
      expect.objectContaining({ level: 'INFO', knob: 'heartbeat_interval', old: 500, new: 1000 }),
    ])
  })

  it('is off by default and refuses bounds out of range with a sentence', () => {
    expect(v.parse(ConfigSchema, {}).monitoring.selfTuning.enabled).toBe(false)
    const bad = v.safeParse(ConfigSchema, { monitoring: { selfTuning: { maxIntervalFactor: 0 } } })
    expect(bad.success).toBe(false)
    expect(bad.issues?.[0].message).toBe('an integer from 1 to 64')
  })
})
