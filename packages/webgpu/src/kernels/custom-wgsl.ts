// `wgsl`: a compute shader the caller sends, run over storage buffers the caller supplies. Code that travels is
// INTERNAL and needs a token that names it (docs/SECURITY.md). The device compiles it (its first error becomes
// WGSL_INVALID); webgpu-utils' reflection says which buffers the entry point binds, so a shader that does not fit its
// buffers is refused with a sentence, not a validation error. A dispatch cannot be stopped once submitted: its time
// is bounded only by LIMITS.kernelWgslMaxWorkgroups and the GPU's own watchdog, whose reset is GPU_DEVICE_LOST.

import { type GpuKernel, type KernelContext, LIMITS, NoodleError, taskAborted, WGSL_KERNEL } from '@noodlenet/shared'
import * as v from 'valibot'
import { makeShaderDataDefinitions } from 'webgpu-utils'
import { GpuJob } from '../gpu-job.js'

/** The input: `buffers[i]` is bound at @group(0) @binding(i), `data` copied in (zeros after it, up to `size`). */
export interface WgslInput {
  code: string
  /** The @compute function to run (default `main`). */
  entryPoint?: string
  /** Workgroups to dispatch: [x], [x, y] or [x, y, z]. */
  workgroups: number[]
  buffers: Array<{ data?: ArrayBufferView; size?: number; output?: boolean }>
}
/** The bytes of the buffers marked `output`: one Uint8Array, or an array of them (in buffer order) for several. */
export type WgslOutput = Uint8Array | Uint8Array[]

interface WgslBuffer {
  data: Uint8Array | undefined
  /** Bytes, at least data's. */
  size: number
  output: boolean
}
export interface WgslOperands {
  code: string
  entryPoint: string
  workgroups: [number, number, number]
  buffers: WgslBuffer[]
}

/** Its name is the security layer's: a token grants it only by naming it. */
const KERNEL = WGSL_KERNEL
/** WebGPU's default maxComputeWorkgroupsPerDimension: what every device allows; `run` checks the device's own. */
const WORKGROUPS_PER_DIMENSION = 65_535
const SHAPE =
  `{code: string, entryPoint?: string, workgroups: [x, y?, z?], buffers: [{data?: bytes, size?: number, output?: boolean}, …]}: ` +
  `at most ${LIMITS.kernelWgslMaxCodeChars.toLocaleString('en')} characters of WGSL, ` +
  `1 to ${LIMITS.kernelWgslMaxBuffers} storage buffers of ${LIMITS.kernelWgslMaxBytes / (1024 * 1024)} MiB at most together, ` +
  `at least one marked output, and 1 to ${WORKGROUPS_PER_DIMENSION.toLocaleString('en')} workgroups per dimension ` +
  `(${LIMITS.kernelWgslMaxWorkgroups.toLocaleString('en')} in all)`
/** GPUShaderStage.COMPUTE, as a number: the global exists in browsers, not in Node's Dawn package. */
const STAGE_COMPUTE = 0x4

const count = (min: number, max: number, what: string) =>
  v.pipe(v.number(`must be ${what}`), v.integer(`must be ${what}`), v.minValue(min, `must be ${what}`), v.maxValue(max, `must be ${what}`))
const BufferSchema = v.object(
  {
    data: v.optional(
      v.custom<ArrayBufferView>((value) => ArrayBuffer.isView(value), 'must be bytes (a Uint8Array or another typed array)'),
    ),
    size: v.optional(count(1, LIMITS.kernelWgslMaxBytes, `a whole number of bytes from 1 to ${LIMITS.kernelWgslMaxBytes}`)),
    output: v.optional(v.boolean('must be true or false')),
  },
  'must be an object {data?, size?, output?}',
)
const WgslInputSchema = v.object(
  {
    code: v.pipe(
      v.string('must be the WGSL source, a string'),
      v.minLength(1, 'is empty'),
      v.maxLength(LIMITS.kernelWgslMaxCodeChars, `is longer than ${LIMITS.kernelWgslMaxCodeChars} characters`),
    ),
    entryPoint: v.optional(v.pipe(v.string('must be a string'), v.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be a WGSL function name'))),
    workgroups: v.pipe(
      v.array(count(1, WORKGROUPS_PER_DIMENSION, `a whole number from 1 to ${WORKGROUPS_PER_DIMENSION}`), 'must be an array [x, y?, z?]'),
      v.minLength(1, 'must be an array [x, y?, z?], not empty'),
      v.maxLength(3, 'must have at most 3 dimensions'),
    ),
    buffers: v.pipe(
      v.array(BufferSchema, 'must be an array of buffers'),
      v.minLength(1, 'is empty'),
      v.maxLength(LIMITS.kernelWgslMaxBuffers, `has more than ${LIMITS.kernelWgslMaxBuffers} buffers`),
    ),
  },
  'must be an object {code, entryPoint?, workgroups, buffers}',
)

export const wgslGpuKernel: GpuKernel<WgslOperands, WgslOutput> = {
  name: KERNEL,
  level: 'INTERNAL',
  summary: 'Runs a WGSL compute shader the caller sends over storage buffers it supplies, and returns the buffers marked output.',
  validate(input) {
    const parsed = parse(input)
    let total = 0
    const buffers = parsed.buffers.map((spec, i): WgslBuffer => {
      const data = spec.data === undefined ? undefined : new Uint8Array(spec.data.buffer, spec.data.byteOffset, spec.data.byteLength)
      if (data === undefined && spec.size === undefined) invalid(`buffers[${i}] has neither data nor size`)
      if (data !== undefined && data.byteLength === 0 && spec.size === undefined) invalid(`buffers[${i}].data is empty`)
      const size = spec.size ?? (data as Uint8Array).byteLength
      if (data !== undefined && data.byteLength > size)
        invalid(`buffers[${i}].data has ${data.byteLength} bytes, more than its size ${size}`)
      total += size
      return { data, size, output: spec.output === true }
    })
    if (total > LIMITS.kernelWgslMaxBytes) invalid(`the buffers hold ${total} bytes together, more than ${LIMITS.kernelWgslMaxBytes}`)
    if (!buffers.some((buffer) => buffer.output)) invalid('no buffer is marked output: nothing would come back')
    const [x, y = 1, z = 1] = parsed.workgroups
    if (x * y * z > LIMITS.kernelWgslMaxWorkgroups)
      invalid(`workgroups ${parsed.workgroups.join('×')} are ${x * y * z} in all, more than ${LIMITS.kernelWgslMaxWorkgroups}`)
    return { code: parsed.code, entryPoint: parsed.entryPoint ?? 'main', workgroups: [x, y, z], buffers }
  },
  async run(device, operands, context) {
    throwIfAborted(context)
    checkDeviceLimits(device, operands)
    const shader = await compiled(device, operands.code, operands.entryPoint)
    const bindings = shader.bindings ?? operands.buffers.map((_, binding) => ({ binding, name: `binding ${binding}`, minBytes: 0 }))
    for (const { binding, name, minBytes } of bindings) {
      const buffer = operands.buffers[binding]
      if (buffer === undefined) {
        const n = operands.buffers.length
        invalid(
          `the shader's ${name} is @binding(${binding}), but ${n === 1 ? 'there is 1 buffer (binding 0)' : `there are ${n} buffers (bindings 0 to ${n - 1})`}`,
        )
      }
      if (buffer.size < minBytes)
        invalid(`buffers[${binding}] has ${buffer.size} bytes, but the shader's ${name} needs at least ${minBytes}`)
    }
    // Compiling may have taken a while: a task cancelled meanwhile does not reach the device.
    throwIfAborted(context)
    const job = new GpuJob(device)
    try {
      const buffers = operands.buffers.map((buffer) =>
        buffer.data === undefined ? job.output(buffer.size) : job.storage(padded(buffer.data, buffer.size), COPY_SRC),
      )
      const outputs = operands.buffers.flatMap((buffer, i) => (buffer.output ? [i] : []))
      const bytes = await job.dispatchBindings(
        shader.pipeline,
        bindings.map(({ binding }) => ({ binding, buffer: buffers[binding] })),
        operands.workgroups,
        outputs.map((i) => buffers[i]),
      )
      context.progress(1)
      const out = bytes.map((data, k) => new Uint8Array(data, 0, operands.buffers[outputs[k]].size))
      return out.length === 1 ? out[0] : out
    } finally {
      job.destroy()
    }
  },
  estimateWork(input) {
    const workgroups = (input as Partial<WgslInput> | null)?.workgroups
    if (!Array.isArray(workgroups)) return 1
    return workgroups.reduce((product: number, n) => product * (typeof n === 'number' && n > 0 ? n : 1), 1)
  },
}

/** GPUBufferUsage.COPY_SRC: an input buffer may also be an output. */
const COPY_SRC = 0x0004

function parse(input: unknown): v.InferOutput<typeof WgslInputSchema> {
  const result = v.safeParse(WgslInputSchema, input, { abortEarly: true })
  if (result.success) return result.output
  const issue = result.issues[0]
  const path = v.getDotPath(issue)
  invalid(`${path ?? 'the input'} ${path !== null && issue.input === undefined ? 'is missing' : issue.message}`)
}

function invalid(problem: string): never {
  throw new NoodleError('TASK_INPUT_INVALID', `${KERNEL} input is invalid: ${problem}`, `It must be ${SHAPE}.`)
}

function throwIfAborted(context: KernelContext): void {
  if (context.signal.aborted) throw taskAborted(KERNEL, context.signal.reason)
}

/** What the device allows may be less than what validate checked against (the defaults every device meets). */
function checkDeviceLimits(device: GPUDevice, { buffers, workgroups }: WgslOperands): void {
  const limits = device.limits
  if (buffers.length > limits.maxStorageBuffersPerShaderStage)
    invalid(`there are ${buffers.length} buffers; this device binds at most ${limits.maxStorageBuffersPerShaderStage}`)
  const largest = Math.max(...buffers.map((buffer) => buffer.size))
  if (largest > limits.maxStorageBufferBindingSize)
    invalid(`a buffer has ${largest} bytes; this device binds at most ${limits.maxStorageBufferBindingSize} in one`)
  const most = limits.maxComputeWorkgroupsPerDimension
  if (workgroups.some((n) => n > most)) invalid(`workgroups ${workgroups.join('×')} exceed this device's ${most} per dimension`)
}

/** The data in a buffer-sized, 4-byte-aligned array (writeBuffer copies whole 4-byte words; the rest stays zero). */
function padded(data: Uint8Array, size: number): Uint32Array {
  const words = new Uint32Array(Math.ceil(size / 4))
  new Uint8Array(words.buffer).set(data)
  return words
}

/** A storage buffer the entry point uses: its binding, its name in the shader, and the fewest bytes it needs. */
interface ShaderBinding {
  binding: number
  name: string
  minBytes: number
}

interface CompiledShader {
  pipeline: GPUComputePipeline
  /** The bindings the entry point uses, from webgpu-utils' reflection; undefined when reflection could not read a
   *  shader the device compiled, and then every buffer is bound. */
  bindings: ShaderBinding[] | undefined
}

/** Compiled shaders per device, by entry point and text, most recently used last; gone with the device. */
const shaders = new WeakMap<GPUDevice, Map<string, Promise<CompiledShader>>>()

function compiled(device: GPUDevice, code: string, entryPoint: string): Promise<CompiledShader> {
  let cache = shaders.get(device)
  if (cache === undefined) {
    cache = new Map()
    shaders.set(device, cache)
  }
  const key = `${entryPoint}\n${code}`
  let shader = cache.get(key)
  if (shader !== undefined) {
    cache.delete(key)
  } else {
    shader = compile(device, code, entryPoint)
    // A shader that fails is not kept: its error is reported again, never from a stale rejection.
    shader.catch(() => cache.delete(key))
    if (cache.size >= LIMITS.kernelWgslCachedPipelines) cache.delete(cache.keys().next().value as string)
  }
  cache.set(key, shader)
  return shader
}

async function compile(device: GPUDevice, code: string, entryPoint: string): Promise<CompiledShader> {
  // The module's own scope: a shader that does not compile is the caller's error (WGSL_INVALID), not a validation
  // error of the run (the runner's scopes would make it GPU_FAILED).
  device.pushErrorScope('validation')
  const module = device.createShaderModule({ label: KERNEL, code })
  const messages = (await module.getCompilationInfo()).messages
  const scoped = await device.popErrorScope()
  const error = messages.find((message) => message.type === 'error')
  if (error !== undefined) {
    const where = error.lineNum > 0 ? `line ${error.lineNum}:${error.linePos}: ` : ''
    throw wgslInvalid(`the shader does not compile: ${where}${error.message}`)
  }
  if (scoped !== null) throw wgslInvalid(`the shader does not compile: ${scoped.message}`)
  const bindings = reflect(code, entryPoint)
  let pipeline: GPUComputePipeline
  try {
    pipeline = await device.createComputePipelineAsync({ label: KERNEL, layout: 'auto', compute: { module, entryPoint } })
  } catch (err) {
    throw wgslInvalid(`WebGPU refused its compute pipeline (entry point ${entryPoint}): ${(err as Error).message}`)
  }
  return { pipeline, bindings }
}

/** The storage buffers `entryPoint` uses, read with webgpu-utils; TASK_INPUT_INVALID for an entry point that is
 *  missing or not @compute, or a resource other than a storage buffer in group 0. */
function reflect(code: string, entryPoint: string): ShaderBinding[] | undefined {
  let definitions: ReturnType<typeof makeShaderDataDefinitions>
  try {
    definitions = makeShaderDataDefinitions(code)
  } catch {
    // webgpu-utils' parser is not the device's compiler: WGSL it cannot read still runs, every buffer bound.
    return undefined
  }
  const entry = definitions.entryPoints[entryPoint]
  if (entry === undefined || entry.stage !== STAGE_COMPUTE) {
    const computes = Object.entries(definitions.entryPoints).filter(([, point]) => point.stage === STAGE_COMPUTE)
    const known = computes.length === 0 ? 'it has none' : `it has ${computes.map(([name]) => name).join(', ')}`
    invalid(`the shader has no @compute function named ${entryPoint} (${known}); name it in entryPoint`)
  }
  return entry.resources.map(({ name, group, entry: layout }) => {
    const type = layout.buffer?.type
    if (group !== 0 || layout.buffer === undefined || (type !== 'storage' && type !== 'read-only-storage')) {
      const kind = layout.buffer !== undefined ? `a ${type ?? 'uniform'} buffer` : 'not a buffer'
      invalid(`the shader's ${name} is @group(${group}) @binding(${layout.binding}), ${kind}; only storage buffers at @group(0) are bound`)
    }
    return { binding: layout.binding, name, minBytes: layout.buffer.minBindingSize ?? 0 }
  })
}

function wgslInvalid(message: string): NoodleError {
  return new NoodleError('WGSL_INVALID', `${KERNEL}: ${message}`, 'Fix the shader and send it again; it ran nowhere.')
}
