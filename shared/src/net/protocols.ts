// The request/response protocols every node serves. Later layers add theirs here (task, route).

import * as v from 'valibot'
import { LIMITS } from '../limits.js'
import { KERNEL_NAME } from '../scheduler/task.js'
import { SECURITY_LEVELS } from '../security/levels.js'
import { defineProtocol } from './rpc.js'
import { NodeProfileSchema, RouteEnvelopeSchema, RouteReplySchema } from './wire-schemas.js'

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

/** Forward a request hop by hop to a peer this node has no link to (command `/route/forward`, PUBLIC: relaying is
 *  open; the request inside passes the destination's gate as its source's). See routing/router.ts. */
export const ROUTE_PROTOCOL = defineProtocol('/noodlenet/route/1.0.0', RouteEnvelopeSchema, RouteReplySchema)
