// A real Prometheus server (Debian's `prometheus` package) scrapes two real peers' admin APIs: both targets report
// up == 1, and every query of the example Grafana dashboard runs against it without error. The example scrape
// config passes `promtool check config`. Prometheus listens on 127.0.0.1:0 and the test reads the port it logs.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type PeerProcess, startPeer } from './support/peer-process.js'

const PROMETHEUS = process.env.PROMETHEUS_PATH ?? '/usr/bin/prometheus'
const EXAMPLES = fileURLToPath(new URL('../../docs/examples/', import.meta.url))
/** Why the test cannot run here; undefined when it can (node/scripts/ensure-system-packages.mjs installs it in CI). */
const missing = existsSync(PROMETHEUS)
  ? undefined
  : `no Prometheus at ${PROMETHEUS}: apt-get install -y prometheus (Debian) or set PROMETHEUS_PATH to run this test`

interface QueryAnswer {
  status: string
  error?: string
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }
}

const peers: PeerProcess[] = []
let dir: string
let prometheus: ChildProcess | undefined

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noodlenet-prometheus-'))
})

afterAll(async () => {
  prometheus?.kill('SIGKILL')
  await Promise.all(peers.map((peer) => peer.kill()))
  await rm(dir, { recursive: true, force: true })
})

/** Starts Prometheus on 127.0.0.1:0 with `config`; resolves with its base URL once it logs the port it took. */
function startPrometheus(config: string): Promise<string> {
  const child = spawn(
    PROMETHEUS,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, '--web.listen-address=127.0.0.1:0', '--log.level=info'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  prometheus = child
  return new Promise((resolve, reject) => {
    let log = ''
    const timer = setTimeout(() => reject(new Error(`Prometheus did not say where it listens within 30 s:\n${log}`)), 30_000)
    child.once('exit', (code) => reject(new Error(`Prometheus exited (${code}):\n${log}`)))
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk
      // "Listening on" carries the port the OS gave; the earlier "Start listening" line still says :0.
      const port = /msg="Listening on" address=127\.0\.0\.1:(\d+)/.exec(log)?.[1]
      if (port === undefined) return
      clearTimeout(timer)
      resolve(`http://127.0.0.1:${port}`)
    })
  })
}

async function query(base: string, expr: string): Promise<QueryAnswer> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`)
  return (await res.json()) as QueryAnswer
}

/** Every PromQL expression of the example dashboard, with Grafana's variables replaced by what they stand for. */
async function dashboardQueries(): Promise<string[]> {
  const dashboard = JSON.parse(await readFile(join(EXAMPLES, 'grafana-dashboard.json'), 'utf8')) as {
    panels: Array<{ targets: Array<{ expr: string }> }>
  }
  return dashboard.panels.flatMap((panel) =>
    panel.targets.map((target) =>
      target.expr.replaceAll('$__rate_interval', '15s').replaceAll('$__range', '5m').replaceAll('$job', '.*').replaceAll('$instance', '.*'),
    ),
  )
}

describe.skipIf(missing !== undefined)(`Prometheus${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  it('the example scrape config passes promtool check config', () => {
    const check = spawnSync('promtool', ['check', 'config', join(EXAMPLES, 'prometheus.yml')], { encoding: 'utf8' })
    expect(check.stdout + check.stderr).toContain('SUCCESS')
    expect(check.stdout + check.stderr).not.toContain('WARNING')
    expect(check.status).toBe(0)
  })

  it('scrapes two peers (up == 1 for both) and answers every query of the example dashboard', async () => {
    const a = startPeer([], { NOODLE_NET_MONITORING_INTERVAL: '1' })
    peers.push(a)
    const readyA = await a.ready
    const b = startPeer(['--bootstrap', readyA.addrs[0]], { NOODLE_NET_MONITORING_INTERVAL: '1' })
    peers.push(b)
    const readyB = await b.ready
    const targets = [readyA.api, readyB.api].map((api) => new URL(api).host)
    const config = join(dir, 'prometheus.yml')
    await writeFile(
      config,
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: noodlenet\n    static_configs:\n      - targets: ${JSON.stringify(targets)}\n`,
    )
    const base = await startPrometheus(config)

    await eventually(
      async () => {
        const up = await query(base, 'up{job="noodlenet"}')
        return up.data?.result.length === 2 && up.data.result.every((series) => series.value[1] === '1')
      },
      60_000,
      'Prometheus to scrape both peers with up == 1',
    )
    const up = await query(base, 'up{job="noodlenet"}')
    expect(up.data?.result.map((series) => series.metric.instance).sort()).toEqual([...targets].sort())

    // The peers' own metrics arrived, and each dashboard query is valid PromQL over them.
    await eventually(
      async () => ((await query(base, 'sum(noodlenet_peers_connected)')).data?.result[0]?.value[1] ?? '0') !== '0',
      30_000,
      'noodlenet_peers_connected to show the link between the peers',
    )
    for (const expr of await dashboardQueries()) {
      const answer = await query(base, expr)
      expect({ expr, status: answer.status, error: answer.error }).toEqual({ expr, status: 'success', error: undefined })
    }
  })

  it('every noodlenet_* metric the dashboard uses is one a peer serves', async () => {
    const peer = peers[0] ?? startPeer()
    if (peers.length === 0) peers.push(peer)
    const text = await (await fetch(`${(await peer.ready).api}/metrics`)).text()
    const served = new Set(text.split('\n').flatMap((line) => (line.startsWith('# TYPE ') ? [line.split(' ')[2]] : [])))
    const used = new Set((await dashboardQueries()).flatMap((expr) => expr.match(/noodlenet_[a-z_]+/g) ?? []))
    expect(used.size).toBeGreaterThan(5)
    for (const name of used) expect({ name, served: served.has(name.replace(/_bucket$/, '')) }).toEqual({ name, served: true })
  })
})
