// The tasks submitted through the admin API (`POST /api/tasks`), as `GET /api/tasks/ID` shows them: status, the peer
// that runs or ran it, and the result or error. Bounded: beyond the limit the oldest finished record is forgotten
// (a client polls for its result soon after it finishes, or waits with ?wait=).

import { isNoodleError, type NoodleNode, type RunOptions } from '@noodlenet/shared'

export type TaskStatus = 'queued' | 'running' | 'done' | 'failed'

export interface TaskRecord {
  id: string
  kernel: string
  status: TaskStatus
  /** The peer running it or that ran it (absent while queued). */
  peer?: string
  /** Where it ran: cpu, webgpu or wasm (once done). */
  backend?: string
  result?: unknown
  error?: { code: string; message: string }
  submittedAt: number
  finishedAt?: number
}

/** Records kept at once. A record is a few hundred bytes plus its result. */
export const TASK_RECORDS_MAX = 10_000

export class TaskRecords {
  private readonly records = new Map<string, TaskRecord>()
  private readonly waiters = new Map<string, Array<() => void>>()
  private counter = 0

  /** Submits through the node and returns the new record at once; it moves on as the task does. */
  submit(node: NoodleNode, kernel: string, input: unknown, options: RunOptions): TaskRecord {
    this.makeRoom()
    const id = `${Date.now().toString(36)}-${(this.counter++).toString(36)}`
    const record: TaskRecord = { id, kernel, status: 'queued', submittedAt: Date.now() }
    this.records.set(id, record)
    node.tasks
      .submit(kernel, input, {
        ...options,
        onProgress: (progress) => {
          if (progress.stage === 'placed') {
            record.status = 'running'
            record.peer = progress.peer
          } else if (progress.stage === 'retry') {
            record.status = 'queued'
          }
        },
      })
      .then(
        ({ output, peer, backend }) => {
          record.status = 'done'
          record.peer = peer
          record.backend = backend
          record.result = output
        },
        (err: unknown) => {
          record.status = 'failed'
          record.error = isNoodleError(err) ? { code: err.code, message: err.sentence } : { code: 'TASK_FAILED', message: String(err) }
        },
      )
      .finally(() => {
        record.finishedAt = Date.now()
        for (const wake of this.waiters.get(id) ?? []) wake()
        this.waiters.delete(id)
      })
    return record
  }

  get(id: string): TaskRecord | undefined {
    return this.records.get(id)
  }

  /** Resolves when the task finishes or after `timeoutMs`, whichever is first. */
  async settled(id: string, timeoutMs: number): Promise<TaskRecord | undefined> {
    const record = this.records.get(id)
    if (record === undefined || record.finishedAt !== undefined || timeoutMs <= 0) return record
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      const list = this.waiters.get(id) ?? []
      list.push(() => {
        clearTimeout(timer)
        resolve()
      })
      this.waiters.set(id, list)
    })
    return this.records.get(id)
  }

  private makeRoom(): void {
    if (this.records.size < TASK_RECORDS_MAX) return
    for (const [id, record] of this.records) {
      if (record.finishedAt !== undefined) {
        this.records.delete(id)
        return
      }
    }
  }
}
