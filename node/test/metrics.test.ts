// GET /metrics on real peers: Prometheus' own checker (`promtool check metrics`, from Debian's prometheus package)
// accepts the scrape with no error and no lint warning, and the counters move as a task runs, a request is denied
// and peers join and leave.

import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type PeerProcess, type Ready, runCli, startPeer } from './support/peer-process.js'

const peers: PeerProcess[] = []
let dir: string
/** Why promtool cannot run here; undefined when it can. */
let promtoolMissing: string | undefined

function hasPromtool(): boolean {
  return spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0
}

/** promtool, installed from Debian's `prometheus` package when it is missing and we are root (as CI is). */
function ensurePromtool(): string | undefined {
  if (hasPromtool()) return undefined
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  if (!root || !existsSync('/usr/bin/apt-get')) {
    return 'promtool is not installed and this is not root on Debian: apt-get install -y prometheus to run this check'
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 240_000 })
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'prometheus'], { stdio: 'ignore', env, timeout: 240_000 })
  } catch (err) {
    return `installing Debian's prometheus package failed: ${(err as Error).message}`
  }
  return hasPromtool() ? undefined : 'apt-get installed prometheus but promtool is still not on PATH'
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noodlenet-metrics-'))
  promtoolMissing = ensurePromtool()
}, 600_000)

afterAll(async () => {
  await Promise.all(peers.map((peer) => peer.kill()))
  await rm(dir, { recursive: true, force: true })
})

function peer(extra: string[] = []): PeerProcess {
  const started = startPeer(extra)
  peers.push(started)
  return started
}

async function scrape(api: string): Promise<string> {
  const res = await fetch(`${api}/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return res.text()
}

/** The value of one series in a scrape; 0 when absent. */
function seriesValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

/** Connected peers over every transport. */
function peersConnected(text: string): number {
  let total = 0
  for (const line of text.split('\n')) if (line.startsWith('noodlenet_peers_connected{')) total += Number(line.split(' ')[1])
  return total
}

async function connected(a: PeerProcess, b: Ready): Promise<void> {
  await eventually(
    async () => (await a.api<Array<{ peerId: string }>>('/api/peers')).some((p) => p.peerId === b.peerId),
    30_000,
    'the peers to connect',
  )
}

describe('GET /metrics', () => {
  let worker: Ready
  let submitter: Ready

  beforeAll(async () => {
    const rootKey = join(dir, 'root.key')
    const root = JSON.parse((await runCli(['keygen', '--out', rootKey])).stdout).peerId as string
    worker = await peer(['--trusted-root', root]).ready
    const submitting = peer(['--bootstrap', worker.addrs[0]])
    submitter = await submitting.ready
    await connected(submitting, worker)
  }, 60_000)

  it('counts tasks run, requests denied, and peers joining and leaving', async () => {
    const before = await scrape(worker.api)
    expect(seriesValue(before, 'noodlenet_tasks_total{kernel="echo",outcome="ok"}')).toBe(0)
    await eventually(async () => peersConnected(await scrape(worker.api)) === 1, 30_000, 'the worker to count the submitter')

    const posted = await fetch(`${worker.api}/api/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kernel: 'echo', input: 'hello' }),
    })
    const { id } = (await posted.json()) as { id: string }
    const record = (await (await fetch(`${worker.api}/api/tasks/${id}?wait=30`)).json()) as { status: string }
    expect(record.status).toBe('done')
    const ran = await scrape(worker.api)
    expect(seriesValue(ran, 'noodlenet_tasks_total{kernel="echo",outcome="ok"}')).toBe(1)
    expect(seriesValue(ran, 'noodlenet_task_duration_seconds_count{kernel="echo"}')).toBe(1)
    expect(seriesValue(ran, 'noodlenet_task_duration_seconds_bucket{kernel="echo",le="+Inf"}')).toBe(1)
    expect(seriesValue(ran, 'noodlenet_task_duration_seconds_sum{kernel="echo"}')).toBeGreaterThan(0)

    // The submitter holds no token: the worker's gate refuses the task, and counts the refusal.
    const denied = 'noodlenet_auth_decisions_total{decision="deny",code="CAPABILITY_MISSING",command="/task/run"}'
    expect(seriesValue(ran, denied)).toBe(0)
    const refused = await runCli(['run', 'echo', '--api', submitter.api, '--peer', worker.peerId, '--input', '1'])
    expect(JSON.parse(refused.stderr)).toMatchObject({ code: 'CAPABILITY_MISSING' })
    expect(seriesValue(await scrape(worker.api), denied)).toBe(1)
    expect(seriesValue(await scrape(submitter.api), denied)).toBe(0)

    // A third peer joins, then leaves.
    const joinsBefore = seriesValue(await scrape(worker.api), 'noodlenet_peer_connects_total')
    const leavesBefore = seriesValue(await scrape(worker.api), 'noodlenet_peer_disconnects_total')
    const visitor = peer(['--bootstrap', worker.addrs[0]])
    await visitor.ready
    await eventually(async () => peersConnected(await scrape(worker.api)) === 2, 30_000, 'the worker to count the visitor')
    expect(seriesValue(await scrape(worker.api), 'noodlenet_peer_connects_total')).toBe(joinsBefore + 1)
    await visitor.stop()
    await eventually(async () => peersConnected(await scrape(worker.api)) === 1, 30_000, 'the worker to see the visitor leave')
    expect(seriesValue(await scrape(worker.api), 'noodlenet_peer_disconnects_total')).toBe(leavesBefore + 1)

    // libp2p's own metrics are in the same scrape.
    const last = await scrape(worker.api)
    expect(seriesValue(last, 'noodlenet_libp2p_connections_opened_total{transport="tcp"}')).toBeGreaterThanOrEqual(2)
    expect(last).toContain('# TYPE libp2p_connection_manager_connections gauge')
  })

  it('passes `promtool check metrics` with no error and no warning', async (context) => {
    if (promtoolMissing !== undefined) context.skip(promtoolMissing)
    for (const api of [worker.api, submitter.api]) {
      const text = await scrape(api)
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
      expect(`${check.stdout}${check.stderr}`).toBe('')
      expect(check.status).toBe(0)
    }
  })
})
