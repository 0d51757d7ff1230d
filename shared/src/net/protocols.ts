// The request/response protocols every node serves. Later layers add theirs here (task, route).

import * as v from 'valibot'
import { LIMITS } from '../limits.js'
import { KERNEL_NAME } from '../scheduler/task.js'
import { SECURITY_LEVELS } from '../security/levels.js'
import { defineProtocol } from './rpc.js'
import { NodeProfileSchema, RouteEnvelopeSchema, RouteReplySchema, WireErrorSchema } from './wire-schemas.js'

const EchoSchema = v.strictObject({ data: v.pipe(v.instance(Uint8Array), v.maxLength(16 * 1024 * 1024)) })

/** Ask a peer for its current profile: the direct counterpart of presence gossip, and a liveness probe. */
export const PROFILE_PROTOCOL = defineProtocol('/noodlenet/profile/1.0.0', v.strictObject({}), NodeProfileSchema)

/** Echo, behind a capability (command `/node/echo`): checks that a peer can reach this one and is authorized by it,
 *  end to end through the gate — the smallest authorized request there is. */
export const ECHO_PROTOCOL = defineProtocol('/noodlenet/echo/1.0.0', EchoSchema, EchoSchema)

const TaskRunSchema = v.strictObject({
  kernel: v.pipe(v.string(), v.regex(KERNEL_NAME)),
  /** Any CBOR value; typed arrays travel as bytes. The frame cap bounds its size. */
  input: v.unknown(),
  /** The task's level (the gate checks the token against it); the kernel's own level when absent. */
  level: v.optional(v.picklist(SECURITY_LEVELS)),
  priority: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(9)),
  /** How long the kernel may run on the executor (ms); the executor's default when absent. */
  timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(LIMITS.taskRunTimeoutMaxMs))),
  /** Run the kernel's WebGPU implementation (the task required a GPU). */
  gpu: v.optional(v.boolean()),
  /** A custom kernel's WebAssembly module, sent when the executor does not have it yet (content-addressed). */
  module: v.optional(v.pipe(v.instance(Uint8Array), v.maxLength(LIMITS.taskModuleMaxBytes))),
})
export type TaskRun = v.InferOutput<typeof TaskRunSchema>

const TaskResultSchema = v.strictObject({
  output: v.unknown(),
  /** Time the kernel ran on the executor (ms), queue wait excluded: what the submitter's cost model learns from. */
  durationMs: v.pipe(v.number(), v.minValue(0)),
  backend: v.picklist(['cpu', 'webgpu', 'wasm']),
})
export type TaskResult = v.InferOutput<typeof TaskResultSchema>

/** Run a kernel (command `/task/run`, capability required; the token names the kernels and the level it allows).
 *  A full executor answers TASK_BUSY with `retryAfterMs`; the submitter places the task elsewhere. */
export const TASK_PROTOCOL = defineProtocol('/noodlenet/task/1.0.0', TaskRunSchema, TaskResultSchema)

/** One task of a batch: what differs between tasks of one kernel, level and deadline. No module: a task that carries
 *  one goes alone on TASK_PROTOCOL. */
const TaskBatchItemSchema = v.strictObject({
  input: TaskRunSchema.entries.input,
  priority: TaskRunSchema.entries.priority,
  gpu: TaskRunSchema.entries.gpu,
})

const TaskBatchSchema = v.strictObject({
  kernel: TaskRunSchema.entries.kernel,
  level: TaskRunSchema.entries.level,
  timeoutMs: TaskRunSchema.entries.timeoutMs,
  tasks: v.pipe(v.array(TaskBatchItemSchema), v.minLength(1), v.maxLength(LIMITS.taskBatchMax)),
})
export type TaskBatch = v.InferOutput<typeof TaskBatchSchema>

/** Position of a task in its batch. */
const batchIndex = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(LIMITS.taskBatchMax - 1))

const TaskBatchResultsSchema = v.strictObject({
  results: v.pipe(
    v.array(
      v.variant('ok', [
        v.strictObject({ i: batchIndex, ok: v.literal(true), ...TaskResultSchema.entries }),
        v.strictObject({ i: batchIndex, ok: v.literal(false), error: WireErrorSchema }),
      ]),
    ),
    v.maxLength(LIMITS.taskBatchMax),
  ),
})
export type TaskBatchResults = v.InferOutput<typeof TaskBatchResultsSchema>

/** Several tasks of one kernel and level in one frame (command `/task/run`, one gate decision for all of them,
 *  rate rules counting each). The executor answers in parts as tasks complete (RpcContext.sendPart), each result or
 *  typed error (TASK_BUSY with `retryAfterMs` included) by its index `i`; the final answer holds the rest. A peer
 *  that does not serve it gets single tasks on TASK_PROTOCOL. docs/decisions/0013-task-batches.md. */
export const TASK_BATCH_PROTOCOL = defineProtocol('/noodlenet/task-batch/1.0.0', TaskBatchSchema, TaskBatchResultsSchema)

/** Forward a request hop by hop to a peer this node has no link to (command `/route/forward`, PUBLIC: relaying is
 *  open; the request inside passes the destination's gate as its source's). See routing/router.ts. */
export const ROUTE_PROTOCOL = defineProtocol('/noodlenet/route/1.0.0', RouteEnvelopeSchema, RouteReplySchema)
