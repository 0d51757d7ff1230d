// Task declarations as a specification: what an app may declare, the defaults it gets, and for every kind of
// mistake a TASK_INVALID whose sentence names the field and what it allows.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { inputByteLength, isNoodleError, LIMITS, NoodleError, parseTask } from '../src/index.js'
import { ALICE } from './scheduler-support.js'

/** The sentence parseTask threw (failing the test when it did not throw TASK_INVALID). */
function invalid(declaration: unknown): string {
  try {
    parseTask(declaration)
  } catch (err) {
    expect(err).toBeInstanceOf(NoodleError)
    expect((err as NoodleError).code).toBe('TASK_INVALID')
    return (err as NoodleError).sentence
  }
  throw new Error(`accepted ${JSON.stringify(declaration)}`)
}

const HASH = 'ab'.repeat(32)

describe('accepted declarations', () => {
  it('fills in the defaults: priority 5, placement fastest, no requirements', () => {
    expect(parseTask({ kernel: 'matmul', input: { a: [1, 2], b: [3, 4] } })).toEqual({
      kernel: 'matmul',
      input: { a: [1, 2], b: [3, 4] },
      requires: {},
      priority: 5,
      placement: 'fastest',
    })
  })

  it('keeps every field it is given', () => {
    const declaration = {
      kernel: `custom:${HASH}`,
      input: null,
      requires: { cpu: 2, memoryMB: 512, gpu: true, npu: false },
      priority: 9,
      deadlineMs: 30_000,
      maxCost: 2.5,
      placement: 'local-first',
      peer: ALICE,
    }
    expect(parseTask(declaration)).toEqual(declaration)
  })

  it('pins a peer by its id in any form libp2p writes: base58 (Ed25519, secp256k1, RSA) or the CID in base32, base36', () => {
    const ids = [
      '12D3KooW9vT9VAECmjRCYJXZQZfRxK5yizqkQPRm71fQAK8dgXEC',
      '16Uiu2HAkuaLXBJe4eaqsfCKQ8j2SotifaUdHpocRLLiqVLkhs6yj',
      'QmSzKef8NoECS4iN4AuFGQe4ujQpKkiwpyRtyMfVz6wj3k',
      'bafzaajaiaejcaampduspp27s4q5yd7cocbgm5sf5yumbkooklrlnebjwghibm2hn',
      'k51qzi5uqu5dg7zkpvmzmom57tmr7wjeaq0w03f5zu4ha0ciuskiv605syax9p',
      'k2k4r8l500d9a4bd6c2btm7881pu71ka0t8od1mubug2kj01188dbl5z',
    ]
    for (const peer of ids) expect(parseTask({ kernel: 'k', input: 1, peer }).peer).toBe(peer)
  })

  it('binary inputs stay typed arrays (they travel as bytes), and count their bytes', () => {
    const samples = new Float32Array(1024)
    const task = parseTask({ kernel: 'saxpy', input: { a: 2, x: samples, y: new Uint8Array(16) } })
    expect(task.input).toEqual({ a: 2, x: samples, y: new Uint8Array(16) })
    expect((task.input as { x: Float32Array }).x).toBe(samples)
    expect(inputByteLength(task.input)).toBeGreaterThanOrEqual(4096 + 16)
    expect(inputByteLength(task.input)).toBeLessThan(4096 + 16 + 32)
  })

  it('every priority from 0 to 9 and every built-in placement', () => {
    for (let priority = 0; priority <= 9; priority++) expect(parseTask({ kernel: 'k', input: 1, priority }).priority).toBe(priority)
    for (const placement of ['fastest', 'cheapest', 'spread', 'local-first']) {
      expect(parseTask({ kernel: 'k', input: 1, placement }).placement).toBe(placement)
    }
  })

  it('an object field left undefined is left out, as on the wire', () => {
    expect(() => parseTask({ kernel: 'k', input: { a: 1, b: undefined } })).not.toThrow()
  })
})

describe('TASK_INVALID names the field and what it allows', () => {
  it.each([
    ['a missing kernel', { input: 1 }, /kernel is missing/],
    ['a missing input', { kernel: 'matmul' }, /input is missing/],
    ['an upper-case kernel', { kernel: 'MatMul', input: 1 }, /kernel = "MatMul": must be a kernel name: lower-case letters/],
    ['a custom kernel without its hash', { kernel: 'custom:abc', input: 1 }, /kernel = "custom:abc": .*custom:<64 hex digits/],
    ['a kernel that is not a string', { kernel: 7, input: 1 }, /kernel = 7: must be a kernel name/],
    ['a priority above 9', { kernel: 'k', input: 1, priority: 12 }, /priority = 12: must be an integer priority from 0 to 9/],
    ['a fractional priority', { kernel: 'k', input: 1, priority: 2.5 }, /priority = 2.5: must be an integer priority from 0 to 9/],
    [
      'an unknown placement',
      { kernel: 'k', input: 1, placement: 'fastets' },
      /placement = "fastets": must be one of fastest, cheapest, spread, local-first/,
    ],
    [
      'a misspelt requirement',
      { kernel: 'k', input: 1, requires: { memory: 5 } },
      /requires.memory = 5: this is not a field here \(the fields are cpu, memoryMB, gpu, npu\)/,
    ],
    [
      'negative memory',
      { kernel: 'k', input: 1, requires: { memoryMB: -5 } },
      /requires.memoryMB = -5: must be a number of megabytes above 0/,
    ],
    [
      'zero cores',
      { kernel: 'k', input: 1, requires: { cpu: 0 } },
      /requires.cpu = 0: must be an integer number of CPU cores from 1 to 4096/,
    ],
    ['gpu as a string', { kernel: 'k', input: 1, requires: { gpu: 'yes' } }, /requires.gpu = "yes": must be true or false/],
    ['requires that is not an object', { kernel: 'k', input: 1, requires: 5 }, /requires = 5: must be an object/],
    ['a zero deadline', { kernel: 'k', input: 1, deadlineMs: 0 }, /deadlineMs = 0: must be an integer number of milliseconds from 1/],
    ['a negative maxCost', { kernel: 'k', input: 1, maxCost: -1 }, /maxCost = -1: must be a cost of 0 or more/],
    ['a peer that is not a peer id', { kernel: 'k', input: 1, peer: 'bob' }, /peer = "bob": must be a peer id string/],
    ['a peer id cut short', { kernel: 'k', input: 1, peer: '12D3KooWD9jk64Nrpyg' }, /peer = "12D3KooWD9jk64Nrpyg": must be a peer id/],
    [
      'a peer id with a letter base58 leaves out',
      { kernel: 'k', input: 1, peer: '12D3KooWD9jk64NrpygXV6VXQYSnXeLPFhywDGgB5p7apEoK7sKO' },
      /peer = "12D3KooW\w+": must be a peer id string/,
    ],
    [
      'an unknown field',
      { kernel: 'k', input: 1, colour: 'red' },
      /colour = "red": this is not a field here \(the fields are kernel, input, requires/,
    ],
    ['a declaration that is not an object', 'matmul', /task = "matmul": must be an object/],
    ['null', null, /task = null: must be an object/],
  ])('%s', (_what, declaration, message) => {
    const sentence = invalid(declaration)
    expect(sentence).toMatch(message)
    expect(sentence).toContain('docs/SCHEDULER.md')
  })

  it.each([
    ['a Date', { when: new Date(0) }, /input.when: a Date cannot travel; send plain data/],
    ['a Map', [1, new Map()], /input\[1\]: a Map cannot travel/],
    ['NaN', { a: [1, Number.NaN] }, /input.a\[1\]: NaN cannot travel/],
    ['Infinity', Number.POSITIVE_INFINITY, /input: Infinity cannot travel/],
    ['a function', { f: () => 1 }, /input.f: a function cannot travel/],
    ['a bigint', 1n, /input: a bigint cannot travel/],
    ['undefined in an array', [1, undefined], /input\[1\]: undefined cannot travel/],
    ['undefined itself', undefined, /input: undefined cannot travel/],
  ])('an input holding %s', (_what, input, message) => {
    expect(invalid({ kernel: 'k', input })).toMatch(message)
  })

  it('an input that refers to itself is refused, not walked forever', () => {
    const loop: Record<string, unknown> = { a: 1 }
    loop.self = loop
    expect(invalid({ kernel: 'k', input: loop })).toMatch(`nested deeper than ${LIMITS.taskInputMaxDepth} levels (or it refers to itself)`)
  })

  it('an input above the size limit says to split it', () => {
    const input = new Uint8Array(LIMITS.taskInputMaxBytes + 1)
    expect(invalid({ kernel: 'k', input })).toMatch(/above the 16777216 a task input may hold: split the input into smaller tasks/)
  })

  it('any value is either accepted or refused with TASK_INVALID, never anything else', () => {
    fc.assert(
      fc.property(
        fc.anything({ withTypedArray: true, withBigInt: true, withDate: true, withMap: true, withNullPrototype: true }),
        (input) => {
          try {
            parseTask({ kernel: 'k', input })
          } catch (err) {
            expect(isNoodleError(err, 'TASK_INVALID')).toBe(true)
          }
        },
      ),
    )
  })
})
