// A task as an app declares it: which kernel, what input, what it needs and how to choose a peer. The declaration
// says nothing about where it runs; placement.ts decides that. Everything here is checked before a task is queued,
// so a bad declaration fails at once with TASK_INVALID and a sentence naming the field, never later on a peer.

import * as v from 'valibot'
import { compileSchema, INVALID } from '../compiled-schema.js'
import { NoodleError } from '../errors.js'
import { LIMITS } from '../limits.js'

/** The built-in placement strategies (strategies.ts). */
export const PLACEMENTS = ['fastest', 'cheapest', 'spread', 'local-first'] as const
export type Placement = (typeof PLACEMENTS)[number]

/** Built-in kernels are lower-case names; custom kernels are named by the SHA-256 of their code. */
export const KERNEL_NAME = /^(?:[a-z0-9-]{1,64}|custom:[0-9a-f]{64})$/

const KERNEL_ALLOWED = 'a kernel name: lower-case letters, digits and "-" (at most 64), or custom:<64 hex digits of the SHA-256>'

function integer(min: number, max: number, what: string) {
  const allowed = `an integer ${what} from ${min} to ${max}`
  return v.pipe(v.number(allowed), v.integer(allowed), v.minValue(min, allowed), v.maxValue(max, allowed))
}

function positive(what: string) {
  const allowed = `a number of ${what} above 0`
  return v.pipe(v.number(allowed), v.gtValue(0, allowed), v.maxValue(Number.MAX_SAFE_INTEGER, allowed))
}

/** A peer id as text, by its shape: base58btc as libp2p writes it (`Qm…` RSA, 46 characters; `12D3KooW…` Ed25519,
 *  52; `16Uiu2…` secp256k1, 53), or the CID form in base36 (`k…`) or base32 (`bafz…`). Only the shape: parsing the
 *  key (`peerIdFromString`, ~5–20 µs) per task bought nothing, since a pinned peer is only used once it is a peer
 *  this node knows, whose id libp2p has parsed. */
const PEER_ID_TEXT = /^(?:[1Q][1-9A-HJ-NP-Za-km-z]{45,52}|k[0-9a-z]{55,64}|bafz[a-z2-7]{54,63})$/

function isPeerId(input: string): boolean {
  return PEER_ID_TEXT.test(input)
}

/** Strict objects report an unknown key and a non-object with one message: tell them apart. */
const fieldsOf =
  (names: string) =>
  (issue: v.BaseIssue<unknown>): string =>
    issue.expected === 'never'
      ? `unknown: this is not a field here (the fields are ${names})`
      : issue.received === 'undefined' && issue.expected?.startsWith('"')
        ? 'missing: every task has one'
        : 'an object'

export const TaskRequirementsSchema = v.strictObject(
  {
    /** CPU cores the peer must have. */
    cpu: v.optional(integer(1, 4096, 'number of CPU cores')),
    /** Free memory the peer must have, in megabytes. */
    memoryMB: v.optional(positive('megabytes')),
    /** A WebGPU device for the kernel's WGSL implementation (a software adapter qualifies, ranked below hardware). */
    gpu: v.optional(v.boolean('true or false')),
    /** A neural processing unit. */
    npu: v.optional(v.boolean('true or false')),
  },
  fieldsOf('cpu, memoryMB, gpu, npu'),
)
export type TaskRequirements = v.InferOutput<typeof TaskRequirementsSchema>

const TASK_FIELDS = 'kernel, input, requires, priority, deadlineMs, maxCost, placement, peer'

export const TaskDeclarationSchema = v.strictObject(
  {
    kernel: v.pipe(v.string(KERNEL_ALLOWED), v.regex(KERNEL_NAME, KERNEL_ALLOWED)),
    /** Plain data that CBOR carries: typed arrays travel as bytes. */
    input: v.pipe(
      v.unknown(),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return
        const problem = inputProblem(dataset.value)
        if (problem !== undefined) addIssue({ message: problem })
      }),
    ),
    requires: v.optional(TaskRequirementsSchema, {}),
    /** 0 (lowest) to 9 (highest); within one priority, first come first served. */
    priority: v.optional(integer(0, 9, 'priority'), 5),
    /** Milliseconds from submission after which the task is given up with TASK_DEADLINE_EXCEEDED. At most 2^31 - 1,
     *  the longest delay a timer can wait. */
    deadlineMs: v.optional(integer(1, 2 ** 31 - 1, 'number of milliseconds')),
    /** The most the task may cost on the chosen peer, in the units of the peers' advertised prices. */
    maxCost: v.optional(
      v.pipe(
        v.number('a cost of 0 or more'),
        v.minValue(0, 'a cost of 0 or more'),
        v.maxValue(Number.MAX_SAFE_INTEGER, 'a cost of 0 or more'),
      ),
    ),
    placement: v.optional(v.picklist(PLACEMENTS, `one of ${PLACEMENTS.join(', ')}`), 'fastest'),
    /** Run on this peer only. */
    peer: v.optional(v.pipe(v.string('a peer id string'), v.check(isPeerId, 'a peer id string (12D3KooW…)'))),
  },
  fieldsOf(TASK_FIELDS),
)
export type TaskDeclaration = v.InferOutput<typeof TaskDeclarationSchema>
export type TaskDeclarationInput = v.InferInput<typeof TaskDeclarationSchema>

/** Checks a declaration and fills in the defaults; throws TASK_INVALID naming the first field that is wrong. */
export function parseTask(input: unknown): TaskDeclaration {
  const output = compileSchema(TaskDeclarationSchema)(input)
  if (output !== INVALID) return output
  const result = v.safeParse(TaskDeclarationSchema, input, { abortEarly: true })
  if (result.success) return result.output
  const issue = result.issues[0]
  const keys = (issue.path ?? []).map((item) => String(item.key))
  const field = keys.length === 0 ? 'task' : keys.map((key) => (/^[\w-]+$/.test(key) ? key : JSON.stringify(key))).join('.')
  // The input check names the place inside the input itself (input.rows[3]: ...).
  let detail: string
  if (issue.type === 'raw_check') detail = issue.message
  else if (issue.message.startsWith('missing:')) detail = `${field} is ${issue.message}`
  else {
    const value = describe(keys.length === 0 ? input : issue.path?.at(-1)?.value)
    detail = `${field} = ${value}: ${issue.message.startsWith('unknown:') ? issue.message.slice(9) : `must be ${issue.message}`}`
  }
  throw new NoodleError(
    'TASK_INVALID',
    `task error: ${detail}`,
    'Fix the task declaration; docs/SCHEDULER.md lists every field and what it allows.',
  )
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength} bytes)`
  try {
    const text = JSON.stringify(value)
    if (text === undefined) return String(value)
    return text.length > 80 ? `${text.slice(0, 77)}...` : text
  } catch {
    return String(value)
  }
}

/** Why `input` cannot travel as a task input, or undefined when it can. */
export function inputProblem(input: unknown): string | undefined {
  const walk = new InputWalk()
  walk.visit(input, 'input', 0, false)
  if (walk.problem !== undefined) return walk.problem
  if (walk.bytes > LIMITS.taskInputMaxBytes) {
    return `about ${walk.bytes} bytes, above the ${LIMITS.taskInputMaxBytes} a task input may hold: split the input into smaller tasks`
  }
  return undefined
}

/** About how many bytes `input` takes on the wire (CBOR): what the cost model charges for transfer. Typed arrays
 *  count their bytes, so this is O(1) for a binary input; plain arrays and objects are walked. */
export function inputByteLength(input: unknown): number {
  const walk = new InputWalk()
  walk.visit(input, 'input', 0, false)
  return walk.bytes
}

/** Whether `input` takes at most `maxBytes` as `inputByteLength` counts them, walking no further than it must: the
 *  executor's test for running a task on its own thread (CpuKernel.inline). False for anything that cannot travel. */
export function inputWithin(input: unknown, maxBytes: number): boolean {
  return bytesLeft(input, maxBytes, 0) >= 0
}

/** `left` less the bytes of `value`; below 0 once past it (the walk stops there) or when `value` cannot travel. */
function bytesLeft(value: unknown, left: number, depth: number): number {
  switch (typeof value) {
    case 'string':
      return left - header(value.length) - value.length
    case 'boolean':
      return left - 1
    case 'number':
      if (!Number.isFinite(value)) return -1
      return left - (Number.isInteger(value) ? header(Math.abs(value)) : 9)
    case 'object':
      break
    default:
      return -1
  }
  if (value === null) return left - 1
  if (ArrayBuffer.isView(value)) return left - header(value.byteLength) - value.byteLength
  if (depth > LIMITS.taskInputMaxDepth) return -1
  if (Array.isArray(value)) {
    let rest = left - header(value.length)
    for (let i = 0; i < value.length && rest >= 0; i++) rest = bytesLeft(value[i], rest, depth + 1)
    return rest
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return -1
  const keys = Object.keys(value)
  let rest = left - header(keys.length)
  for (let i = 0; i < keys.length && rest >= 0; i++) {
    const field = (value as Record<string, unknown>)[keys[i]]
    rest -= header(keys[i].length) + keys[i].length
    if (field !== undefined) rest = bytesLeft(field, rest, depth + 1)
  }
  return rest
}

const PLAIN_DATA = 'send plain data: objects, arrays, strings, finite numbers, booleans, null and typed arrays'

/** One pass over an input: its approximate CBOR size, and the first thing in it that CBOR cannot carry. */
class InputWalk {
  bytes = 0
  problem: string | undefined

  visit(value: unknown, path: string, depth: number, inObject: boolean): void {
    if (this.problem !== undefined) return
    if (depth > LIMITS.taskInputMaxDepth) {
      this.problem = `${path}: nested deeper than ${LIMITS.taskInputMaxDepth} levels (or it refers to itself); ${PLAIN_DATA}`
      return
    }
    switch (typeof value) {
      case 'string':
        this.bytes += header(value.length) + value.length
        return
      case 'boolean':
        this.bytes += 1
        return
      case 'number':
        if (!Number.isFinite(value)) {
          this.problem = `${path}: ${value} cannot travel; ${PLAIN_DATA}`
          return
        }
        this.bytes += Number.isInteger(value) ? header(Math.abs(value)) : 9
        return
      case 'undefined':
        // An object's undefined field is left out, as JSON would; anywhere else it cannot be encoded.
        if (!inObject) this.problem = `${path}: undefined cannot travel; leave the field out, or send null`
        return
      case 'object':
        break
      default:
        this.problem = `${path}: a ${typeof value} cannot travel; ${PLAIN_DATA}`
        return
    }
    if (value === null) {
      this.bytes += 1
      return
    }
    if (ArrayBuffer.isView(value)) {
      this.bytes += header(value.byteLength) + value.byteLength
      return
    }
    if (Array.isArray(value)) {
      this.bytes += header(value.length)
      for (let i = 0; i < value.length && this.problem === undefined; i++) this.visit(value[i], `${path}[${i}]`, depth + 1, false)
      return
    }
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) {
      this.problem = `${path}: a ${(value as object).constructor?.name ?? 'class instance'} cannot travel; ${PLAIN_DATA}`
      return
    }
    const keys = Object.keys(value)
    this.bytes += header(keys.length)
    for (const key of keys) {
      if (this.problem !== undefined) return
      this.bytes += header(key.length) + key.length
      this.visit((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1, true)
    }
  }
}

/** Bytes of a CBOR head that carries `n`. */
function header(n: number): number {
  return n < 24 ? 1 : n < 256 ? 2 : n < 65_536 ? 3 : n < 2 ** 32 ? 5 : 9
}
