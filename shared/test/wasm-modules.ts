// Custom WebAssembly kernels for the executor tests, assembled here from a few dozen bytes each (no toolchain needed);
// each comes with its WAT. The ABI (docs/EXECUTORS.md): exports memory (with a maximum), alloc(len) -> ptr and
// run(ptr, len) -> ptr of a u32 little-endian length followed by that many output bytes. No imports.

const I32 = 0x7f

function u32(value: number): number[] {
  const out: number[] = []
  do {
    let byte = value & 0x7f
    value >>>= 7
    if (value !== 0) byte |= 0x80
    out.push(byte)
  } while (value !== 0)
  return out
}

const vec = (items: number[][]): number[] => [...u32(items.length), ...items.flat()]
const name = (text: string): number[] => [...u32(text.length), ...new TextEncoder().encode(text)]
const section = (id: number, body: number[]): number[] => [id, ...u32(body.length), ...body]
const body = (locals: number[][], code: number[]): number[] => {
  const content = [...vec(locals), ...code, 0x0b]
  return [...u32(content.length), ...content]
}

interface ModuleShape {
  /** Memory limits in 64 KiB pages; `max` undefined: no maximum. */
  memory: { min: number; max?: number }
  /** run's body (params 0 = ptr, 1 = len; locals 2 and 3 are i32), without the final `end`. */
  run: number[]
  /** Import a function `env.log: (i32) -> ()` (refused by the sandbox). */
  importLog?: boolean
}

/** A module with the ABI's exports; alloc(len) always answers 8 (inputs here are small). */
function customKernel(shape: ModuleShape): Uint8Array {
  const types = section(
    1,
    vec([
      [0x60, ...vec([[I32]]), ...vec([[I32]])],
      [0x60, ...vec([[I32], [I32]]), ...vec([[I32]])],
      [0x60, ...vec([[I32]]), ...vec([])],
    ]),
  )
  const imports = shape.importLog === true ? section(2, vec([[...name('env'), ...name('log'), 0x00, 2]])) : []
  const first = shape.importLog === true ? 1 : 0
  const functions = section(3, vec([[0], [1]]))
  const { min, max } = shape.memory
  const memory = section(5, vec([max === undefined ? [0x00, ...u32(min)] : [0x01, ...u32(min), ...u32(max)]]))
  const exports = section(
    7,
    vec([
      [...name('memory'), 0x02, 0],
      [...name('alloc'), 0x00, first],
      [...name('run'), 0x00, first + 1],
    ]),
  )
  const code = section(10, vec([body([], [0x41, 8]), body([[2, I32]], shape.run)]))
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...types,
    ...imports,
    ...functions,
    ...memory,
    ...exports,
    ...code,
  ])
}

/** Reverses its input:
 *  (func $run (param $ptr i32) (param $len i32) (result i32) (local $out i32) (local $i i32)
 *    (local.set $out (i32.add (local.get $ptr) (local.get $len)))
 *    (i32.store (local.get $out) (local.get $len))
 *    (block (loop
 *      (br_if 1 (i32.ge_u (local.get $i) (local.get $len)))
 *      (i32.store8 offset=4 (i32.add (local.get $out) (local.get $i))
 *        (i32.load8_u (i32.sub (i32.sub (i32.add (local.get $ptr) (local.get $len)) (local.get $i)) (i32.const 1))))
 *      (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *      (br 0)))
 *    (local.get $out))
 *  with (memory (export "memory") 1 16). */
export const REVERSE_MODULE = customKernel({
  memory: { min: 1, max: 16 },
  run: [
    ...[0x20, 0, 0x20, 1, 0x6a, 0x21, 2],
    ...[0x20, 2, 0x20, 1, 0x36, 2, 0],
    ...[0x02, 0x40, 0x03, 0x40],
    ...[0x20, 3, 0x20, 1, 0x4f, 0x0d, 1],
    ...[0x20, 2, 0x20, 3, 0x6a],
    ...[0x20, 0, 0x20, 1, 0x6a, 0x20, 3, 0x6b, 0x41, 1, 0x6b, 0x2d, 0, 0],
    ...[0x3a, 0, 4],
    ...[0x20, 3, 0x41, 1, 0x6a, 0x21, 3],
    ...[0x0c, 0, 0x0b, 0x0b],
    ...[0x20, 2],
  ],
})

/** Never returns: (func $run ... (loop (br 0)) (i32.const 0)) */
export const LOOP_MODULE = customKernel({ memory: { min: 1, max: 1 }, run: [0x03, 0x40, 0x0c, 0, 0x0b, 0x41, 0] })

/** Grows its memory a page at a time until memory.grow fails (at its maximum, 4 pages), then traps:
 *  (func $run ... (loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) (unreachable)) */
export const GROW_MODULE = customKernel({
  memory: { min: 1, max: 4 },
  run: [0x03, 0x40, 0x41, 1, 0x40, 0, 0x41, 0x7f, 0x47, 0x0d, 0, 0x0b, 0x00],
})

/** Traps at once, with memory to spare: (func $run ... (unreachable)) */
export const TRAP_MODULE = customKernel({ memory: { min: 1, max: 16 }, run: [0x00] })

/** Imports (func $log (import "env" "log") (param i32)): refused. */
export const IMPORT_MODULE = customKernel({ memory: { min: 1, max: 1 }, run: [0x41, 0], importLog: true })

/** (memory (export "memory") 1) with no maximum: refused. */
export const UNBOUNDED_MODULE = customKernel({ memory: { min: 1 }, run: [0x41, 0] })

/** (memory (export "memory") 1 65536), up to 4 GiB: refused. */
export const HUGE_MODULE = customKernel({ memory: { min: 1, max: 65_536 }, run: [0x41, 0] })
