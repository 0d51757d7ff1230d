// Tasks across real nodes (memory transport, in Node and in Chromium), with an in-process executor standing in for
// the worker pools: placement by the scheduler, the capability check on the executing peer, "busy" answers that send
// the task elsewhere, and map(). The worker pools themselves are tested in their own suites.

import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import {
  encodeToken,
  issueToken,
  LIMITS,
  type NoodleConfigInput,
  NoodleError,
  NoodleNode,
  type Platform,
  type SecurityLevel,
  TASK_BATCH_PROTOCOL,
  type TaskExecutor,
  type TaskExecutorRunOptions,
  type TaskProgress,
  type TaskRun,
} from '../src/index.js'
import { eventually, testConfig, testPlatform } from './test-platform.js'

const nodes: NoodleNode[] = []

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.stop()))
})

type SecurityRules = NonNullable<NonNullable<NoodleConfigInput['security']>['rules']>

/** Runs `echo` (and `double`) in process; answers TASK_BUSY beyond `limit` running at once. */
class FakeExecutor implements TaskExecutor {
  running = 0
  ran = 0
  /** TASK_BUSY answers given. */
  busy = 0
  /** Most tasks begun in one synchronous turn: above 1 only when they came in one batch frame. */
  maxPerTurn = 0
  private thisTurn = 0
  private readonly gates: Array<() => void> = []

  constructor(
    readonly limit = 16,
    readonly hold = false,
  ) {}

  kernels(): string[] {
    return ['echo', 'double']
  }

  levelOf(kernel: string): SecurityLevel | undefined {
    return this.kernels().includes(kernel) ? 'PUBLIC' : undefined
  }

  async run(task: TaskRun) {
    if (this.thisTurn++ === 0) queueMicrotask(() => (this.thisTurn = 0))
    this.maxPerTurn = Math.max(this.maxPerTurn, this.thisTurn)
    if (this.running >= this.limit) this.busy++
    if (this.running >= this.limit) throw new NoodleError('TASK_BUSY', 'the executor is full', 'retry later', { retryAfterMs: 20 })
    this.running++
    try {
      if (this.hold) await new Promise<void>((resolve) => this.gates.push(resolve))
      this.ran++
      const output = task.kernel === 'double' ? (task.input as number) * 2 : task.input
      return { output, durationMs: 1, backend: 'cpu' as const }
    } finally {
      this.running--
    }
  }

  release(): void {
    for (const open of this.gates.splice(0)) open()
  }

  load() {
    return { running: this.running, queueLength: 0, queueLimit: this.limit }
  }
}

async function startNode(
  options: { executor?: TaskExecutor; trustedRoots?: string[]; bootstrap?: string; rules?: SecurityRules } = {},
): Promise<NoodleNode> {
  const platform: Platform = { ...testPlatform(), taskExecutor: () => options.executor }
  const node = await NoodleNode.create({
    config: testConfig({
      network: { bootstrap: options.bootstrap === undefined ? [] : [options.bootstrap] },
      security: { trustedRoots: options.trustedRoots ?? [], ...(options.rules === undefined ? {} : { rules: options.rules }) },
    }),
    platform,
  })
  await node.start()
  nodes.push(node)
  return node
}

/** Maps `count` inputs (0, 1, …) through `kernel` onto a fresh worker with `executor`, from a submitter holding a
 *  token the worker honours; resolves to the number of results that came back ok. */
async function mapOnto(executor: TaskExecutor, kernel: string, count: number): Promise<number> {
  const { root, grant } = await authority()
  const worker = await startNode({ executor, trustedRoots: [root] })
  const submitter = await startNode({ bootstrap: worker.addrs()[0] })
  await knows(submitter, [worker])
  submitter.addCapability(await grant(submitter))
  let done = 0
  const inputs = Array.from({ length: count }, (_, i) => i)
  for await (const result of submitter.map(kernel, inputs, { peer: worker.peerId.toString() })) if (result.ok) done++
  return done
}

/** A root key the executors trust, and a token from it for `submitter` to run `kernels`. */
async function authority() {
  const key = await generateKeyPair('Ed25519')
  const root = peerIdFromPrivateKey(key).toString()
  const grant = async (submitter: NoodleNode, kernels?: string[]) =>
    encodeToken(
      await issueToken({
        key,
        audience: submitter.peerId.toString(),
        command: '/task/run',
        policy: { level: 'PUBLIC', kernels },
        expires: Math.floor(Date.now() / 1000) + 600,
      }),
    )
  return { root, grant }
}

/** Waits until `node` has heard the profiles of `others` (the scheduler places only on peers it knows). */
async function knows(node: NoodleNode, others: NoodleNode[]): Promise<void> {
  await eventually(() => others.every((other) => node.presence.get(other.peerId) !== undefined), 10_000, 'presence')
}

describe('tasks across nodes', () => {
  it('a node without an executor runs a task on a peer that has one, with a capability token', async () => {
    const { root, grant } = await authority()
    const executor = new FakeExecutor()
    const worker = await startNode({ executor, trustedRoots: [root] })
    const submitter = await startNode({ bootstrap: worker.addrs()[0] })
    await knows(submitter, [worker])
    const progress: TaskProgress[] = []
    const output = await submitter.run('double', 21, { token: await grant(submitter, ['double']), onProgress: (p) => progress.push(p) })
    expect(output).toBe(42)
    expect(executor.ran).toBe(1)
    expect(progress.map((p) => p.stage)).toEqual(['queued', 'placed', 'done'])
    expect(progress[1]).toMatchObject({ peer: worker.peerId.toString() })
  })

  it('the executing peer refuses without a capability (CAPABILITY_MISSING), and a token for echo does not run double', async () => {
    const { root, grant } = await authority()
    const worker = await startNode({ executor: new FakeExecutor(), trustedRoots: [root] })
    const submitter = await startNode({ bootstrap: worker.addrs()[0] })
    await knows(submitter, [worker])
    const peer = worker.peerId.toString()
    await expect(submitter.run('echo', 'x', { peer })).rejects.toMatchObject({ code: 'CAPABILITY_MISSING' })
    await expect(submitter.run('double', 1, { peer, token: await grant(submitter, ['echo']) })).rejects.toMatchObject({
      code: 'CAPABILITY_MISSING',
    })
    expect(await submitter.run('echo', 'ok', { peer, token: await grant(submitter, ['echo']) })).toBe('ok')
  })

  it('a node with an executor runs tasks itself without a token, and one nobody hosts fails with TASK_UNPLACEABLE', async () => {
    const executor = new FakeExecutor()
    const node = await startNode({ executor })
    expect(await node.run('echo', { a: [1, 2, 3] })).toEqual({ a: [1, 2, 3] })
    expect(executor.ran).toBe(1)
    await expect(node.run('matmul', { a: [[1]], b: [[1]] })).rejects.toMatchObject({ code: 'TASK_UNPLACEABLE' })
    await expect(node.run('echo', 1, { requires: { memoryMB: 10_000_000 } })).rejects.toThrow(/memory/)
  })

  it('a busy executor hands tasks back; map() still yields every result exactly once', async () => {
    const { root, grant } = await authority()
    const small = new FakeExecutor(2)
    const large = new FakeExecutor(64)
    const a = await startNode({ executor: small, trustedRoots: [root] })
    const b = await startNode({ executor: large, trustedRoots: [root], bootstrap: a.addrs()[0] })
    const submitter = await startNode({ bootstrap: a.addrs()[0] })
    await knows(submitter, [a, b])
    submitter.addCapability(await grant(submitter))
    const inputs = Array.from({ length: 200 }, (_, i) => i)
    const seen = new Map<number, unknown>()
    let lastProgress = 0
    for await (const result of submitter.map('double', inputs, { onMapProgress: (done) => (lastProgress = done) })) {
      expect(result.ok).toBe(true)
      expect(seen.has(result.index)).toBe(false)
      if (result.ok) seen.set(result.index, result.output)
    }
    expect(seen.size).toBe(200)
    for (const i of inputs) expect(seen.get(i)).toBe(i * 2)
    expect(lastProgress).toBe(200)
    expect(small.ran + large.ran).toBe(200)
  })

  it("a map larger than the peer's queue sends each task as room frees up, not a queueful per retry interval", async () => {
    // It advertises a queue of 16 and 2 cores: the submitter keeps at most 18 tasks there at once.
    const executor = new FakeExecutor(16)
    const done = await mapOnto(executor, 'echo', 100)
    expect(done).toBe(100)
    // The submitter kept within the queue the peer advertised: it never had to be told "busy". (How soon each task
    // goes once room frees up is a timing, measured in bench/tasks.ts, not asserted here.)
    expect(executor.busy).toBe(0)
    expect(executor.ran).toBe(100)
  })

  it('tasks placed on one peer together travel in batches, each answered once with its own result or busy answer', async () => {
    const { root, grant } = await authority()
    // Every third input is answered TASK_BUSY the first time: those go back in line and come again.
    class BusyOnce extends FakeExecutor {
      private readonly refused = new Set<unknown>()
      override async run(task: TaskRun) {
        if ((task.input as number) % 3 === 0 && !this.refused.has(task.input)) {
          this.refused.add(task.input)
          this.busy++
          throw new NoodleError('TASK_BUSY', 'not now', 'retry later', { retryAfterMs: 5 })
        }
        return super.run(task)
      }
    }
    const executor = new BusyOnce(256)
    const worker = await startNode({ executor, trustedRoots: [root] })
    const submitter = await startNode({ bootstrap: worker.addrs()[0] })
    await knows(submitter, [worker])
    submitter.addCapability(await grant(submitter))
    const outputs = new Map<number, unknown>()
    for await (const result of submitter.map(
      'double',
      Array.from({ length: 150 }, (_, i) => i),
      { peer: worker.peerId.toString() },
    )) {
      expect(result.ok).toBe(true)
      expect(outputs.has(result.index)).toBe(false)
      if (result.ok) outputs.set(result.index, result.output)
    }
    expect([...outputs.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 150 }, (_, i) => i))
    for (const [i, output] of outputs) expect(output).toBe(i * 2)
    expect(executor.busy).toBe(50)
    expect(executor.ran).toBe(150)
    expect(executor.maxPerTurn).toBeGreaterThan(1)
  })

  it("a batch's tasks all listen on the request's one signal while they wait, without a listener-leak warning", async () => {
    // Like CpuExecutor while a task waits in its queue: a listener on the task's signal until it settles.
    class Listening extends FakeExecutor {
      listening = 0
      most = 0
      override async run(task: TaskRun, options?: TaskExecutorRunOptions) {
        const onAbort = (): void => {}
        options?.signal.addEventListener('abort', onAbort)
        this.most = Math.max(this.most, ++this.listening)
        try {
          await new Promise((resolve) => setTimeout(resolve, 5))
          return await super.run(task)
        } finally {
          this.listening--
          options?.signal.removeEventListener('abort', onAbort)
        }
      }
    }
    const warnings: string[] = []
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name)
    }
    const node = (globalThis as { process?: NodeJS.Process }).process
    node?.on('warning', onWarning)
    try {
      const executor = new Listening(256)
      expect(await mapOnto(executor, 'double', 64)).toBe(64)
      expect(executor.most).toBeGreaterThan(10)
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setTimeout(resolve, 0))
      expect(warnings).not.toContain('MaxListenersExceededWarning')
    } finally {
      node?.off('warning', onWarning)
    }
  })

  it('a peer that does not serve batches gets the tasks one by one', async () => {
    const { root, grant } = await authority()
    const executor = new FakeExecutor(256)
    const worker = await startNode({ executor, trustedRoots: [root] })
    await worker.libp2p.unhandle(TASK_BATCH_PROTOCOL.protocol)
    const submitter = await startNode({ bootstrap: worker.addrs()[0] })
    await knows(submitter, [worker])
    submitter.addCapability(await grant(submitter))
    const outputs: unknown[] = []
    for await (const result of submitter.map('double', [1, 2, 3, 4, 5], { peer: worker.peerId.toString() })) {
      if (result.ok) outputs[result.index] = result.output
    }
    expect(outputs).toEqual([2, 4, 6, 8, 10])
    expect(executor.maxPerTurn).toBe(1)
  })

  it('a batch over a rate rule is refused whole; its tasks then go one by one, and those within the rate run', async () => {
    const { root, grant } = await authority()
    const executor = new FakeExecutor(256)
    const rules: SecurityRules = [
      { name: 'three', effect: 'deny', commands: ['/task/run'], rate: { requests: 3, perSeconds: 600 } },
      { effect: 'allow' },
    ]
    const worker = await startNode({ executor, trustedRoots: [root], rules })
    const submitter = await startNode({ bootstrap: worker.addrs()[0] })
    await knows(submitter, [worker])
    submitter.addCapability(await grant(submitter))
    const codes: string[] = []
    for await (const result of submitter.map('double', [1, 2, 3, 4, 5], { peer: worker.peerId.toString() })) {
      codes.push(result.ok ? 'ok' : result.error.code)
    }
    expect(codes.sort()).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'ok', 'ok', 'ok'])
    expect(executor.ran).toBe(3)
  })

  it('cancelling one task of a batch rejects it alone; the other tasks complete', async () => {
    const { root, grant } = await authority()
    const executor = new FakeExecutor(16, true)
    const worker = await startNode({ executor, trustedRoots: [root] })
    const submitter = await startNode({ bootstrap: worker.addrs()[0] })
    await knows(submitter, [worker])
    submitter.addCapability(await grant(submitter))
    const controller = new AbortController()
    const peer = worker.peerId.toString()
    const tasks = [1, 2, 3].map((n) => submitter.run('double', n, { peer, ...(n === 2 ? { signal: controller.signal } : {}) }))
    await eventually(() => executor.running === 3, 5_000, 'the tasks to start')
    // The first of the three went at once, alone; the two queued after it in the same turn, in one batch.
    expect(executor.maxPerTurn).toBe(2)
    controller.abort()
    await expect(tasks[1]).rejects.toMatchObject({ code: 'TASK_ABORTED' })
    executor.release()
    expect(await tasks[0]).toBe(2)
    expect(await tasks[2]).toBe(6)
  })

  it('a batch frame out of bounds is refused with FRAME_INVALID; an executor that answers out of turn fails its tasks', async () => {
    const { root, grant } = await authority()
    const worker = await startNode({ executor: new FakeExecutor(), trustedRoots: [root] })
    const submitter = await startNode({ bootstrap: worker.addrs()[0] })
    await knows(submitter, [worker])
    const token = await grant(submitter)
    submitter.addCapability(token)
    const task = { input: 1, priority: 5 }
    for (const tasks of [[], Array.from({ length: LIMITS.taskBatchMax + 1 }, () => task)]) {
      await expect(
        submitter.rpc.request(worker.peerId, TASK_BATCH_PROTOCOL, { kernel: 'echo', tasks }, { capability: token }),
      ).rejects.toMatchObject({ code: 'FRAME_INVALID' })
    }
    // Without a token the batch is refused as a single task would be.
    await expect(submitter.rpc.request(worker.peerId, TASK_BATCH_PROTOCOL, { kernel: 'echo', tasks: [task] })).rejects.toMatchObject({
      code: 'CAPABILITY_MISSING',
    })
    // An executor that answers an index it was not sent, and never the ones it was (a fresh one: the streams open to
    // the first are still served by its real handler).
    const rogue = await startNode({ executor: new FakeExecutor(), trustedRoots: [root], bootstrap: worker.addrs()[0] })
    await knows(submitter, [rogue])
    await rogue.libp2p.unhandle(TASK_BATCH_PROTOCOL.protocol)
    await rogue.rpc.handle(TASK_BATCH_PROTOCOL, { command: '/task/run', capability: 'required' }, async () => ({
      results: [{ i: 7, ok: true as const, output: 0, durationMs: 1, backend: 'cpu' as const }],
    }))
    const peer = rogue.peerId.toString()
    // The first task of the turn goes alone (to the real single-task handler); the other two in one batch.
    const answers = await Promise.allSettled([1, 2, 3].map((n) => submitter.run('echo', n, { peer })))
    expect(answers[0]).toMatchObject({ status: 'fulfilled', value: 1 })
    for (const answer of answers.slice(1)) expect(answer).toMatchObject({ status: 'rejected', reason: { code: 'FRAME_INVALID' } })
  })

  it('a batch through a route (A—B—C, A and C deny each other) is answered whole by the final frame', async () => {
    const { root, grant } = await authority()
    const [aKey, cKey] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const [aId, cId] = [aKey, cKey].map((key) => peerIdFromPrivateKey(key).toString())
    const relay = await startNode()
    const start = async (key: typeof aKey, deny: string, executor?: TaskExecutor) => {
      const node = await NoodleNode.create({
        config: testConfig({ network: { bootstrap: [relay.addrs()[0]], denyPeers: [deny] }, security: { trustedRoots: [root] } }),
        platform: { ...testPlatform(), taskExecutor: () => executor },
        privateKey: key,
      })
      await node.start()
      nodes.push(node)
      return node
    }
    const executor = new FakeExecutor(256)
    const a = await start(aKey, cId)
    const c = await start(cKey, aId, executor)
    await eventually(() => a.router.route(cId) !== undefined, 20_000, 'a route from A to C')
    const tasks = [1, 2, 3].map((input) => ({ input, priority: 5 }))
    const answer = await a.rpc.request(c.peerId, TASK_BATCH_PROTOCOL, { kernel: 'double', tasks }, { capability: await grant(a) })
    expect(answer.results.map((result) => [result.i, result.ok && result.output]).sort()).toEqual([
      [0, 2],
      [1, 4],
      [2, 6],
    ])
    expect(executor.maxPerTurn).toBe(3)
  })

  it("an app's own scoring function places tasks, passed per run or registered by name", async () => {
    const { root, grant } = await authority()
    const [x, y] = [new FakeExecutor(), new FakeExecutor()]
    const a = await startNode({ executor: x, trustedRoots: [root] })
    const b = await startNode({ executor: y, trustedRoots: [root], bootstrap: a.addrs()[0] })
    const submitter = await startNode({ bootstrap: a.addrs()[0] })
    await knows(submitter, [a, b])
    submitter.addCapability(await grant(submitter))
    const onB = b.peerId.toString()
    // Lower is better: everything to b, whatever the cost model thinks.
    const preferB = (_task: unknown, candidate: { peerId: string }) => (candidate.peerId === onB ? 0 : 1)
    for (let i = 0; i < 10; i++) await submitter.run('echo', i, { strategy: preferB })
    expect([x.ran, y.ran]).toEqual([0, 10])
    submitter.tasks.strategies.register('prefer-a', (_task, candidate) => (candidate.peerId === a.peerId.toString() ? 0 : 1))
    for (let i = 0; i < 5; i++) await submitter.run('echo', i, { strategy: 'prefer-a' })
    expect([x.ran, y.ran]).toEqual([5, 10])
    await expect(submitter.run('echo', 1, { strategy: 'no-such-strategy' })).rejects.toMatchObject({ code: 'TASK_INVALID' })
  })

  it('a map with a bad input yields that one as a typed failure and runs the rest', async () => {
    const node = await startNode({ executor: new FakeExecutor() })
    const results = []
    for await (const result of node.map('double', [1, 2, new Date(), 4])) results.push(result)
    expect(results.filter((r) => r.ok)).toHaveLength(3)
    expect(results.find((r) => !r.ok)).toMatchObject({ index: 2, ok: false, error: { code: 'TASK_INVALID' } })
  })

  it('cancelling a queued or running task rejects it with TASK_ABORTED', async () => {
    const executor = new FakeExecutor(16, true)
    const node = await startNode({ executor })
    const controller = new AbortController()
    const running = node.run('echo', 1, { signal: controller.signal })
    await eventually(() => executor.running === 1, 5_000, 'the task to start')
    controller.abort()
    await expect(running).rejects.toMatchObject({ code: 'TASK_ABORTED' })
    executor.release()
  })
})
