// Self-tuning in real processes: two peers with monitoring.selfTuning on and one interval step per peer hear each
// other (a mesh of two), double their presence and heartbeat intervals, say so in one log line per knob (old, new,
// why) and in GET /metrics, and still see each other alive afterwards.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type PeerProcess, startPeer } from './support/peer-process.js'

const peers: PeerProcess[] = []
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noodlenet-tuning-'))
})

afterAll(async () => {
  await Promise.all(peers.map((peer) => peer.kill()))
  await rm(dir, { recursive: true, force: true })
})

function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('self-tuning', () => {
  it('a bigger mesh lengthens gossip and heartbeat intervals, logged and shown in /metrics', async () => {
    const config = join(dir, 'config.json')
    await writeFile(
      config,
      JSON.stringify({
        network: { presenceIntervalMs: 1000 },
        health: { heartbeatMs: 1000 },
        monitoring: { selfTuning: { enabled: true, meshSizePerStep: 1, maxIntervalFactor: 2, cooldownSeconds: 0 } },
      }),
    )
    const env = { NOODLE_NET_MONITORING_INTERVAL: '0.5' }
    const a = startPeer(['--config', config], env)
    peers.push(a)
    const readyA = await a.ready
    const b = startPeer(['--config', config, '--bootstrap', readyA.addrs[0]], env)
    peers.push(b)
    const readyB = await b.ready

    const logged = await a.logRecord((record) => record.knob === 'presence_interval', 30_000)
    expect(logged).toMatchObject({ old: 1000, new: 2000, why: expect.stringContaining('the mesh has 2 peers') })
    await a.logRecord((record) => record.knob === 'heartbeat_interval' && record.new === 2000, 10_000)

    const { api } = readyA
    await eventually(
      async () => metric(await (await fetch(`${api}/metrics`)).text(), 'noodlenet_tuning_heartbeat_interval_seconds') === 2,
      10_000,
      'the heartbeat gauge to show 2 s',
    )
    const text = await (await fetch(`${api}/metrics`)).text()
    expect(metric(text, 'noodlenet_tuning_presence_interval_seconds')).toBe(2)
    expect(metric(text, 'noodlenet_tuning_adjustments_total{knob="presence_interval"}')).toBe(1)
    expect(metric(text, 'noodlenet_tuning_adjustments_total{knob="heartbeat_interval"}')).toBe(1)
    expect(metric(text, 'noodlenet_tuning_executor_concurrency')).toBeGreaterThanOrEqual(1)

    // The longer intervals do not make the peers suspect each other: a soak of a few heartbeats at the new pace
    // (2 s), watching A's verdict on B the whole time (a negative property: it needs a duration, not an event).
    await b.logRecord((record) => record.knob === 'heartbeat_interval', 10_000)
    const verdicts = new Set<string>()
    const soakUntil = Date.now() + 6_000
    while (Date.now() < soakUntil) {
      const health = await a.api<Array<{ peerId: string; state: string }>>('/api/health/peers')
      verdicts.add(health.find((peer) => peer.peerId === readyB.peerId)?.state ?? 'unknown')
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    expect([...verdicts]).toEqual(['alive'])
  })
})
