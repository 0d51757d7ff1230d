// Work spread over a mesh of real `noodlenet start` processes: a 1,000-task map through one peer's API completes
// with every result right and every peer doing a share; a peer whose executor queue is tiny answers "busy" under a
// burst from two submitters, the tasks go elsewhere, and none is lost or run twice (the executors' counters add up).

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type PeerProcess, type Ready } from './support/peer-process.js'
import { outcome, resultsByPeer, submitAll, TaskMesh } from './support/task-mesh.js'

const net = new TaskMesh()
beforeAll(() => net.open())
afterAll(() => net.close())

interface Health {
  executor: { completed: number; failed: number; rejected: number } | null
}

const startMeshPeer = (config: Record<string, unknown>, extra: string[] = []) => net.start(config, extra)
const tokenFor = (peerId: string) => net.tokenFor(peerId)

/** Waits until `peer` has heard every other peer's profile: a task it places can then go anywhere. */
async function knowsAll(peer: PeerProcess, others: Ready[]): Promise<void> {
  await eventually(
    async () => {
      const connected = await peer.api<Array<{ peerId: string }>>('/api/peers')
      return others.every((other) => connected.some((p) => p.peerId === other.peerId))
    },
    30_000,
    'the mesh to connect',
  )
}

describe('tasks over a mesh of processes', () => {
  it('a 1,000-task map through one peer completes, every result right, every peer doing a share', { timeout: 240_000 }, async () => {
    const a = await startMeshPeer({})
    const b = await startMeshPeer({}, ['--bootstrap', a.ready.addrs[0]])
    const c = await startMeshPeer({}, ['--bootstrap', a.ready.addrs[0]])
    await knowsAll(a.process, [b.ready, c.ready])
    const token = await tokenFor(a.ready.peerId)
    // Each task holds a worker for 20 ms, so that the submitter's own two workers cannot keep up alone: a peer
    // placing by load sends the others their share.
    const tasks = Array.from({ length: 1000 }, (_, k) => ({ kernel: 'delay', input: { ms: 20, value: k }, token }))
    // Profiles travel by gossip every few seconds: wait until the submitter can place on both others.
    for (const other of [b, c]) {
      await eventually(
        async () => {
          const ids = await submitAll(a.ready.api, [{ kernel: 'echo', input: 0, token, peer: other.ready.peerId }])
          return (await outcome(a.ready.api, ids[0])).status === 'done'
        },
        30_000,
        'a first task on each other peer',
      )
    }
    const ids = await submitAll(a.ready.api, tasks)
    const records = await Promise.all(ids.map((id) => outcome(a.ready.api, id)))
    const byPeer = resultsByPeer(records)
    for (const peer of [a, b, c])
      expect(byPeer.get(peer.ready.peerId) ?? 0, `tasks on each peer: ${[...byPeer.values()]}`).toBeGreaterThan(50)
  })

  it('a peer at its queue limit answers busy; its tasks go elsewhere; none is lost or run twice', { timeout: 240_000 }, async () => {
    const small = await startMeshPeer({ scheduler: { concurrency: 1, queueLimit: 1 } })
    const large = await startMeshPeer({ scheduler: { concurrency: 2, queueLimit: 1000 } }, ['--bootstrap', small.ready.addrs[0]])
    // Two submitters that run nothing themselves (queueLimit 1, concurrency 1 too, but they place on the others by
    // pinning nothing: 'spread' sends the small peer its share, and both hit it at once).
    const one = await startMeshPeer({ scheduler: { concurrency: 1, queueLimit: 1 } }, ['--bootstrap', small.ready.addrs[0]])
    const two = await startMeshPeer({ scheduler: { concurrency: 1, queueLimit: 1 } }, ['--bootstrap', small.ready.addrs[0]])
    for (const submitter of [one, two]) await knowsAll(submitter.process, [small.ready, large.ready])
    const tokens = [await tokenFor(one.ready.peerId), await tokenFor(two.ready.peerId)]
    const before = await Promise.all([small, large, one, two].map((p) => p.process.api<Health>('/health')))
    const count = 60
    const submitted = await Promise.all(
      [one, two].map((submitter, s) =>
        submitAll(
          submitter.ready.api,
          Array.from({ length: count }, (_, k) => ({
            kernel: 'delay',
            input: { ms: 30, value: `${s}-${k}` },
            token: tokens[s],
            placement: 'spread',
          })),
        ),
      ),
    )
    const results = await Promise.all(
      [one, two].map((submitter, s) => Promise.all(submitted[s].map((id) => outcome(submitter.ready.api, id)))),
    )
    for (const [s, records] of results.entries()) {
      for (const [k, record] of records.entries()) {
        expect(record.status, JSON.stringify(record.error)).toBe('done')
        expect(record.result).toBe(`${s}-${k}`)
      }
    }
    const after = await Promise.all([small, large, one, two].map((p) => p.process.api<Health>('/health')))
    const ran = after.reduce((sum, health, i) => sum + (health.executor?.completed ?? 0) - (before[i].executor?.completed ?? 0), 0)
    // Every task ran exactly once (the first-task probes of the other test do not touch these peers).
    expect(ran).toBe(2 * count)
    expect(after[0].executor?.rejected ?? 0, 'the small peer answered busy at least once').toBeGreaterThan(0)
  })
})
