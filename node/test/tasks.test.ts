// Tasks through real peers: `noodlenet run` and the admin API's /api/tasks against `noodlenet start` processes.
// A task submitted through a peer's own API acts as that peer; one sent to another peer needs a capability token
// from a root that peer trusts.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LOOP_MODULE, REVERSE_MODULE } from '../../shared/test/wasm-modules.js'
import { eventually, type PeerProcess, runCli, startPeer } from './support/peer-process.js'

const peers: PeerProcess[] = []
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noodlenet-tasks-'))
})

afterAll(async () => {
  await Promise.all(peers.map((peer) => peer.kill()))
  await rm(dir, { recursive: true, force: true })
})

function peer(extra: string[] = []): PeerProcess {
  const started = startPeer(extra)
  peers.push(started)
  return started
}

async function post(api: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('tasks through the admin API and `noodlenet run`', () => {
  it('runs a kernel on the peer itself and prints the result', async () => {
    const { api } = await peer().ready
    const run = await runCli(['run', 'matmul', '--api', api, '--input', '{"a":[[1,2],[3,4]],"b":[[5,6],[7,8]]}'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual([
      [19, 22],
      [43, 50],
    ])

    const submitted = await post(api, '/api/tasks', { kernel: 'echo', input: { hello: 'mesh' } })
    expect(submitted.status).toBe(200)
    const id = submitted.body.id as string
    const record = (await (await fetch(`${api}/api/tasks/${id}?wait=30`)).json()) as Record<string, unknown>
    expect(record).toMatchObject({ id, kernel: 'echo', status: 'done', result: { hello: 'mesh' } })
    expect(record.peer).toMatch(/^12D3KooW/)
  })

  it('a map prints every result in input order', async () => {
    const { api } = await peer().ready
    const inputs = Array.from({ length: 40 }, (_, i) => ({ a: 2, x: [i], y: [1] }))
    const file = join(dir, 'inputs.json')
    await writeFile(file, JSON.stringify(inputs))
    const run = await runCli(['run', 'saxpy', '--api', api, '--inputs', `@${file}`])
    expect(run.code).toBe(0)
    const results = JSON.parse(run.stdout) as unknown[]
    expect(results).toHaveLength(40)
    expect(results.map((r) => JSON.stringify(r))).toEqual(inputs.map((_, i) => JSON.stringify(resultOfSaxpy(2, i, 1))))
  })

  it('bad input is a typed error with a sentence, the peer keeps serving', async () => {
    const { api } = await peer().ready
    const bad = await runCli(['run', 'matmul', '--api', api, '--input', '{"a":[[1,2]],"b":[[1,2]]}'])
    expect(bad.code).toBe(1)
    expect(JSON.parse(bad.stderr)).toMatchObject({ code: 'TASK_INPUT_INVALID' })
    const unknown = await post(api, '/api/tasks', { kernel: 'no-such-kernel', input: 1 })
    const record = (await (await fetch(`${api}/api/tasks/${unknown.body.id}?wait=30`)).json()) as Record<string, unknown>
    expect(record).toMatchObject({ status: 'failed', error: { code: 'TASK_UNPLACEABLE' } })
    const invalid = await post(api, '/api/tasks', { kernel: 'echo', input: 1, priority: 12 })
    expect(invalid.status).toBe(400)
    expect(invalid.body).toMatchObject({ code: 'TASK_INVALID' })
    expect(String(invalid.body.message)).toContain('priority')
    const missing = await fetch(`${api}/api/tasks/nope`)
    expect(missing.status).toBe(404)
    expect(await runCli(['run', 'echo', '--api', api, '--input', '{not json'])).toMatchObject({ code: 2 })
    expect((await runCli(['run', 'echo', '--api', api, '--input', '"still here"'])).stdout.trim()).toBe('"still here"')
  })

  it('a peer started with --gpu runs GPU tasks on Dawn in a child process (SwiftShader here)', async () => {
    const { api } = await peer(['--gpu', 'any']).ready
    const posted = await post(api, '/api/tasks', { kernel: 'matmul', input: { a: [[1, 2]], b: [[3], [4]] }, requires: { gpu: true } })
    const record = (await (await fetch(`${api}/api/tasks/${posted.body.id}?wait=60`)).json()) as Record<string, unknown>
    expect(record).toMatchObject({ status: 'done', backend: 'webgpu', result: [[11]] })
    const health = (await (await fetch(`${api}/health`)).json()) as { executor: { gpuTasks: number } }
    expect(health.executor.gpuTasks).toBe(0)
  })

  it('says so when no peer listens at --api', async () => {
    const run = await runCli(['run', 'echo', '--api', 'http://127.0.0.1:9', '--input', '1'])
    expect(run.code).toBe(1)
    expect(JSON.parse(run.stderr)).toMatchObject({ code: 'API_UNREACHABLE' })
  })

  it('a task for another peer needs a token from a root that peer trusts; with one it runs there', async () => {
    const rootKey = join(dir, 'root.key')
    const keygen = await runCli(['keygen', '--out', rootKey])
    const root = JSON.parse(keygen.stdout).peerId as string
    const worker = peer(['--trusted-root', root])
    const readyWorker = await worker.ready
    const submitter = peer(['--bootstrap', readyWorker.addrs[0]])
    const readySubmitter = await submitter.ready
    await eventually(
      async () => (await submitter.api<Array<{ peerId: string }>>('/api/peers')).some((p) => p.peerId === readyWorker.peerId),
      30_000,
      'the peers to connect',
    )
    const refused = await runCli(['run', 'echo', '--api', readySubmitter.api, '--peer', readyWorker.peerId, '--input', '1'])
    expect(refused.code).toBe(1)
    expect(JSON.parse(refused.stderr)).toMatchObject({ code: 'CAPABILITY_MISSING' })

    const issued = await runCli([
      'token',
      'issue',
      '--key',
      rootKey,
      '--to',
      readySubmitter.peerId,
      '--can',
      '/task/run',
      '--kernel',
      'echo',
      '--expires',
      '10m',
    ])
    expect(issued.code).toBe(0)
    const token = issued.stdout.trim()
    const onWorker = (kernel: string, input: string) =>
      runCli(['run', kernel, '--api', readySubmitter.api, '--peer', readyWorker.peerId, '--token', token, '--input', input])
    const ran = await onWorker('echo', '"there"')
    expect(ran.stderr).toBe('')
    expect(ran.stdout.trim()).toBe('"there"')
    const other = await onWorker('matmul', '{"a":[[1]],"b":[[1]]}')
    expect(JSON.parse(other.stderr)).toMatchObject({ code: 'CAPABILITY_MISSING' })
  })

  it('a custom WebAssembly kernel registered on one peer runs on another that never had it', async () => {
    const rootKey = join(dir, 'wasm-root.key')
    const root = JSON.parse((await runCli(['keygen', '--out', rootKey])).stdout).peerId as string
    const worker = await peer(['--trusted-root', root]).ready
    const submitter = peer(['--bootstrap', worker.addrs[0]])
    const readySubmitter = await submitter.ready
    await eventually(
      async () => (await submitter.api<Array<{ peerId: string }>>('/api/peers')).some((p) => p.peerId === worker.peerId),
      30_000,
      'the peers to connect',
    )
    // Custom kernels are INTERNAL and run code the caller sends: the token must reach that level and name them
    // (custom:* for any WebAssembly kernel); one for any kernel does not cover them.
    const tokenArgs = ['token', 'issue', '--key', rootKey, '--to', readySubmitter.peerId, '--can', '/task/run', '--level', 'INTERNAL']
    const issue = async (...kernel: string[]) => (await runCli([...tokenArgs, ...kernel])).stdout.trim()
    const token = await issue('--kernel', 'custom:*')
    const reverse = join(dir, 'reverse.wasm')
    await writeFile(reverse, REVERSE_MODULE)
    const input = JSON.stringify({ $bytes: Buffer.from([1, 2, 3, 4]).toString('base64') })
    const onWorker = ['--api', readySubmitter.api, '--peer', worker.peerId, '--token', token]
    const anyKernel = await runCli(['run', '--wasm', reverse, '--input', input, ...onWorker.slice(0, -1), await issue()])
    expect(JSON.parse(anyKernel.stderr)).toMatchObject({ code: 'CAPABILITY_MISSING', message: expect.stringMatching(/--kernel custom:\*/) })
    const ran = await runCli(['run', '--wasm', reverse, '--input', input, ...onWorker])
    expect(ran.stderr).toBe('')
    expect(JSON.parse(ran.stdout)).toEqual({ $bytes: Buffer.from([4, 3, 2, 1]).toString('base64') })

    // A module that never returns is stopped by its timeout; the worker peer runs the next one.
    const loop = join(dir, 'loop.wasm')
    await writeFile(loop, LOOP_MODULE)
    const stuck = await runCli(['run', '--wasm', loop, '--input', input, '--timeout', '1', ...onWorker])
    expect(JSON.parse(stuck.stderr)).toMatchObject({ code: 'TASK_TIMEOUT' })
    expect((await runCli(['run', '--wasm', reverse, '--input', input, ...onWorker])).code).toBe(0)
    // Not WebAssembly at all: refused where it is registered, with a typed error.
    const junk = join(dir, 'junk.wasm')
    await writeFile(junk, 'not a module')
    const refused = await runCli(['run', '--wasm', junk, '--input', input, ...onWorker])
    expect(refused.code).toBe(1)
    expect(JSON.parse(refused.stderr)).toMatchObject({ code: 'WASM_INVALID' })
  })
})

function resultOfSaxpy(a: number, x: number, y: number): number[] {
  return [Math.fround(Math.fround(a * x) + y)]
}
