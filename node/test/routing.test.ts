// Routing through real peer processes: A—B—C, where A and C deny each other (--deny-peer), so a task from A to C
// can only go through B. `noodlenet run --peer C` on A succeeds, /api/topology on A shows the route via B, and B's
// metrics show that it relayed. When a direct link appears, the route switches to it.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Topology } from '@noodlenet/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type PeerProcess, runCli, startPeer } from './support/peer-process.js'

const peers: PeerProcess[] = []
let dir: string
let config: string
let rootKey: string
let root: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noodlenet-routing-'))
  // Gossip every 500 ms instead of 5 s: links and routes settle in a second or two.
  config = join(dir, 'config.json')
  await writeFile(config, JSON.stringify({ network: { presenceIntervalMs: 500 } }))
  rootKey = join(dir, 'root.key')
  root = (await keygen(rootKey)).peerId
})

afterAll(async () => {
  await Promise.all(peers.map((peer) => peer.kill()))
  await rm(dir, { recursive: true, force: true })
})

function peer(extra: string[]): PeerProcess {
  const started = startPeer(['--config', config, ...extra])
  peers.push(started)
  return started
}

async function keygen(file: string): Promise<{ peerId: string }> {
  const result = await runCli(['keygen', '--out', file])
  expect(result.code).toBe(0)
  return JSON.parse(result.stdout) as { peerId: string }
}

/** A token from the root for `submitter` to run echo on peers that trust the root. */
async function echoToken(submitter: string): Promise<string> {
  const issued = await runCli([
    'token',
    'issue',
    '--key',
    rootKey,
    '--to',
    submitter,
    '--can',
    '/task/run',
    '--kernel',
    'echo',
    '--expires',
    '10m',
  ])
  expect(issued.code).toBe(0)
  return issued.stdout.trim()
}

async function routeTo(from: PeerProcess, to: string): Promise<Topology['routes'][string] | undefined> {
  return (await from.api<Topology>('/api/topology')).routes[to]
}

describe('routing through peer processes', () => {
  it('A and C deny each other: `noodlenet run --peer C` on A goes through B, and /api/topology shows the route', async () => {
    const aKey = join(dir, 'a.key')
    const cKey = join(dir, 'c.key')
    const aId = (await keygen(aKey)).peerId
    const cId = (await keygen(cKey)).peerId
    const b = await peer([]).ready
    const a = peer(['--key', aKey, '--bootstrap', b.addrs[0], '--deny-peer', cId])
    const c = peer(['--key', cKey, '--bootstrap', b.addrs[0], '--deny-peer', aId, '--trusted-root', root])
    const readyA = await a.ready
    await c.ready
    await eventually(async () => (await routeTo(a, cId))?.nextHop === b.peerId, 30_000, 'a route from A to C via B')

    const token = await echoToken(aId)
    const run = await runCli(['run', 'echo', '--api', readyA.api, '--peer', cId, '--token', token, '--input', '"through B"'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toBe('through B')

    expect((await a.api<Array<{ peerId: string }>>('/api/peers')).map((p) => p.peerId)).not.toContain(cId)
    const topology = await a.api<Topology>('/api/topology')
    expect(topology.routes[cId]).toMatchObject({ nextHop: b.peerId, hops: 2 })
    expect(topology.routes[b.peerId]).toMatchObject({ nextHop: b.peerId, hops: 1 })
    expect(topology.nodes).toEqual([aId, b.peerId, cId].sort())
    expect(topology.links.map((link) => [link.from, link.to].sort().join(' ')).sort()).toEqual(
      [[aId, b.peerId].sort().join(' '), [b.peerId, cId].sort().join(' ')].sort(),
    )
    const relayed = await (await fetch(`${b.api}/metrics`)).text()
    expect(relayed).toMatch(/noodlenet_route_forwards_total\{role="relay",outcome="ok"\} [1-9]/)
    const sourced = await (await fetch(`${readyA.api}/metrics`)).text()
    expect(sourced).toMatch(/noodlenet_route_computations_total [1-9]/)
  }, 120_000)

  it('when a direct link appears the route switches to it', async () => {
    // Only C refuses A here, so A keeps trying it; C restarted with the same key and no --deny-peer accepts A.
    const aKey = join(dir, 'a2.key')
    const cKey = join(dir, 'c2.key')
    const aId = (await keygen(aKey)).peerId
    const cId = (await keygen(cKey)).peerId
    const b = await peer([]).ready
    const a = peer(['--key', aKey, '--bootstrap', b.addrs[0]])
    const readyA = await a.ready
    const c = peer(['--key', cKey, '--bootstrap', b.addrs[0], '--deny-peer', aId, '--trusted-root', root])
    await c.ready
    await eventually(async () => (await routeTo(a, cId))?.nextHop === b.peerId, 30_000, 'a route from A to C via B')
    const token = await echoToken(aId)
    const viaB = await runCli(['run', 'echo', '--api', readyA.api, '--peer', cId, '--token', token, '--input', '1'])
    expect(viaB.stderr).toBe('')
    expect(JSON.parse(viaB.stdout)).toBe(1)

    await c.stop()
    const again = peer(['--key', cKey, '--bootstrap', b.addrs[0], '--trusted-root', root])
    await again.ready
    await eventually(async () => (await routeTo(a, cId))?.nextHop === cId, 60_000, 'the route from A to C to become direct')
    expect(await routeTo(a, cId)).toMatchObject({ nextHop: cId, hops: 1 })
    const direct = await runCli(['run', 'echo', '--api', readyA.api, '--peer', cId, '--token', token, '--input', '2'])
    expect(direct.stderr).toBe('')
    expect(JSON.parse(direct.stdout)).toBe(2)
    expect((await a.api<Array<{ peerId: string }>>('/api/peers')).map((p) => p.peerId)).toContain(cId)
  }, 120_000)
})
