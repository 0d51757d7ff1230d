// A mesh of `noodlenet start` processes for task tests: a root key in a temporary folder that every peer trusts,
// peers started with a config file, capability tokens for `/task/run`, and tasks submitted and awaited through a
// peer's admin API (POST /api/tasks, GET /api/tasks/ID?wait=S).

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { type PeerProcess, type Ready, runCli, startPeer } from './peer-process.js'

export interface TaskRecord {
  status: string
  peer?: string
  result?: unknown
  error?: { code: string; message: string }
}

export interface MeshPeer {
  process: PeerProcess
  ready: Ready
}

export class TaskMesh {
  readonly peers: PeerProcess[] = []
  private dir = ''
  private rootKey = ''
  private root = ''
  private configs = 0

  /** Makes the folder and the root key (call in beforeAll). */
  async open(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'noodlenet-task-mesh-'))
    this.rootKey = join(this.dir, 'root.key')
    this.root = JSON.parse((await runCli(['keygen', '--out', this.rootKey])).stdout).peerId as string
  }

  /** Kills every peer started so far (SIGCONT first: a stopped process cannot die until it runs). */
  async killAll(): Promise<void> {
    for (const peer of this.peers) peer.child.kill('SIGCONT')
    await Promise.all(this.peers.splice(0).map((peer) => peer.kill()))
  }

  async close(): Promise<void> {
    await this.killAll()
    await rm(this.dir, { recursive: true, force: true })
  }

  /** A peer that trusts the mesh's root, with extra config (written to a file) and flags. */
  async start(config: Record<string, unknown>, extra: string[] = [], env: Record<string, string> = {}): Promise<MeshPeer> {
    const file = join(this.dir, `config-${this.configs++}.json`)
    await writeFile(file, JSON.stringify(config))
    const process = startPeer(['--trusted-root', this.root, '--config', file, ...extra], env)
    this.peers.push(process)
    return { process, ready: await process.ready }
  }

  /** A token from the root for `peerId` to run tasks on the others. */
  async tokenFor(peerId: string): Promise<string> {
    return (await runCli(['token', 'issue', '--key', this.rootKey, '--to', peerId, '--can', '/task/run', '--expires', '30m'])).stdout.trim()
  }
}

/** Submits each task through the peer's API, in order; returns their ids. */
export async function submitAll(api: string, tasks: Array<Record<string, unknown>>): Promise<string[]> {
  const ids: string[] = []
  for (const task of tasks) {
    const res = await fetch(`${api}/api/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(task),
    })
    const body = (await res.json()) as { id?: string }
    if (body.id === undefined) throw new Error(`POST /api/tasks: ${JSON.stringify(body)}`)
    ids.push(body.id)
  }
  return ids
}

/** The task's record now, or once it finishes if that is within `waitSeconds`. */
export async function taskRecord(api: string, id: string, waitSeconds = 0): Promise<TaskRecord> {
  return (await (await fetch(`${api}/api/tasks/${id}?wait=${waitSeconds}`)).json()) as TaskRecord
}

/** The task's record once it is done or failed. */
export async function outcome(api: string, id: string): Promise<TaskRecord> {
  for (;;) {
    const record = await taskRecord(api, id, 30)
    if (record.status === 'done' || record.status === 'failed') return record
  }
}

/** Checks that task k finished with result k, and counts the tasks each peer ran. */
export function resultsByPeer(records: TaskRecord[]): Map<string, number> {
  const byPeer = new Map<string, number>()
  records.forEach((record, k) => {
    expect(record.status, JSON.stringify(record.error)).toBe('done')
    expect(record.result).toBe(k)
    byPeer.set(record.peer as string, (byPeer.get(record.peer as string) ?? 0) + 1)
  })
  return byPeer
}
