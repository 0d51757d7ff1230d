// Redundant execution (RunOptions replicas/quorum; orchestrator/replicas.ts) over real libp2p nodes on the memory
// transport: replicas go to distinct peers; the output a quorum agrees on wins; a lying peer is outvoted, counted
// and struck; a split vote is QUORUM_FAILED; asking for more replicas than peers fails at once.

import { afterEach, describe, expect, it } from 'vitest'
import { isNoodleError, NoodleNode, type TaskExecutor, type TaskRun } from '../src/index.js'
import { outputHash, QuorumVote, replicaPlan } from '../src/orchestrator/replicas.js'
import { eventually, taskAuthority, testConfig, testPlatform } from './test-platform.js'

const nodes: NoodleNode[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.stop()))
})

/** `double`, honestly or not; honest ones take a little longer, so a liar's answer is always in the vote. */
class DoublingExecutor implements TaskExecutor {
  ran = 0
  constructor(readonly lies: boolean) {}
  kernels(): string[] {
    return ['double']
  }
  levelOf(kernel: string) {
    return kernel === 'double' ? ('PUBLIC' as const) : undefined
  }
  async run(task: TaskRun) {
    this.ran++
    if (!this.lies) await new Promise((resolve) => setTimeout(resolve, 30))
    const doubled = (task.input as { n: number }).n * 2
    return { output: { doubled: this.lies ? doubled + 1 : doubled }, durationMs: 1, backend: 'cpu' as const }
  }
  load() {
    return { running: 0, queueLength: 0, queueLimit: 16 }
  }
}

/** A submitter (no executor) and one executor per entry of `liars`, all trusting one root. */
async function mesh(liars: boolean[]) {
  const { root, grant } = await taskAuthority()
  const start = async (executor: TaskExecutor | undefined, bootstrap: string[]) => {
    const node = await NoodleNode.create({
      config: testConfig({ network: { bootstrap }, security: { trustedRoots: [root] } }),
      platform: { ...testPlatform(), taskExecutor: () => executor },
    })
    await node.start()
    nodes.push(node)
    return node
  }
  const submitter = await start(undefined, [])
  const executors = liars.map((lies) => new DoublingExecutor(lies))
  const peers: NoodleNode[] = []
  for (const executor of executors) peers.push(await start(executor, [submitter.addrs()[0]]))
  const token = await grant(submitter)
  await eventually(() => peers.every((peer) => submitter.presence.get(peer.peerId.toString()) !== undefined), 10_000, 'presence')
  return { submitter, executors, peers, token }
}

describe('replicas and quorum', () => {
  it('replicas run on distinct peers and the agreed output wins', async () => {
    const { submitter, executors, peers, token } = await mesh([false, false, false])
    const outcome = await submitter.tasks.submit('double', { n: 21 }, { token, replicas: 3, quorum: 3 })
    expect(outcome.output).toEqual({ doubled: 42 })
    expect(new Set(outcome.agreedBy)).toEqual(new Set(peers.map((peer) => peer.peerId.toString())))
    expect(executors.map((executor) => executor.ran)).toEqual([1, 1, 1])
  })

  it('a lying peer is outvoted by the majority, counted and struck', async () => {
    const { submitter, peers, token } = await mesh([true, false, false])
    const liar = peers[0].peerId.toString()
    const outcome = await submitter.tasks.submit('double', { n: 5 }, { token, replicas: 3, quorum: 2 })
    expect(outcome.output).toEqual({ doubled: 10 })
    expect(outcome.agreedBy).not.toContain(liar)
    expect(submitter.tasks.disagreements.get(liar)).toBe(1)
    expect(submitter.metrics.render()).toContain('noodlenet_quorum_disagreements_total 1')
  })

  it('when no quorum agrees the task fails with QUORUM_FAILED, saying how the outputs split', async () => {
    const { submitter, peers, token } = await mesh([true, false])
    const error = await submitter.tasks.submit('double', { n: 5 }, { token, replicas: 2 }).catch((err: unknown) => err)
    expect(isNoodleError(error, 'QUORUM_FAILED')).toBe(true)
    expect((error as Error).message).toMatch(/no 2 of the 2 replicas of the double task agreed \(outputs by hash: [0-9a-f]{12}: /)
    for (const peer of peers) expect(submitter.tasks.disagreements.get(peer.peerId.toString())).toBe(1)
  })

  it('more replicas than peers, a bad quorum, or a pinned peer fail at once with a typed error', async () => {
    const { submitter, peers, token } = await mesh([false, false])
    const tooMany = await submitter.tasks.submit('double', { n: 1 }, { token, replicas: 3 }).catch((err: unknown) => err)
    expect(isNoodleError(tooMany, 'TASK_UNPLACEABLE')).toBe(true)
    expect((tooMany as Error).message).toBe('the double task needs 3 distinct peers that run it; 2 known')
    const badQuorum = await submitter.tasks.submit('double', { n: 1 }, { token, replicas: 2, quorum: 3 }).catch((err: unknown) => err)
    expect(isNoodleError(badQuorum, 'TASK_INVALID')).toBe(true)
    const pinned = await submitter.tasks
      .submit('double', { n: 1 }, { token, replicas: 2, peer: peers[0].peerId.toString() })
      .catch((err: unknown) => err)
    expect(isNoodleError(pinned, 'TASK_INVALID')).toBe(true)
  })
})

describe('the vote', () => {
  it('hashes canonical CBOR: equal values hash alike whatever their key order', async () => {
    expect(await outputHash({ a: 1, b: [2, 3] })).toBe(await outputHash({ b: [2, 3], a: 1 }))
    expect(await outputHash({ a: 1 })).not.toBe(await outputHash({ a: 2 }))
  })

  it('decides once a quorum agrees; failures count as answers, not votes', () => {
    const vote = new QuorumVote(replicaPlan(4, undefined))
    expect(vote.quorum).toBe(3)
    expect(vote.cast({ peer: 'a', hash: 'x' })).toBeUndefined()
    expect(vote.cast({ peer: 'b', hash: undefined })).toBeUndefined()
    expect(vote.cast({ peer: 'c', hash: 'x' })).toBeUndefined()
    expect(vote.complete).toBe(false)
    expect(vote.cast({ peer: 'd', hash: 'y' })).toBeUndefined()
    expect(vote.complete).toBe(true)
    expect(vote.dissenters()).toEqual(['d'])
  })
})
