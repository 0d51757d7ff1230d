// How an executor gets its workers, and what it says to them. The executor (executor.ts) decides which worker runs
// which task; a WorkerPool only spawns workers, one platform's way (worker_threads on Node: node/src/exec; Web
// Workers in browsers: packages/noodlenet). The messages below are the whole protocol between the two sides.

import type { NoodleErrorCode } from '../errors.js'
import { LIMITS } from '../limits.js'

/** A custom WebAssembly kernel as it travels to a worker: compiled once by the executor, cloned cheaply. */
export interface WasmKernelRef {
  readonly id: string
  readonly module: WebAssembly.Module
  /** The memory maximum the module declares, in bytes (at most LIMITS.wasmMemoryMaxBytes). */
  readonly memoryMaxBytes: number
}

/** Executor → worker. */
export type HostToWorker =
  | { type: 'run'; id: number; kernel: string; input: unknown; wasm?: WasmKernelRef }
  | { type: 'abort'; id: number; reason: string }

/** A typed error as it crosses from the worker. */
export interface WorkerError {
  code: NoodleErrorCode
  message: string
  hint: string
}

/** Worker → executor. `ready` once the worker has loaded (a task's time starts then); every `run` is answered by
 *  exactly one `result` or `error` unless the worker dies first. */
export type WorkerToHost =
  | { type: 'ready' }
  | { type: 'progress'; id: number; fraction: number }
  | { type: 'result'; id: number; output: unknown }
  | { type: 'error'; id: number; error: WorkerError }

/** The message loop's side of a worker: how kernel-worker.ts talks to its executor (parentPort on Node, the worker's
 *  global scope in browsers, an in-memory channel in tests). */
export interface KernelWorkerPort {
  post(message: WorkerToHost, transfer: Transferable[]): void
  listen(handler: (message: HostToWorker) => void): void
}

/** What a spawned worker tells its executor. */
export interface WorkerEvents {
  message(message: WorkerToHost): void
  /** An error the worker did not catch (a throw at its top level, out of memory, a script that failed to load). In
   *  browsers the worker may linger after it; the executor terminates it. */
  error(error: Error): void
  /** The worker ended on its own (`process.exit`, a fatal error). Not fired for terminate(); browsers never fire it. */
  exit(code: number): void
}

/** One worker, as the executor drives it. */
export interface KernelWorker {
  /** Posts a message; `transfer` lists buffers whose ownership moves to the worker. Throws DataCloneError when the
   *  message cannot be cloned. */
  post(message: HostToWorker, transfer?: Transferable[]): void
  /** Ends the worker now, whatever it is doing. Idempotent. */
  terminate(): void
}

/** Spawns workers that run the kernel message loop (kernel-worker.ts). */
export interface WorkerPool {
  spawn(events: WorkerEvents): KernelWorker
}

/** The buffers inside `value` (typed arrays, ArrayBuffers, through arrays and plain objects) that can be transferred
 *  instead of copied: each listed once, none shared. Walks at most
 *  LIMITS.taskInputMaxDepth levels. */
export function transferablesOf(value: unknown): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>()
  collect(value, 0, found)
  return [...found]
}

function collect(value: unknown, depth: number, found: Set<ArrayBuffer>): void {
  if (value === null || typeof value !== 'object' || depth > LIMITS.taskInputMaxDepth) return
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) found.add(value.buffer)
    return
  }
  if (value instanceof ArrayBuffer) {
    found.add(value)
    return
  }
  if (Array.isArray(value)) {
    for (const item of value) collect(item, depth + 1, found)
    return
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return
  for (const key in value) collect((value as Record<string, unknown>)[key], depth + 1, found)
}
