// Supervision (orchestrator/supervisor.ts): an executor that breaks (throws something other than a task's
// NoodleError) is isolated and restarted with backoff while the node goes on serving; a guarded event handler's
// exception is caught and counted instead of reaching the emitter.

import { afterEach, describe, expect, it } from 'vitest'
import { isNoodleError, NoodleNode, type Platform, PROFILE_PROTOCOL, type TaskExecutor, type TaskRun } from '../src/index.js'
import { createLogger } from '../src/monitoring/logger.js'
import { NodeMetrics } from '../src/monitoring/node-metrics.js'
import { Supervisor } from '../src/orchestrator/supervisor.js'
import { eventually, MemorySink, taskAuthority, testConfig, testPlatform } from './test-platform.js'

const nodes: NoodleNode[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.stop()))
})

/** Runs `echo` until told to break; then every run throws a TypeError, as a bug in an executor would. */
class BreakableExecutor implements TaskExecutor {
  broken = false
  stopped = false
  kernels(): string[] {
    return ['echo']
  }
  levelOf(kernel: string) {
    return kernel === 'echo' ? ('PUBLIC' as const) : undefined
  }
  async run(task: TaskRun) {
    if (this.broken) throw new TypeError('cannot read properties of undefined (reading "postMessage")')
    return { output: task.input, durationMs: 1, backend: 'cpu' as const }
  }
  load() {
    return { running: 0, queueLength: 0, queueLimit: 16 }
  }
  async stop() {
    this.stopped = true
  }
}

async function startNode(platform: Platform, bootstrap?: string, trustedRoots: string[] = []): Promise<NoodleNode> {
  const node = await NoodleNode.create({
    config: testConfig({ network: { bootstrap: bootstrap === undefined ? [] : [bootstrap] }, security: { trustedRoots } }),
    platform,
  })
  await node.start()
  nodes.push(node)
  return node
}

describe('supervision', () => {
  it('a broken executor is restarted with backoff while the node keeps serving', async () => {
    const { root, grant } = await taskAuthority()
    const made: BreakableExecutor[] = []
    const logs = new MemorySink()
    const worker = await startNode(
      {
        ...testPlatform(logs),
        taskExecutor: () => {
          made.push(new BreakableExecutor())
          return made.at(-1)
        },
      },
      undefined,
      [root],
    )
    const submitter = await startNode(testPlatform(), worker.addrs()[0])
    const token = await grant(submitter)
    await eventually(() => submitter.presence.get(worker.peerId.toString()) !== undefined, 10_000, 'presence')
    const echo = () => submitter.run('echo', 'hello', { token, peer: worker.peerId.toString() })
    expect(await echo()).toBe('hello')

    made[0].broken = true
    const failure = await echo().catch((err: unknown) => err)
    expect(isNoodleError(failure, 'HANDLER_FAILED')).toBe(true)
    // The node is up and serving meanwhile: other requests answer, and tasks come back once the executor is new.
    expect(worker.isStarted).toBe(true)
    expect(made[0].stopped).toBe(true)
    const profile = await submitter.rpc.request(worker.peerId, PROFILE_PROTOCOL, {})
    // While it restarts it still lists its kernels, with a full queue: schedulers wait rather than give up.
    expect(profile.kernels).toContain('echo')
    expect(profile.load.queueLength).toBe(profile.load.queueLimit)
    expect(await echo()).toBe('hello')
    expect(made).toHaveLength(2)
    expect(worker.metrics.render()).toContain('noodlenet_component_failures_total{component="executor"} 1')
    const record = logs.records().find((line) => line.msg === 'component failed; restarting it in 500 ms')
    expect(record).toMatchObject({ component: 'executor', delayMs: 500 })
  })

  it('a gossip event that breaks the task service is caught and counted; the node goes on serving', async () => {
    const node = await startNode({
      ...testPlatform(),
      taskExecutor: () => new BreakableExecutor(),
    })
    // A profile with no hardware: the scheduler's candidate cannot be made from it. Unguarded, the throw would
    // surface as an uncaught exception from the emitter (and fail this test).
    expect(() => node.presence.dispatchEvent(new CustomEvent('presence:update', { detail: { peerId: 'bogus' } }))).not.toThrow()
    expect(node.metrics.render()).toContain('noodlenet_component_failures_total{component="tasks.presence"} 1')
    expect(node.metrics.render()).toContain('noodlenet_component_failures_total{component="mesh.discovery"} 1')
    expect(await node.run('echo', 'still here')).toBe('still here')
  })

  it('restarts back off, doubling per failure; a guarded handler that throws is caught and counted', async () => {
    const logs = new MemorySink()
    const metrics = new NodeMetrics()
    const supervisor = new Supervisor({
      logger: createLogger({ level: 'DEBUG', component: 'supervisor', sink: logs }),
      metrics,
      baseMs: 20,
      maxMs: 1_000,
      stableMs: 60_000,
    })
    type Part = { n: number; stop?: () => void }
    const instances: Part[] = []
    let current: Part | undefined
    const slot = await supervisor.supervise(
      'gpu',
      async (): Promise<Part | undefined> => {
        instances.push({ n: instances.length })
        return instances.at(-1)
      },
      (instance) => (current = instance),
    )
    for (let failures = 1; failures <= 3; failures++) {
      slot.fail(current as Part, new Error(`failure ${failures}`))
      expect(slot.current).toBeUndefined()
      await eventually(() => current !== undefined, 5_000, 'a restart')
    }
    // A report about an instance already replaced changes nothing.
    slot.fail(instances[0], new Error('stale'))
    expect(slot.current).toBe(instances[3])
    const delays = logs
      .records()
      .filter((line) => line.component === 'gpu' && 'delayMs' in line)
      .map((line) => line.delayMs)
    expect(delays).toEqual([20, 40, 80])

    const handler = supervisor.guard('presence', () => {
      throw new Error('bad gossip')
    })
    expect(() => handler()).not.toThrow()
    expect(metrics.registry.render()).toContain('noodlenet_component_failures_total{component="presence"} 1')
    await supervisor.stop()
  })
})
