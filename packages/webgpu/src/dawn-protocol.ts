// The messages between DawnProcess (the node) and dawn-host.ts (the child process that holds the Dawn device), over
// Node's IPC channel with `serialization: 'advanced'` (structured clone: typed arrays cross intact). Large arrays of
// numbers, and matrices of them, cross packed into one Float64Array each (packNumbers).

import type { AdapterSummary } from './runner.js'

export type HostMessage =
  | { type: 'ready'; adapter: AdapterSummary; kernels: string[] }
  | { type: 'unavailable'; message: string }
  | { type: 'result'; id: number; output: unknown; packed: Packed[]; ms: number }
  | { type: 'error'; id: number; error: WireError }

/** `input` and `output` as packNumbers left them; `packed` says where to unpack. */
export type ParentMessage =
  | { type: 'run'; id: number; kernel: string; input: unknown; packed: Packed[] }
  | { type: 'cancel'; id: number; reason: string }

/** A NoodleError as data (Error objects do not survive IPC with their code). */
export interface WireError {
  code: string
  message: string
  hint: string
}

/** Where in a message's input or output packNumbers put a Float64Array, and for a matrix its row lengths. */
export interface Packed {
  /** Keys from the top. */
  path: Array<string | number>
  /** Present where the array was an array of rows: each row's length, in order. */
  rows?: number[]
}

/** Arrays of fewer numbers than this cross as they are. */
const PACK_MIN = 64

/**
 * `value` with every array of at least PACK_MIN numbers, and every array of rows of numbers (a matrix) with that many
 * in all, replaced by one Float64Array, and where they were. Structured clone writes a number[] element by element,
 * and each typed array as a buffer of its own: a 1024² matmul's operands and product took ~200 ms to cross here as
 * number[][], ~125 ms as a Float64Array per row, ~20 ms as one Float64Array each. A Float64Array holds every number
 * exactly (−0 and NaN too). `value` itself is left as it was: the arrays and objects on the way are copied.
 */
export function packNumbers(value: unknown): { value: unknown; packed: Packed[] } {
  const packed: Packed[] = []
  const walk = (node: unknown, path: Array<string | number>): unknown => {
    if (Array.isArray(node)) {
      if (node.length >= PACK_MIN && allNumbers(node)) {
        packed.push({ path })
        return flatten([node as number[]], node.length)
      }
      if (node.length > 0 && node.every((row) => Array.isArray(row) && allNumbers(row))) {
        const rows = node as number[][]
        const total = rows.reduce((sum, row) => sum + row.length, 0)
        if (total >= PACK_MIN) {
          packed.push({ path, rows: rows.map((row) => row.length) })
          return flatten(rows, total)
        }
      }
      let copy: unknown[] | undefined
      node.forEach((element, i) => {
        const inner = walk(element, [...path, i])
        if (inner === element) return
        copy ??= node.slice()
        copy[i] = inner
      })
      return copy ?? node
    }
    if (node !== null && typeof node === 'object' && isPlainObject(node)) {
      let copy: Record<string, unknown> | undefined
      for (const [key, element] of Object.entries(node)) {
        const inner = walk(element, [...path, key])
        if (inner === element) continue
        copy ??= { ...node }
        setOwn(copy, key, inner)
      }
      return copy ?? node
    }
    return node
  }
  return { value: walk(value, []), packed }
}

/** Undoes packNumbers on a value that crossed (and so belongs to the receiver: it is changed in place). */
export function unpackNumbers(value: unknown, packed: readonly Packed[]): unknown {
  let root = value
  for (const { path, rows } of packed) {
    if (path.length === 0) {
      root = unflatten(root as Float64Array, rows)
      continue
    }
    let parent = root as Record<string | number, unknown>
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>
    const last = path[path.length - 1]
    setOwn(parent, last, unflatten(parent[last] as Float64Array, rows))
  }
  return root
}

function allNumbers(values: unknown[]): boolean {
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'number') return false
  return true
}

function flatten(rows: number[][], total: number): Float64Array {
  const flat = new Float64Array(total)
  let at = 0
  for (const row of rows) for (let j = 0; j < row.length; j++) flat[at++] = row[j]
  return flat
}

/** Preallocated arrays filled in loops: ~8× faster than Array.from on a typed array. */
function unflatten(flat: Float64Array, rows: number[] | undefined): number[] | number[][] {
  const slice = (from: number, length: number): number[] => {
    const numbers: number[] = new Array(length)
    for (let j = 0; j < length; j++) numbers[j] = flat[from + j]
    return numbers
  }
  if (rows === undefined) return slice(0, flat.length)
  const matrix: number[][] = new Array(rows.length)
  let at = 0
  rows.forEach((length, i) => {
    matrix[i] = slice(at, length)
    at += length
  })
  return matrix
}

/** parent[key] = value, also where key is "__proto__" (an own property of a parsed input, not the prototype). */
function setOwn(parent: object, key: string | number, value: unknown): void {
  Object.defineProperty(parent, key, { value, writable: true, enumerable: true, configurable: true })
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}
