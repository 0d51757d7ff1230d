// The built-in CPU kernels as a specification (shared/src/exec/kernels, docs/KERNELS.md): each refuses a bad input
// with TASK_INPUT_INVALID and a sentence saying what the input must be, long kernels stop with TASK_ABORTED when
// their task is cancelled, and sha256-search finds what an independent digest confirms. Agreement between the CPU
// and WebGPU kernels is the compliance suite's job (packages/webgpu/test/kernel-compliance.ts).

import { describe, expect, it } from 'vitest'
import { BUILTIN_CPU_KERNELS, type CpuKernel, isNoodleError, type KernelContext, LIMITS, type NoodleError } from '../src/index.js'

const idle = (): KernelContext => ({ signal: new AbortController().signal, progress: () => {} })

function kernel(name: string): CpuKernel {
  const found = BUILTIN_CPU_KERNELS.get(name)
  if (found === undefined) throw new Error(`no kernel ${name}`)
  return found
}

async function run(name: string, input: unknown, context: KernelContext = idle()): Promise<unknown> {
  const k = kernel(name)
  return k.run(k.validate(input), context)
}

/** What validate threw, which must be a TASK_INPUT_INVALID NoodleError. */
function refusal(name: string, input: unknown): NoodleError {
  try {
    kernel(name).validate(input)
  } catch (err) {
    if (isNoodleError(err, 'TASK_INPUT_INVALID')) return err
    throw err
  }
  throw new Error(`${name} accepted ${JSON.stringify(input)}`)
}

/** Aborts the task the first time the kernel reports progress: cancellation mid-run, with no timer in the test. */
function cancelledOnFirstProgress(): KernelContext & { reports: number[] } {
  const controller = new AbortController()
  const reports: number[] = []
  return {
    signal: controller.signal,
    reports,
    progress(fraction) {
      reports.push(fraction)
      controller.abort(new Error('cancelled by the test'))
    },
  }
}

describe('the built-in kernels', () => {
  it('are echo, delay, matmul, saxpy, mandelbrot and sha256-search, all PUBLIC, each with a summary', () => {
    expect([...BUILTIN_CPU_KERNELS.keys()]).toEqual(['echo', 'delay', 'matmul', 'saxpy', 'mandelbrot', 'sha256-search'])
    for (const k of BUILTIN_CPU_KERNELS.values()) {
      expect(k.level).toBe('PUBLIC')
      expect(k.summary).toMatch(/^[A-Z].+\.$/)
      expect(k.name).toMatch(/^[a-z0-9-]+$/)
    }
  })

  it('estimate a positive, finite amount of work for any input, valid or not', () => {
    const inputs = [
      undefined,
      null,
      'text',
      { a: 'x' },
      { a: [[1, 2]], b: [[1], [2]] },
      { width: 10, height: 10, maxIterations: 100 },
      { bits: 20 },
    ]
    for (const k of BUILTIN_CPU_KERNELS.values()) {
      for (const input of inputs) {
        const work = k.estimateWork?.(input) ?? 1
        expect(Number.isFinite(work) && work > 0, `${k.name}(${JSON.stringify(input)}) → ${work}`).toBe(true)
      }
    }
    expect(
      kernel('matmul').estimateWork?.({
        a: [[1, 2]],
        b: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      }),
    ).toBe(1 * 2 * 3)
    expect(kernel('mandelbrot').estimateWork?.({ width: 10, height: 20, maxIterations: 30 })).toBe(6_000)
  })
})

describe('input validation: TASK_INPUT_INVALID, naming the field and what the input must be', () => {
  const cases: Array<[kernel: string, input: unknown, says: RegExp]> = [
    ['delay', { ms: LIMITS.kernelDelayMaxMs + 1 }, /ms must be a whole number of milliseconds from 0 to 60000/],
    ['delay', { ms: -1 }, /ms must be/],
    ['delay', { ms: 1.5 }, /ms must be/],
    ['delay', 'soon', /the input must be an object \{ms, value\?\}/],
    ['matmul', { a: [[1, 2]], b: [[1, 2]] }, /inner dimensions differ: a is 1×2, so b must be 2×n, but it is 1×2/],
    ['matmul', { a: [[1, 2], [3]], b: [[1], [2]] }, /a is not rectangular: row 0 has 2 elements, row 1 has 1/],
    ['matmul', { a: [[1], 5], b: [[1]] }, /a\.1 must be a row: an array of numbers/],
    ['matmul', { a: [[1, 'x']], b: [[1], [2]] }, /a\[0\]\[1\] is "x", not a finite number/],
    ['matmul', { a: [[1, Number.NaN]], b: [[1], [2]] }, /a\[0\]\[1\] is NaN/],
    ['matmul', { a: [[1e39]], b: [[1]] }, /a\[0\]\[0\] is 1e\+39, not a finite number within ±3\.4e38/],
    ['matmul', { a: [], b: [[1]] }, /a is empty/],
    ['matmul', { a: [[1]] }, /b is missing/],
    ['matmul', { a: [[1]], b: 'rows' }, /b must be an array of rows/],
    [
      'matmul',
      { a: Array.from({ length: LIMITS.kernelGridMaxSide + 1 }, () => [1]), b: [[1]] },
      /a is 16385×1, longer than 16384 on a side/,
    ],
    [
      'matmul',
      { a: Array.from({ length: 2048 }, () => [1]), b: [Array.from({ length: 1024 }, () => 1)] },
      /the product would be 2048×1024, more than 1048576 elements/,
    ],
    ['saxpy', { a: 1, x: [1, 2], y: [1] }, /x has 2 elements but y has 1/],
    ['saxpy', { a: 1, x: [], y: [] }, /x and y are empty/],
    [
      'saxpy',
      { a: 1, x: new Float32Array([1, Number.POSITIVE_INFINITY]), y: new Float32Array(2) },
      /x\[1\] is Infinity, not a finite number/,
    ],
    ['saxpy', { a: 1, x: new Float64Array(2), y: [1, 2] }, /x must be a number\[\] or a Float32Array/],
    ['saxpy', { a: Number.NaN, x: [1], y: [1] }, /a must be a finite number/],
    ['mandelbrot', { x0: 0, y0: 0, x1: 1, y1: 1, width: 0, height: 1, maxIterations: 1 }, /width must be a whole number from 1 to 16384/],
    [
      'mandelbrot',
      { x0: 0, y0: 0, x1: 1, y1: 1, width: 4096, height: 4096, maxIterations: 1 },
      /the tile is 4096×4096, more than 4194304 pixels/,
    ],
    [
      'mandelbrot',
      { x0: 0, y0: 0, x1: 1, y1: 1, width: 1, height: 1, maxIterations: 70_000 },
      /maxIterations must be a whole number from 1 to 65536/,
    ],
    ['mandelbrot', { x0: 'left', y0: 0, x1: 1, y1: 1, width: 1, height: 1, maxIterations: 1 }, /x0 must be a finite number/],
    ['sha256-search', { prefix: 'x', bits: LIMITS.kernelSha256MaxBits + 1 }, /bits must be a whole number from 0 to 40/],
    ['sha256-search', { prefix: 7, bits: 1 }, /prefix must be a string or a Uint8Array/],
    ['sha256-search', { prefix: 'x', bits: 1, count: 0 }, /count must be a whole number from 1 to 2\^32/],
    ['sha256-search', { prefix: 'x', bits: 1, start: Number.MAX_SAFE_INTEGER, count: 2 }, /start \+ count passes Number\.MAX_SAFE_INTEGER/],
    ['sha256-search', { prefix: new Uint8Array(LIMITS.kernelSha256MaxPrefixBytes + 1), bits: 1 }, /prefix is 65537 bytes, more than 65536/],
  ]
  for (const [name, input, says] of cases) {
    it(`${name}: ${says.source.replaceAll('\\', '')}`, () => {
      const err = refusal(name, input)
      expect(err.message).toMatch(new RegExp(`^${name} input is invalid: `))
      expect(err.message).toMatch(says)
      // The sentence ends by saying what the input must be.
      expect(err.sentence).toMatch(/\. It must be \{.+\.$/)
    })
  }

  it('echo takes anything and returns it', async () => {
    const value = { nested: [1, 'two', new Uint8Array([3])] }
    expect(await run('echo', value)).toBe(value)
  })
})

describe('delay', () => {
  it('returns its value, or null without one', async () => {
    expect(await run('delay', { ms: 1, value: { answer: 42 } })).toEqual({ answer: 42 })
    expect(await run('delay', { ms: 0 })).toBeNull()
  })

  it('ends at once with TASK_ABORTED when its task is cancelled', async () => {
    const controller = new AbortController()
    const waiting = run('delay', { ms: LIMITS.kernelDelayMaxMs }, { signal: controller.signal, progress: () => {} })
    controller.abort(new Error('deadline passed'))
    await expect(waiting).rejects.toMatchObject({ code: 'TASK_ABORTED', message: 'delay was cancelled: deadline passed' })
  })

  it('does not start when its task is already cancelled', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(run('delay', { ms: 1_000 }, { signal: controller.signal, progress: () => {} })).rejects.toMatchObject({
      code: 'TASK_ABORTED',
    })
  })
})

describe('long kernels stop with TASK_ABORTED when cancelled mid-run', () => {
  const big = Array.from({ length: 512 }, (_, i) => Array.from({ length: 512 }, (_, j) => (i + j) % 7))
  const cases: Array<[string, unknown]> = [
    ['matmul', { a: big, b: big }],
    ['mandelbrot', { x0: -2, y0: -1.5, x1: 1, y1: 1.5, width: 2048, height: 2048, maxIterations: 1_000 }],
    ['sha256-search', { prefix: 'never', bits: LIMITS.kernelSha256MaxBits }],
    ['saxpy', { a: 2, x: new Float32Array(LIMITS.kernelSaxpyMaxLength), y: new Float32Array(LIMITS.kernelSaxpyMaxLength) }],
  ]
  for (const [name, input] of cases) {
    it(name, async () => {
      const context = cancelledOnFirstProgress()
      const started = run(name, input, context)
      const outcome = await started.then(
        () => 'finished',
        (err: unknown) => err,
      )
      if (outcome === 'finished') {
        // A machine fast enough to finish within one slice never pauses; that is not a failure to cancel.
        expect(context.reports.at(-1)).toBe(1)
        return
      }
      expect(outcome).toMatchObject({ code: 'TASK_ABORTED', message: `${name} was cancelled: cancelled by the test` })
      expect(context.reports.length).toBe(1)
      expect(context.reports[0]).toBeGreaterThan(0)
      expect(context.reports[0]).toBeLessThan(1)
    })
  }
})

describe('sha256-search', () => {
  async function digest(prefix: string, nonce: number): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${prefix}${nonce}`)))
  }
  const zeroBits = (bytes: Uint8Array): number => {
    let bits = 0
    for (const byte of bytes) {
      if (byte === 0) bits += 8
      else return bits + Math.clz32(byte) - 24
    }
    return bits
  }
  const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

  it('finds a nonce whose SHA-256 (WebCrypto, independently) has the leading zero bits asked for', async () => {
    const found = (await run('sha256-search', { prefix: 'noodlenet:', bits: 16 })) as { found: true; nonce: number; hash: string }
    expect(found.found).toBe(true)
    const check = await digest('noodlenet:', found.nonce)
    expect(found.hash).toBe(hex(check))
    expect(zeroBits(check)).toBeGreaterThanOrEqual(16)
  })

  it('returns the first such nonce from start on', async () => {
    const found = (await run('sha256-search', { prefix: 'first', bits: 6, start: 1_000 })) as { nonce: number }
    expect(found.nonce).toBeGreaterThanOrEqual(1_000)
    for (let nonce = 1_000; nonce < found.nonce; nonce++) expect(zeroBits(await digest('first', nonce)), `nonce ${nonce}`).toBeLessThan(6)
  })

  it('reports found: false when the range holds none, having reported progress up to 1', async () => {
    const reports: number[] = []
    const result = await run(
      'sha256-search',
      { prefix: 'x', bits: 32, start: 0, count: 3_000 },
      { signal: new AbortController().signal, progress: (f) => reports.push(f) },
    )
    expect(result).toEqual({ found: false })
    expect(reports.at(-1)).toBe(1)
    expect(reports).toEqual([...reports].sort((a, b) => a - b))
  })

  it('hashes a byte prefix as bytes and a text prefix as UTF-8', async () => {
    const text = await run('sha256-search', { prefix: 'é', bits: 4 })
    const bytes = await run('sha256-search', { prefix: new TextEncoder().encode('é'), bits: 4 })
    expect(bytes).toEqual(text)
  })
})
