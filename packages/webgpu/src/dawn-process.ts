// A Dawn (`webgpu` package) device in a child process (dawn-host.ts), for Node. Dawn in-process crashed here under
// one usage pattern (docs/decisions/0007): a native crash must end a child, never the node. A crash, or the device
// being lost, fails the runs in flight and every later run with GPU_DEVICE_LOST; start a new DawnProcess.

import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type KernelContext, NoodleError, type NoodleErrorCode } from '@noodlenet/shared'
import { type HostMessage, type ParentMessage, packNumbers, unpackNumbers } from './dawn-protocol.js'
import type { AdapterSummary } from './runner.js'

const HOST = fileURLToPath(new URL('./dawn-host.mjs', import.meta.url))
/** Where Debian's chromium keeps its Vulkan loader and SwiftShader driver (a CPU Vulkan that Dawn accepts; Mesa's
 *  lavapipe it rejects). */
const CHROMIUM_LIB = '/usr/lib/chromium'
/** Lines of the child's stderr kept for the error when it dies. */
const STDERR_LINES = 20

/** Which Vulkan driver the child uses. `system`: whatever the machine has (a real GPU); `swiftshader`: Chromium's
 *  SwiftShader (a CPU emulation: for tests and correctness, never for speed); `any`: system, else SwiftShader. */
export type DawnAdapterChoice = 'system' | 'swiftshader' | 'any'

export interface DawnProcessOptions {
  adapter?: DawnAdapterChoice
  /** The folder with Chromium's libvulkan.so.1 and vk_swiftshader_icd.json (default /usr/lib/chromium). */
  swiftShaderDir?: string
}

export interface TimedOutput {
  output: unknown
  /** Time the run took inside the child, validation and transfers to and from the GPU included, IPC excluded. */
  ms: number
}

interface Pending {
  resolve(value: TimedOutput): void
  reject(err: unknown): void
}

export class DawnProcess {
  /** Starts the child and waits for its device. GPU_UNAVAILABLE when no adapter of the chosen kind exists. */
  static async start(options: DawnProcessOptions = {}): Promise<DawnProcess> {
    const choice = options.adapter ?? 'system'
    const swiftShader = swiftShaderEnvironment(options.swiftShaderDir ?? CHROMIUM_LIB)
    if (choice !== 'swiftshader') {
      try {
        return await DawnProcess.#spawn({})
      } catch (err) {
        if (choice === 'system' || swiftShader === undefined) throw err
      }
    }
    if (swiftShader === undefined) {
      throw new NoodleError(
        'GPU_UNAVAILABLE',
        `No SwiftShader Vulkan driver in ${options.swiftShaderDir ?? CHROMIUM_LIB}`,
        'Install Chromium (apt-get install -y chromium).',
      )
    }
    return DawnProcess.#spawn(swiftShader)
  }

  static async #spawn(env: Record<string, string>): Promise<DawnProcess> {
    const child = spawn(process.execPath, [HOST], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    })
    const stderr: string[] = []
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr.push(...chunk.split('\n').filter((line) => line !== ''))
      stderr.splice(0, Math.max(0, stderr.length - STDERR_LINES))
    })
    const first = await new Promise<HostMessage>((resolve, reject) => {
      child.once('message', resolve)
      child.once('error', reject)
      child.once('exit', (code, signal) => reject(exitError('GPU_UNAVAILABLE', 'before its device was ready', code, signal, stderr)))
    }).finally(() => child.removeAllListeners())
    if (first.type !== 'ready') {
      child.kill()
      throw new NoodleError(
        'GPU_UNAVAILABLE',
        `Dawn found no usable WebGPU adapter: ${first.type === 'unavailable' ? first.message : first.type}`,
        '',
      )
    }
    return new DawnProcess(child, first.adapter, first.kernels, stderr)
  }

  readonly adapter: AdapterSummary
  readonly kernels: readonly string[]
  readonly #child: ChildProcess
  readonly #pending = new Map<number, Pending>()
  readonly #stderr: string[]
  #nextId = 1
  #lost: NoodleError | undefined

  private constructor(child: ChildProcess, adapter: AdapterSummary, kernels: string[], stderr: string[]) {
    this.#child = child
    this.adapter = adapter
    this.kernels = kernels
    this.#stderr = stderr
    child.on('message', (message: HostMessage) => this.#receive(message))
    child.on('exit', (code, signal) => this.#fail(exitError('GPU_DEVICE_LOST', 'while running', code, signal, this.#stderr)))
    this.#idle()
  }

  get lost(): boolean {
    return this.#lost !== undefined
  }

  run(kernel: string, input: unknown, context?: Partial<KernelContext>): Promise<unknown> {
    return this.runTimed(kernel, input, context).then((result) => result.output)
  }

  /** Runs `kernel` on `input` in the child; its output and how long it took there. */
  runTimed(kernel: string, input: unknown, context: Partial<KernelContext> = {}): Promise<TimedOutput> {
    if (this.#lost !== undefined) return Promise.reject(this.#lost)
    const id = this.#nextId++
    const { signal } = context
    return new Promise<TimedOutput>((resolve, reject) => {
      const onAbort = (): void => {
        const reason: unknown = signal?.reason
        this.#send({ type: 'cancel', id, reason: reason instanceof Error ? reason.message : String(reason ?? 'aborted') })
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#pending.set(id, {
        resolve: (value) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(value)
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        },
      })
      this.#busy()
      const packed = packNumbers(input)
      this.#send({ type: 'run', id, kernel, input: packed.value, packed: packed.packed })
    })
  }

  /** Ends the child (it destroys its device first) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.#child
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    // Waiting for the exit is work in flight: keep the event loop alive for it.
    this.#busy()
    if (child.connected) child.disconnect()
    else child.kill()
    await exited
  }

  /** Ends the child at once (SIGKILL): for a device that hangs. Runs in flight fail with GPU_DEVICE_LOST. */
  kill(): void {
    this.#child.kill('SIGKILL')
  }

  #receive(message: HostMessage): void {
    if (message.type !== 'result' && message.type !== 'error') return
    const pending = this.#pending.get(message.id)
    if (pending === undefined) return
    this.#pending.delete(message.id)
    if (this.#pending.size === 0) this.#idle()
    if (message.type === 'result') pending.resolve({ output: unpackNumbers(message.output, message.packed), ms: message.ms })
    else {
      const err = new NoodleError(message.error.code as NoodleErrorCode, message.error.message, message.error.hint)
      if (err.code === 'GPU_DEVICE_LOST') this.#lost ??= err
      pending.reject(err)
    }
  }

  #send(message: ParentMessage): void {
    if (this.#child.connected) this.#child.send(message)
  }

  #fail(err: NoodleError): void {
    this.#lost ??= err
    for (const pending of this.#pending.values()) pending.reject(this.#lost)
    this.#pending.clear()
  }

  /** An idle child does not keep the node's event loop alive; one with runs in flight does. */
  #idle(): void {
    this.#child.unref()
    this.#child.channel?.unref()
  }

  #busy(): void {
    this.#child.ref()
    this.#child.channel?.ref()
  }
}

/** The environment that points Dawn at Chromium's SwiftShader, or undefined when it is not installed. The loader
 *  path must be set before the process starts (the dynamic linker reads it once), hence a child process. */
export function swiftShaderEnvironment(dir: string): Record<string, string> | undefined {
  const icd = `${dir}/vk_swiftshader_icd.json`
  if (!existsSync(icd) || !existsSync(`${dir}/libvulkan.so.1`)) return undefined
  const libraryPath = [dir, process.env.LD_LIBRARY_PATH].filter((part) => part !== undefined && part !== '').join(':')
  return { VK_ICD_FILENAMES: icd, LD_LIBRARY_PATH: libraryPath }
}

function exitError(
  code: NoodleErrorCode,
  when: string,
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  stderr: string[],
): NoodleError {
  const how = signal !== null ? `was killed by ${signal}` : `exited with code ${exitCode}`
  const tail = stderr.length === 0 ? '' : ` (last output: ${stderr.slice(-3).join(' | ')})`
  return new NoodleError(code, `The Dawn WebGPU process ${how} ${when}${tail}`, 'Start a new DawnProcess; the CPU kernels still work.')
}
