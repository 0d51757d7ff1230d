// Custom kernels as WebAssembly: code a remote peer may send, so never JavaScript. A module is named by the SHA-256 of
// its bytes (`custom:<hex>`), checked once (valid, no imports, a bounded memory, the ABI's exports), compiled once and
// cached by hash; every task gets a fresh instance inside a worker, so tasks share nothing and a loop is ended by the
// worker's timeout. The ABI is in docs/EXECUTORS.md.

import { NoodleError } from '../errors.js'
import { LIMITS } from '../limits.js'
import type { WasmKernelRef } from './worker-pool.js'

const PAGE_BYTES = 65_536
const HINT_ABI = 'A custom kernel exports memory (with a maximum), alloc(len) -> ptr and run(ptr, len) -> ptr; see docs/EXECUTORS.md.'

/** `custom:` and 64 lower-case hex digits: a custom kernel's name. */
export const CUSTOM_KERNEL_NAME = /^custom:[0-9a-f]{64}$/

export function isCustomKernel(name: string): boolean {
  return CUSTOM_KERNEL_NAME.test(name)
}

/** The kernel name of a module: `custom:` + the SHA-256 of its bytes (WebCrypto). */
export async function wasmKernelId(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
  let hex = ''
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0')
  return `custom:${hex}`
}

export interface WasmKernelCacheOptions {
  /** Most linear memory a module may declare (bytes); default LIMITS.wasmMemoryMaxBytes. */
  memoryMaxBytes?: number
  /** Modules kept (default LIMITS.wasmCacheModules) and their total size (default LIMITS.wasmCacheBytes). */
  maxModules?: number
  maxBytes?: number
}

interface CacheEntry {
  ref: WasmKernelRef
  size: number
}

/** Checked and compiled custom kernels by name, least recently used out first. One per executor. */
export class WasmKernelCache {
  readonly #entries = new Map<string, CacheEntry>()
  readonly #memoryMaxBytes: number
  readonly #maxModules: number
  readonly #maxBytes: number
  #bytes = 0

  constructor(options: WasmKernelCacheOptions = {}) {
    this.#memoryMaxBytes = options.memoryMaxBytes ?? LIMITS.wasmMemoryMaxBytes
    this.#maxModules = options.maxModules ?? LIMITS.wasmCacheModules
    this.#maxBytes = options.maxBytes ?? LIMITS.wasmCacheBytes
  }

  get size(): number {
    return this.#entries.size
  }

  has(id: string): boolean {
    return this.#entries.has(id)
  }

  /** The compiled kernel, if cached (and now the most recently used). */
  get(id: string): WasmKernelRef | undefined {
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    this.#entries.delete(id)
    this.#entries.set(id, entry)
    return entry.ref
  }

  /** Checks, compiles and caches a module; `expectedId` (the name a task gave) must be its hash. Throws WASM_INVALID,
   *  WASM_IMPORTS_FORBIDDEN or WASM_MEMORY_LIMIT with the reason. */
  async add(bytes: Uint8Array, expectedId?: string): Promise<WasmKernelRef> {
    if (bytes.byteLength > LIMITS.taskModuleMaxBytes) {
      throw new NoodleError(
        'WASM_INVALID',
        `the custom kernel is ${bytes.byteLength} bytes; at most ${LIMITS.taskModuleMaxBytes} are accepted`,
        'Make the module smaller (strip debug sections, optimise for size).',
      )
    }
    const id = await wasmKernelId(bytes)
    if (expectedId !== undefined && expectedId !== id) {
      throw new NoodleError(
        'WASM_INVALID',
        `the module sent for ${expectedId} is ${id}`,
        "A custom kernel's name is the SHA-256 of its bytes; send the module that name was made from.",
      )
    }
    const cached = this.get(id)
    if (cached !== undefined) return cached
    const ref = await compileWasmKernel(id, bytes, this.#memoryMaxBytes)
    this.#entries.set(id, { ref, size: bytes.byteLength })
    this.#bytes += bytes.byteLength
    for (const [oldId, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxModules && this.#bytes <= this.#maxBytes) break
      if (oldId === id) continue
      this.#entries.delete(oldId)
      this.#bytes -= entry.size
    }
    return ref
  }
}

/** Validates and compiles one module against the sandbox's rules. */
export async function compileWasmKernel(id: string, bytes: Uint8Array, memoryMaxBytes = LIMITS.wasmMemoryMaxBytes): Promise<WasmKernelRef> {
  const source = bytes as Uint8Array<ArrayBuffer>
  if (!WebAssembly.validate(source)) {
    throw new NoodleError('WASM_INVALID', `${id} is not a valid WebAssembly module`, HINT_ABI)
  }
  const module = await WebAssembly.compile(source)
  const imports = WebAssembly.Module.imports(module)
  if (imports.length > 0) {
    const names = imports.slice(0, 3).map((entry) => `${entry.module}.${entry.name}`)
    throw new NoodleError(
      'WASM_IMPORTS_FORBIDDEN',
      `${id} imports ${imports.length === 1 ? '' : `${imports.length} things, e.g. `}${names.join(', ')}; custom kernels get no imports`,
      'Build the module without imports: no WASI, no JavaScript glue, its own memory. See docs/EXECUTORS.md.',
    )
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((entry) => [entry.name, entry.kind]))
  for (const [name, kind] of [
    ['memory', 'memory'],
    ['alloc', 'function'],
    ['run', 'function'],
  ] as const) {
    if (exports.get(name) !== kind) {
      throw new NoodleError('WASM_INVALID', `${id} does not export the ${kind} "${name}"`, HINT_ABI)
    }
  }
  const maxPages = declaredMemoryMaxPages(id, bytes)
  const limitPages = Math.floor(memoryMaxBytes / PAGE_BYTES)
  if (maxPages > limitPages) {
    throw new NoodleError(
      'WASM_MEMORY_LIMIT',
      `${id} declares up to ${maxPages} pages (${mib(maxPages * PAGE_BYTES)}) of memory; at most ${limitPages} (${mib(limitPages * PAGE_BYTES)}) are allowed`,
      'Link the module with a smaller maximum memory (e.g. --max-memory).',
    )
  }
  return { id, module, memoryMaxBytes: maxPages * PAGE_BYTES }
}

/** The maximum (in pages) of the module's one memory, read from its memory section. The module has already passed
 *  WebAssembly.validate, so the section is well formed; what is refused here is what the sandbox cannot bound. */
function declaredMemoryMaxPages(id: string, bytes: Uint8Array): number {
  const reader = new ByteReader(bytes, 8)
  while (!reader.done) {
    const section = reader.byte()
    const size = reader.u32()
    const end = reader.offset + size
    if (section === 5) {
      const count = reader.u32()
      if (count !== 1) throw new NoodleError('WASM_INVALID', `${id} defines ${count} memories; custom kernels have exactly one`, HINT_ABI)
      const flags = reader.byte()
      if (flags === 0x00) {
        throw new NoodleError(
          'WASM_MEMORY_LIMIT',
          `${id} declares no maximum for its memory, so it could grow without bound`,
          'Link the module with a maximum memory (e.g. --max-memory), at most LIMITS.wasmMemoryMaxBytes.',
        )
      }
      if (flags !== 0x01) {
        throw new NoodleError(
          'WASM_INVALID',
          `${id} declares a shared or 64-bit memory (flags ${flags}); custom kernels use one plain 32-bit memory`,
          HINT_ABI,
        )
      }
      reader.u32()
      return reader.u32()
    }
    reader.offset = end
  }
  throw new NoodleError('WASM_INVALID', `${id} defines no memory of its own`, HINT_ABI)
}

class ByteReader {
  readonly #bytes: Uint8Array
  offset: number

  constructor(bytes: Uint8Array, offset: number) {
    this.#bytes = bytes
    this.offset = offset
  }

  get done(): boolean {
    return this.offset >= this.#bytes.length
  }

  byte(): number {
    return this.#bytes[this.offset++]
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    let result = 0
    let shift = 0
    for (;;) {
      const byte = this.#bytes[this.offset++]
      result += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return result
      shift += 7
    }
  }
}

/** Runs one custom kernel call inside a worker: a fresh instance (with no imports), the input copied in through
 *  alloc, run, the length-prefixed output copied out. Traps become WASM_TRAP, or WASM_MEMORY_LIMIT when the module
 *  had used all the memory it may. */
export function runWasmKernel(ref: WasmKernelRef, input: unknown): Uint8Array {
  const bytes = inputBytes(ref.id, input)
  let memory: WebAssembly.Memory | undefined
  try {
    const instance = new WebAssembly.Instance(ref.module, {})
    const exports = instance.exports as {
      memory: WebAssembly.Memory
      alloc: (len: number) => unknown
      run: (ptr: number, len: number) => unknown
    }
    memory = exports.memory
    if (exports.alloc.length !== 1 || exports.run.length !== 2) {
      throw new NoodleError('WASM_INVALID', `${ref.id} exports alloc or run with the wrong parameters`, HINT_ABI)
    }
    const ptr = pointer(ref.id, 'alloc', exports.alloc(bytes.length))
    if (ptr + bytes.length > memory.buffer.byteLength)
      throw outside(ref, memory, `alloc(${bytes.length}) returned a pointer outside its memory`)
    new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes)
    const out = pointer(ref.id, 'run', exports.run(ptr, bytes.length))
    const buffer = memory.buffer
    if (out + 4 > buffer.byteLength) throw outside(ref, memory, 'run returned a pointer outside its memory')
    const length = new DataView(buffer).getUint32(out, true)
    if (out + 4 + length > buffer.byteLength) throw outside(ref, memory, `run's output (${length} bytes) runs past the end of its memory`)
    return new Uint8Array(buffer.slice(out + 4, out + 4 + length))
  } catch (err) {
    if (err instanceof NoodleError) throw err
    if (memory !== undefined && atLimit(ref, memory)) throw memoryLimit(ref, err)
    if (err instanceof RangeError && /memory/i.test(err.message)) throw memoryLimit(ref, err)
    throw new NoodleError(
      'WASM_TRAP',
      `${ref.id} trapped: ${(err as Error)?.message ?? String(err)}`,
      'This is a fault in the custom kernel or its input; the node is fine.',
      { cause: err },
    )
  }
}

function inputBytes(id: string, input: unknown): Uint8Array {
  if (input instanceof Uint8Array) return input
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
  if (input instanceof ArrayBuffer) return new Uint8Array(input)
  throw new NoodleError('TASK_INPUT_INVALID', `${id} input is invalid: custom kernels take bytes`, 'Send the input as a Uint8Array.')
}

function pointer(id: string, name: string, value: unknown): number {
  if (typeof value !== 'number') throw new NoodleError('WASM_INVALID', `${id}: ${name} must return one i32`, HINT_ABI)
  return value >>> 0
}

function atLimit(ref: WasmKernelRef, memory: WebAssembly.Memory): boolean {
  return memory.buffer.byteLength + PAGE_BYTES > ref.memoryMaxBytes
}

function outside(ref: WasmKernelRef, memory: WebAssembly.Memory, what: string): NoodleError {
  if (atLimit(ref, memory)) return memoryLimit(ref, new Error(what))
  return new NoodleError('WASM_INVALID', `${ref.id}: ${what}`, HINT_ABI)
}

function memoryLimit(ref: WasmKernelRef, cause: unknown): NoodleError {
  return new NoodleError(
    'WASM_MEMORY_LIMIT',
    `${ref.id} ran out of memory: it may use ${mib(ref.memoryMaxBytes)}`,
    'Give it a smaller input, or a module that needs less memory.',
    { cause },
  )
}

function mib(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 100) / 100} MiB`
}
