// Compiled schemas against valibot itself: for every schema a frame or a task declaration is checked with, and for
// a schema made of the kinds the compiler treats specially, the compiled check gives valibot's verdict and, where
// valibot succeeds, an output equal to valibot's (keys present with undefined included). Inputs are valid values,
// the same values with one field changed, removed or added at any depth, and arbitrary values.

import fc from 'fast-check'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { compileSchema, INVALID } from '../src/compiled-schema.js'
import {
  ECHO_PROTOCOL,
  LinkStateRecordSchema,
  NodeProfileSchema,
  PROFILE_PROTOCOL,
  ROUTE_PROTOCOL,
  RpcRequestSchema,
  RpcResponseSchema,
  TASK_BATCH_PROTOCOL,
  TASK_PROTOCOL,
  validateFrame,
} from '../src/index.js'
import { TaskDeclarationSchema } from '../src/scheduler/task.js'
import { profileOf } from './scheduler-support.js'

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i)
const PEER = '12D3KooWGRUVh2zV9mW1j3gTzvDBNgPvfMnjt7r5Yfq1J4CUXkxq'

/** Every kind the compiler handles itself, and some it leaves to valibot (loose object, transform, raw check). */
const KINDS = v.strictObject({
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(8), v.regex(/^[a-z]+$/)),
  count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(9)), 3),
  ratio: v.nullable(v.pipe(v.number(), v.gtValue(0))),
  note: v.nullish(v.string(), 'none'),
  tags: v.pipe(v.array(v.picklist(['a', 'b'])), v.nonEmpty(), v.maxLength(3)),
  pair: v.pipe(v.array(v.number()), v.length(2)),
  flag: v.literal(true),
  blob: v.optional(v.instance(Uint8Array)),
  odd: v.optional(v.custom<number>((x) => typeof x === 'number' && x % 2 === 1)),
  nothing: v.optional(v.null()),
  anything: v.optional(v.unknown()),
  nested: v.optional(v.object({ a: v.boolean(), b: v.optional(v.string()) }), { a: false }),
  loose: v.optional(v.looseObject({ x: v.number() })),
  upper: v.optional(
    v.pipe(
      v.string(),
      v.transform((s) => s.toUpperCase()),
    ),
  ),
  even: v.optional(
    v.pipe(
      v.number(),
      v.check((x) => x % 2 === 0),
    ),
  ),
  raw: v.optional(
    v.pipe(
      v.unknown(),
      v.rawCheck(({ dataset, addIssue }) => {
        if (dataset.typed && dataset.value === 'bad') addIssue({ message: 'bad' })
      }),
    ),
  ),
  choice: v.optional(
    v.variant('kind', [
      v.object({ kind: v.literal('n'), n: v.number() }),
      v.object({ kind: v.literal('s'), s: v.string() }),
      v.object({ kind: v.optional(v.literal('d')), d: v.boolean() }),
    ]),
  ),
})

interface Case {
  name: string
  schema: v.GenericSchema<unknown, unknown>
  valid: unknown[]
}

const CASES: Case[] = [
  {
    name: 'rpc request',
    schema: RpcRequestSchema,
    valid: [
      { id: 1, body: null },
      { id: 7, timeoutMs: 5000, traceId: 'abc', cap: 'nnt1.x', hb: 1000, body: { kernel: 'echo', input: bytes(4) } },
      { id: 8, capAgain: true, body: 1 },
    ],
  },
  {
    name: 'rpc response',
    schema: RpcResponseSchema,
    valid: [
      { id: 1, ok: true, body: { output: bytes(3) } },
      { id: 2, ok: true, hb: true, body: null },
      { id: 3, ok: true, part: true, body: 1 },
      { id: 4, ok: false, error: { code: 'TASK_BUSY', message: 'busy', retryAfterMs: 10 } },
    ],
  },
  {
    name: 'task run',
    schema: TASK_PROTOCOL.request,
    valid: [
      { kernel: 'echo', input: bytes(100), priority: 5 },
      { kernel: `custom:${'ab'.repeat(32)}`, input: [1, 2], priority: 0, level: 'INTERNAL', timeoutMs: 10, gpu: true, module: bytes(8) },
    ],
  },
  {
    name: 'task result',
    schema: TASK_PROTOCOL.response,
    valid: [
      { output: bytes(100), durationMs: 0.2, backend: 'cpu' },
      { output: null, durationMs: 0, backend: 'webgpu' },
    ],
  },
  {
    name: 'task batch',
    schema: TASK_BATCH_PROTOCOL.request,
    valid: [
      {
        kernel: 'echo',
        tasks: [
          { input: 1, priority: 5 },
          { input: bytes(2), priority: 9, gpu: false },
        ],
      },
    ],
  },
  {
    name: 'task batch results',
    schema: TASK_BATCH_PROTOCOL.response,
    valid: [
      {
        results: [
          { i: 0, ok: true, output: 1, durationMs: 1, backend: 'cpu' },
          { i: 1, ok: false, error: { code: 'TASK_FAILED', message: 'no' } },
        ],
      },
    ],
  },
  {
    name: 'task declaration',
    schema: TaskDeclarationSchema,
    valid: [
      { kernel: 'echo', input: bytes(10) },
      { kernel: 'matmul', input: { a: [[1]], b: [[2]] }, requires: { gpu: true, memoryMB: 10 }, priority: 9, placement: 'spread' },
      { kernel: 'echo', input: 1, deadlineMs: 100, maxCost: 2, peer: PEER },
    ],
  },
  { name: 'echo', schema: ECHO_PROTOCOL.request, valid: [{ data: bytes(5) }] },
  { name: 'profile request', schema: PROFILE_PROTOCOL.request, valid: [{}] },
  {
    name: 'node profile',
    schema: NodeProfileSchema,
    valid: [profileOf(PEER), profileOf(PEER, { webgpu: true, nativeGpus: 1, npus: 1, kernels: ['echo'], price: 1, load: 0.5 })],
  },
  {
    name: 'link state',
    schema: LinkStateRecordSchema,
    valid: [{ peerId: PEER, seq: 1, links: [{ peer: PEER, rttMs: 1, load: 0.5, loss: 0 }], routeKey: bytes(32), publishedAt: 1 }],
  },
  {
    name: 'route reply',
    schema: ROUTE_PROTOCOL.response,
    valid: [{ ok: true, body: bytes(3), sig: bytes(64) }],
  },
  {
    name: 'every kind',
    schema: KINDS,
    valid: [
      { name: 'ab', ratio: null, tags: ['a'], pair: [1, 2], flag: true },
      {
        name: 'x',
        count: 9,
        ratio: 0.5,
        note: null,
        tags: ['a', 'b'],
        pair: [0, -1],
        flag: true,
        blob: bytes(2),
        odd: 3,
        nothing: null,
        anything: { deep: [1] },
        nested: { a: true, b: 'b' },
        loose: { x: 1, y: 2 },
        upper: 'up',
        even: 4,
        raw: 'good',
        choice: { kind: 's', s: 'x' },
      },
      { name: 'y', ratio: 2, note: undefined, tags: ['b'], pair: [3, 4], flag: true, choice: { d: true }, count: undefined },
    ],
  },
]

/** Values that sit on the edges of what the schemas above accept. */
const edgy = fc.constantFrom<unknown>(
  undefined,
  null,
  Number.NaN,
  -0,
  0,
  -1,
  1,
  1.5,
  5,
  9,
  10,
  2 ** 53,
  Number.POSITIVE_INFINITY,
  '',
  'echo',
  'bad',
  'fastest',
  'INTERNAL',
  'cpu',
  true,
  false,
  [],
  {},
  [1, 2],
  ['a'],
  bytes(0),
  bytes(32),
)
const anyValue = fc.oneof(edgy, fc.anything({ maxDepth: 2 }), fc.uint8Array({ maxLength: 8 }), fc.double(), fc.string({ maxLength: 4 }))

type Change = { kind: 'set' | 'delete' | 'add'; path: number[]; key: string; value: unknown }
const change: fc.Arbitrary<Change> = fc.record({
  kind: fc.constantFrom('set', 'delete', 'add'),
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
  key: fc.oneof(
    fc.constantFrom('id', 'ok', 'kernel', 'extra', 'priority', 'hb', 'kind', '__proto__', 'toString'),
    fc.string({ maxLength: 3 }),
  ),
  value: anyValue,
})

/** A copy of `value` with one change somewhere below it: each step of the path picks one of an object's keys. */
function changed(value: unknown, { kind, path, key, value: replacement }: Change): unknown {
  const copy = structuredClone(value)
  let at = copy as Record<string, unknown>
  for (let depth = 0; ; depth++) {
    const keys = at !== null && typeof at === 'object' && !ArrayBuffer.isView(at) ? Object.keys(at) : []
    if (keys.length === 0) return replacement
    const pick = keys[path[depth] % keys.length]
    const next = at[pick]
    const last = depth === path.length - 1 || next === null || typeof next !== 'object' || ArrayBuffer.isView(next)
    if (!last) {
      at = next as Record<string, unknown>
      continue
    }
    if (kind === 'set') at[pick] = replacement
    else if (kind === 'delete') delete at[pick]
    else Object.defineProperty(at, key, { value: replacement, enumerable: true, configurable: true, writable: true })
    return copy
  }
}

function agrees(schema: v.GenericSchema<unknown, unknown>, input: unknown): void {
  const fast = compileSchema(schema)(input)
  const slow = v.safeParse(schema, input, { abortEarly: true })
  expect(fast !== INVALID).toBe(slow.success)
  if (fast !== INVALID) expect(fast).toStrictEqual(slow.output)
}

describe('compiled schemas', () => {
  for (const { name, schema, valid } of CASES) {
    it(`${name}: accepts the valid values as valibot outputs them`, () => {
      for (const value of valid) {
        expect(v.safeParse(schema, value).success).toBe(true)
        agrees(schema, value)
      }
    })

    it(`${name}: agrees with valibot on changed and arbitrary values`, () => {
      fc.assert(
        fc.property(fc.constantFrom(...valid), change, (value, edit) => agrees(schema, changed(value, edit))),
        { numRuns: 400 },
      )
      fc.assert(
        fc.property(anyValue, (value) => agrees(schema, value)),
        { numRuns: 200 },
      )
    })
  }

  it('returns a new object: the input is not the output, and unknown keys of a plain object are dropped', () => {
    const input = { id: 1, body: { a: 1 }, extra: 'dropped' }
    const output = compileSchema(RpcRequestSchema)(input)
    expect(output).toStrictEqual({ id: 1, body: { a: 1 } })
    expect(output).not.toBe(input)
  })

  it("leaves the answer to a failing value to valibot: validateFrame's error names the field", () => {
    expect(() => validateFrame({ id: -1, body: null }, RpcRequestSchema)).toThrow(/frame field id is invalid/)
  })

  it('fills in defaults as valibot does', () => {
    const declaration = compileSchema(TaskDeclarationSchema)({ kernel: 'echo', input: 1 })
    expect(declaration).toStrictEqual(v.parse(TaskDeclarationSchema, { kernel: 'echo', input: 1 }))
    expect(declaration).toMatchObject({ priority: 5, placement: 'fastest', requires: {} })
  })
})
