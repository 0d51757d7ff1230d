// Valibot schemas compiled into plain checking functions, for the frames and task declarations checked on every task
// (docs/decisions/0016-compiled-schemas.md). valibot's own parse makes a dataset object per node, a config object
// per call and, for a variant, a closure per call: 8–10 µs for one small frame, in code that runs cold between
// round trips. A compiled check takes a value and returns what valibot would output for it, or INVALID; the caller
// then asks valibot itself, so every error message, issue path and edge case is valibot's. The one rule the
// compiler keeps: an output is returned only where valibot succeeds with an equal output (a property test holds it
// to that for every schema on the task path). Kinds it does not know are run by valibot's own code for that node.

import * as v from 'valibot'

/** What a compiled check returns where valibot would report an issue (or might: the caller asks valibot). */
export const INVALID: unique symbol = Symbol('invalid')

export type CompiledCheck<T> = (value: unknown) => T | typeof INVALID

type Check = (value: unknown) => unknown

/** valibot's node shape, as far as the compiler reads it. */
interface Node {
  kind: string
  type: string
  async?: boolean
  pipe?: readonly Node[]
  wrapped?: Node
  default?: unknown
  fallback?: unknown
  entries?: Record<string, Node>
  item?: Node
  key?: string
  options?: readonly unknown[]
  literal?: unknown
  requirement?: unknown
  check?: (value: unknown) => boolean
  class?: abstract new (...args: never[]) => unknown
  '~run': (dataset: { typed?: boolean; value: unknown }, config: unknown) => { issues?: unknown; value: unknown }
}

/** safeParse(schema, value, { abortEarly: true })'s configuration (there is no global one). */
const CONFIG = v.getGlobalConfig({ abortEarly: true })

const compiled = new WeakMap<object, Check>()

/** The compiled check of `schema` (made once per schema object). */
export function compileSchema<T>(schema: v.GenericSchema<unknown, T>): CompiledCheck<T> {
  let check = compiled.get(schema)
  if (check === undefined) {
    check = compile(schema as unknown as Node)
    compiled.set(schema, check)
  }
  return check as CompiledCheck<T>
}

function compile(node: Node): Check {
  if (node.async === true) return delegate(node)
  if (node.pipe !== undefined) return compilePipe(node.pipe)
  switch (node.type) {
    case 'string':
      return (value) => (typeof value === 'string' ? value : INVALID)
    case 'number':
      return (value) => (typeof value === 'number' && !Number.isNaN(value) ? value : INVALID)
    case 'boolean':
      return (value) => (typeof value === 'boolean' ? value : INVALID)
    case 'unknown':
    case 'any':
      return (value) => value
    case 'null':
      return (value) => (value === null ? value : INVALID)
    case 'literal': {
      const literal = node.literal
      // valibot compares with SameValueZero: NaN matches NaN.
      if (Number.isNaN(literal)) return (value) => (Number.isNaN(value) ? value : INVALID)
      return (value) => (value === literal ? value : INVALID)
    }
    case 'picklist': {
      const options = node.options as readonly unknown[]
      return (value) => (options.includes(value) ? value : INVALID)
    }
    case 'custom': {
      const check = node.check as (value: unknown) => boolean
      return (value) => (check(value) ? value : INVALID)
    }
    case 'instance': {
      const type = node.class as abstract new (...args: never[]) => unknown
      return (value) => (value instanceof type ? value : INVALID)
    }
    case 'optional':
    case 'nullable':
    case 'nullish':
      return compileWrapped(node)
    case 'object':
    case 'strict_object':
      return compileObject(node)
    case 'array':
      return compileArray(node)
    case 'variant':
      return compileVariant(node)
    default:
      return delegate(node)
  }
}

/** A node valibot runs itself: exactly its semantics, at its price. An action runs on a typed dataset, as in a pipe. */
function delegate(node: Node): Check {
  const typed = node.kind !== 'schema'
  return (value) => {
    const dataset = node['~run']({ typed, value }, CONFIG)
    return dataset.issues === undefined ? dataset.value : INVALID
  }
}

/** Empty (undefined for optional, null for nullable, either for nullish): the default, else the empty value; anything
 *  else, and a default that is not empty, goes to the wrapped schema. */
function compileWrapped(node: Node): Check {
  if (typeof node.default === 'function') return delegate(node)
  const wrapped = compile(node.wrapped as Node)
  const fallback = node.default
  const empty: (value: unknown) => boolean =
    node.type === 'optional'
      ? (value) => value === undefined
      : node.type === 'nullable'
        ? (value) => value === null
        : (value) => value == null
  return (value) => {
    if (empty(value)) {
      if (fallback !== undefined) value = fallback
      if (empty(value)) return value
    }
    return wrapped(value)
  }
}

const OPTIONAL_TYPES = new Set(['optional', 'nullish', 'exact_optional'])

/** A new object with the schema's keys, in its order: a present key's checked value, a missing optional key's
 *  default if it has one (else no key), a missing required key INVALID; strict: any other key INVALID. */
function compileObject(node: Node): Check {
  const entries = node.entries as Record<string, Node>
  const fields: Array<{ key: string; check: Check; optional: boolean; fallback: unknown }> = []
  for (const key in entries) {
    const entry = entries[key]
    const optional = OPTIONAL_TYPES.has(entry.type)
    // Defaults made by functions and fallbacks are rare: valibot runs those objects.
    if (entry.fallback !== undefined || (optional && typeof entry.default === 'function')) return delegate(node)
    fields.push({ key, check: compile(entry), optional, fallback: optional ? entry.default : undefined })
  }
  const strict = node.type === 'strict_object'
  return (input) => {
    if (!input || typeof input !== 'object') return INVALID
    const record = input as Record<string, unknown>
    const output: Record<string, unknown> = {}
    for (const field of fields) {
      let value: unknown
      if (field.key in record) value = field.check(record[field.key])
      else if (field.fallback !== undefined) value = field.check(field.fallback)
      else if (field.optional) continue
      else return INVALID
      if (value === INVALID) return INVALID
      output[field.key] = value
    }
    if (strict) for (const key in record) if (!Object.hasOwn(entries, key)) return INVALID
    return output
  }
}

function compileArray(node: Node): Check {
  const item = compile(node.item as Node)
  return (input) => {
    if (!Array.isArray(input)) return INVALID
    const output: unknown[] = []
    for (let i = 0; i < input.length; i++) {
      const value = item(input[i])
      if (value === INVALID) return INVALID
      output.push(value)
    }
    return output
  }
}

/** valibot takes the first option whose discriminator matches, and ends there when it passes. So does this; where
 *  that option fails, valibot may still pick another by its priorities, and decides. */
function compileVariant(node: Node): Check {
  const key = node.key as string
  const options = node.options as readonly Node[]
  const branches: Array<{ discriminator: Check; optional: boolean; check: Check }> = []
  for (const option of options) {
    const entries = option.entries
    if (option.type === 'variant' || entries === undefined || entries[key] === undefined) return delegate(node)
    branches.push({ discriminator: compile(entries[key]), optional: OPTIONAL_TYPES.has(entries[key].type), check: compile(option) })
  }
  return (input) => {
    if (!input || typeof input !== 'object') return INVALID
    const record = input as Record<string, unknown>
    for (const branch of branches) {
      const matches = key in record ? branch.discriminator(record[key]) !== INVALID : branch.optional
      if (matches) return branch.check(input)
    }
    return INVALID
  }
}

function compilePipe(pipe: readonly Node[]): Check {
  const steps: Check[] = []
  for (const item of pipe) {
    if (item.kind === 'metadata') continue
    steps.push(item.kind === 'schema' ? compile(item) : compileAction(item))
  }
  return (value) => {
    for (const step of steps) {
      value = step(value)
      if (value === INVALID) return INVALID
    }
    return value
  }
}

function compileAction(action: Node): Check {
  const requirement = action.requirement
  switch (action.type) {
    case 'check':
    case 'integer': {
      const check = requirement as (value: unknown) => boolean
      return (value) => (check(value) ? value : INVALID)
    }
    case 'min_value':
      return (value) => ((value as number) >= (requirement as number) ? value : INVALID)
    case 'max_value':
      return (value) => ((value as number) <= (requirement as number) ? value : INVALID)
    case 'gt_value':
      return (value) => ((value as number) > (requirement as number) ? value : INVALID)
    case 'min_length':
      return (value) => ((value as { length: number }).length >= (requirement as number) ? value : INVALID)
    case 'max_length':
      return (value) => ((value as { length: number }).length <= (requirement as number) ? value : INVALID)
    case 'length':
      return (value) => ((value as { length: number }).length === requirement ? value : INVALID)
    case 'non_empty':
      return (value) => ((value as { length: number }).length !== 0 ? value : INVALID)
    case 'regex': {
      const regex = requirement as RegExp
      return (value) => (regex.test(value as string) ? value : INVALID)
    }
    default:
      return delegate(action)
  }
}
