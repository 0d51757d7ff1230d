// Recovery across real `noodlenet start` processes (docs/RECOVERY.md): a submitter that runs nothing itself
// (scheduler.execute false) sends `delay` tasks to executor peers, and an executor dies under them. SIGKILL (the
// kernel resets its sockets) and SIGSTOP (nothing closes: only the task lease's silent heartbeats tell) both leave
// the caller with exactly one correct result, from another peer.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { eventually, runCli } from './support/peer-process.js'
import { type MeshPeer, outcome, resultsByPeer, submitAll, TaskMesh, taskRecord } from './support/task-mesh.js'

const net = new TaskMesh()
beforeAll(() => net.open())
afterEach(() => net.killAll())
afterAll(() => net.close())

async function submit(api: string, task: Record<string, unknown>): Promise<string> {
  return (await submitAll(api, [task]))[0]
}

/** The value of one Prometheus sample in the peer's /metrics (0 when absent). */
async function metric(peer: MeshPeer, sample: string): Promise<number> {
  const text = await (await fetch(`${peer.ready.api}/metrics`)).text()
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${sample} `))
  return line === undefined ? 0 : Number(line.slice(sample.length + 1))
}

/** A submitter that runs nothing and executors bootstrapping from it; resolves once a pinned echo task has
 *  completed on every executor (their profiles have reached the submitter: it can place anywhere). */
async function mesh(
  executors: number,
  submitterConfig: Record<string, unknown> = {},
): Promise<{ submitter: MeshPeer; token: string; executors: MeshPeer[] }> {
  const submitter = await net.start({ scheduler: { execute: false }, ...submitterConfig })
  const started = await Promise.all(Array.from({ length: executors }, () => net.start({}, ['--bootstrap', submitter.ready.addrs[0]])))
  const token = await net.tokenFor(submitter.ready.peerId)
  for (const executor of started) {
    await eventually(
      async () => {
        const id = await submit(submitter.ready.api, { kernel: 'echo', input: 0, token, peer: executor.ready.peerId })
        return (await outcome(submitter.ready.api, id)).status === 'done'
      },
      30_000,
      'a first task on each executor',
    )
  }
  return { submitter, token, executors: started }
}

/** Waits until the task is running on one of `executors` and returns that one. */
async function runningOn(api: string, id: string, executors: MeshPeer[]): Promise<MeshPeer> {
  let executor: MeshPeer | undefined
  await eventually(
    async () => {
      const found = await taskRecord(api, id)
      executor = found.status === 'running' ? executors.find((candidate) => candidate.ready.peerId === found.peer) : undefined
      return executor !== undefined
    },
    30_000,
    'the task to start on an executor',
  )
  return executor as MeshPeer
}

describe('recovery when an executor dies mid-task', () => {
  it('SIGKILL of the executor during a delay task: the caller gets exactly one correct result, from another peer', {
    timeout: 120_000,
  }, async () => {
    const { submitter, token, executors } = await mesh(2)
    const id = await submit(submitter.ready.api, { kernel: 'delay', input: { ms: 3_000, value: 'survived' }, token })
    const victim = await runningOn(submitter.ready.api, id, executors)
    await victim.process.kill()
    const result = await outcome(submitter.ready.api, id)
    expect(result.status, JSON.stringify(result.error)).toBe('done')
    expect(result.result).toBe('survived')
    const survivor = executors.find((executor) => executor !== victim) as MeshPeer
    expect(result.peer).toBe(survivor.ready.peerId)
    expect(await metric(submitter, 'noodlenet_task_duplicate_results_total')).toBe(0)
  })

  it('SIGSTOP of the executor (no connection closes): its lease lapses and another peer answers', { timeout: 120_000 }, async () => {
    const { submitter, token, executors } = await mesh(2)
    // Longer than a lease, far shorter than the request timeout (task time + 10 s): an answer within it came from
    // the lease, not the timeout.
    const id = await submit(submitter.ready.api, { kernel: 'delay', input: { ms: 4_000, value: 'leased' }, token })
    const victim = await runningOn(submitter.ready.api, id, executors)
    victim.process.child.kill('SIGSTOP')
    const result = await outcome(submitter.ready.api, id)
    expect(result.status, JSON.stringify(result.error)).toBe('done')
    expect(result.result).toBe('leased')
    expect(result.peer).not.toBe(victim.ready.peerId)
    expect(await metric(submitter, 'noodlenet_tasks_replaced_total{reason="lease"}')).toBeGreaterThanOrEqual(1)
    await submitter.process.logRecord((line) => line.msg === 'task lease expired; placing the task again', 5_000)
    victim.process.child.kill('SIGCONT')
  })

  it('100 tasks over three executors, one SIGKILLed mid-way: 100 correct results, none duplicated', { timeout: 240_000 }, async () => {
    const { submitter, token, executors } = await mesh(3)
    const ids: string[] = []
    for (let k = 0; k < 100; k++) {
      ids.push(await submit(submitter.ready.api, { kernel: 'delay', input: { ms: 150, value: k }, token, placement: 'spread' }))
    }
    // Mid-way: once a quarter of them are done.
    await eventually(
      async () => (await Promise.all(ids.slice(0, 25).map((id) => taskRecord(submitter.ready.api, id)))).every((r) => r.status === 'done'),
      60_000,
      'a quarter of the tasks to finish',
    )
    const victim = executors[0]
    await victim.process.kill()
    const records = await Promise.all(ids.map((id) => outcome(submitter.ready.api, id)))
    const byPeer = resultsByPeer(records)
    expect([...byPeer.values()].reduce((a, b) => a + b, 0)).toBe(100)
    // The survivors took the rest: each ran some.
    for (const survivor of executors.slice(1)) expect(byPeer.get(survivor.ready.peerId) ?? 0).toBeGreaterThan(0)
  })
})

interface Health {
  executor: { completed: number } | null
}

interface HealthRow {
  peerId: string
  state: string
  breaker: string
}

/** The submitter's breaker for `peer`, from GET /api/health/peers. */
async function breakerOf(submitter: MeshPeer, peer: MeshPeer): Promise<string | undefined> {
  const rows = await submitter.process.api<HealthRow[]>('/api/health/peers')
  return rows.find((row) => row.peerId === peer.ready.peerId)?.breaker
}

describe('circuit breakers and the retry budget', () => {
  it('a breaker opens for a peer that loses its tasks (SIGSTOP) and closes again once it recovers (SIGCONT)', {
    timeout: 180_000,
  }, async () => {
    const { submitter, token, executors } = await mesh(2, { scheduler: { execute: false, breakerFailures: 3 } })
    const [victim] = executors
    // A dozen slow tasks spread over both executors: the victim holds several when it stops.
    const first = await submitAll(
      submitter.ready.api,
      Array.from({ length: 12 }, (_, k) => ({ kernel: 'delay', input: { ms: 2_000, value: k }, token, placement: 'spread' })),
    )
    await eventually(async () => (await taskRecord(submitter.ready.api, first[0])).status === 'running', 30_000, 'the first task to start')
    victim.process.child.kill('SIGSTOP')
    await eventually(async () => (await breakerOf(submitter, victim)) === 'open', 30_000, "the victim's breaker to open")
    await submitter.process.logRecord((line) => line.msg === 'circuit breaker open: no tasks to this peer until a probe succeeds', 5_000)
    resultsByPeer(await Promise.all(first.map((id) => outcome(submitter.ready.api, id))))
    victim.process.child.kill('SIGCONT')
    // Tasks keep coming; after the cool-down one probes the victim, and its success closes the breaker.
    await eventually(
      async () => {
        const ids = await submitAll(
          submitter.ready.api,
          Array.from({ length: 4 }, (_, k) => ({ kernel: 'echo', input: k, token, placement: 'spread' })),
        )
        resultsByPeer(await Promise.all(ids.map((id) => outcome(submitter.ready.api, id))))
        return (await breakerOf(submitter, victim)) === 'closed'
      },
      60_000,
      "the victim's breaker to close",
    )
    await submitter.process.logRecord((line) => line.msg === 'circuit breaker closed: the peer takes tasks again', 5_000)
  })

  it('with the retry budget spent and no wait allowed, a task that loses a second executor fails with RETRY_BUDGET_EXHAUSTED', {
    timeout: 120_000,
  }, async () => {
    const { submitter, token, executors } = await mesh(2, {
      scheduler: { execute: false, retryBudgetPercent: 0, retryBudgetFloor: 0, retryBudgetWaitMs: 0 },
    })
    const id = await submit(submitter.ready.api, { kernel: 'delay', input: { ms: 5_000 }, token })
    // The first move after an executor dies is a free failover; the second retry needs the budget, and it is 0.
    const first = await runningOn(submitter.ready.api, id, executors)
    await first.process.kill()
    const second = await runningOn(
      submitter.ready.api,
      id,
      executors.filter((executor) => executor !== first),
    )
    await second.process.kill()
    const result = await outcome(submitter.ready.api, id)
    expect(result.status).toBe('failed')
    expect(result.error?.code).toBe('RETRY_BUDGET_EXHAUSTED')
    expect(result.error?.message).toMatch(/retry budget is spent.*check GET \/api\/health\/peers/)
  })

  it('a task due a retry while the budget is spent waits for the budget and then completes elsewhere', {
    timeout: 180_000,
  }, async () => {
    // One retry per 10 s window: the first move is free, the second takes the one retry, the third must wait for
    // that retry to age out of the window.
    const { submitter, token, executors } = await mesh(4, { scheduler: { execute: false, retryBudgetPercent: 0, retryBudgetFloor: 1 } })
    const id = await submit(submitter.ready.api, { kernel: 'delay', input: { ms: 4_000, value: 'waited' }, token })
    let alive = executors
    for (let kill = 0; kill < 3; kill++) {
      const victim = await runningOn(submitter.ready.api, id, alive)
      alive = alive.filter((executor) => executor !== victim)
      await victim.process.kill()
    }
    await submitter.process.logRecord((line) => /retry budget is spent.*tasks due a retry wait for it/.test(String(line.msg)), 30_000)
    const result = await outcome(submitter.ready.api, id)
    expect(result.status).toBe('done')
    expect(result.result).toBe('waited')
    expect(result.peer).toBe(alive[0].ready.peerId)
  })

  it('under overload the lowest priorities are shed with TASK_SHED; a higher priority still gets in', { timeout: 120_000 }, async () => {
    // One slow executor slot, and a submitter that holds at most 3 waiting tasks before it sheds.
    const submitter = await net.start({ scheduler: { execute: false, shedQueueLength: 3 } })
    await net.start({ scheduler: { concurrency: 1, queueLimit: 1 } }, ['--bootstrap', submitter.ready.addrs[0]])
    const token = await net.tokenFor(submitter.ready.peerId)
    await eventually(
      async () =>
        (await outcome(submitter.ready.api, await submit(submitter.ready.api, { kernel: 'echo', input: 0, token }))).status === 'done',
      30_000,
      'a first task on the executor',
    )
    const low = await submitAll(
      submitter.ready.api,
      Array.from({ length: 10 }, (_, k) => ({ kernel: 'delay', input: { ms: 300, value: k }, token, priority: 1 })),
    )
    const high = await submit(submitter.ready.api, { kernel: 'delay', input: { ms: 300, value: 'urgent' }, token, priority: 9 })
    const lows = await Promise.all(low.map((id) => outcome(submitter.ready.api, id)))
    const shed = lows.filter((record) => record.status === 'failed')
    expect(shed.length).toBeGreaterThan(0)
    for (const record of shed) {
      expect(record.error?.code).toBe('TASK_SHED')
      expect(record.error?.message).toMatch(/the mesh is overloaded: .* Retry later, or give the task a higher priority/)
    }
    lows.forEach((record, k) => {
      if (record.status !== 'failed') expect(record.result).toBe(k)
    })
    const urgent = await outcome(submitter.ready.api, high)
    expect(urgent.status, JSON.stringify(urgent.error)).toBe('done')
    expect(urgent.result).toBe('urgent')
    // It got in by pushing out a waiting low-priority task.
    await submitter.process.logRecord((line) => line.msg === 'overloaded: a waiting task was shed' && line.priority === 1, 5_000)
    expect(await metric(submitter, 'noodlenet_tasks_shed_total{priority="1"}')).toBe(shed.length)
  })
})

describe('replicas and quorum', () => {
  it('noodlenet run --replicas 3 --quorum 2 runs the task on three distinct peers and prints the agreed output', {
    timeout: 120_000,
  }, async () => {
    const { submitter, token, executors } = await mesh(3)
    const before = await Promise.all(executors.map((executor) => executor.process.api<Health>('/health')))
    const run = await runCli([
      'run',
      'echo',
      '--input',
      '{"x":[1,2,3]}',
      '--api',
      submitter.ready.api,
      '--token',
      token,
      '--replicas',
      '3',
      '--quorum',
      '2',
    ])
    expect(run.stderr).toBe('')
    expect(JSON.parse(run.stdout)).toEqual({ x: [1, 2, 3] })
    // Each executor ran it once (the third may have been cancelled once two agreed: at most one each, at least two).
    const after = await Promise.all(executors.map((executor) => executor.process.api<Health>('/health')))
    const ran = after.map((health, i) => (health.executor?.completed ?? 0) - (before[i].executor?.completed ?? 0))
    expect(Math.max(...ran)).toBe(1)
    expect(ran.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2)
    const bad = await runCli(['run', 'echo', '--input', '1', '--api', submitter.ready.api, '--token', token, '--replicas', '4'])
    expect(bad.code).toBe(1)
    expect(JSON.parse(bad.stderr)).toMatchObject({ code: 'TASK_UNPLACEABLE' })
  })
})
