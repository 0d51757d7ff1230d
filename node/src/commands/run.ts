// `noodlenet run`: submits a task (or a map of tasks) through a running peer's admin API, which acts as that peer,
// waits for it and prints the result as JSON. Failures print {"code","message"} on stderr and exit 1; usage errors
// exit 2.

import { readFile } from 'node:fs/promises'
import { PLACEMENTS } from '@noodlenet/shared'
import { parseCommandArgs, UsageError } from '../cli-args.js'
import { quote } from './token-input.js'

export const RUN_HELP = `Usage: noodlenet run KERNEL --input JSON|@FILE [options]
       noodlenet run KERNEL --inputs JSON|@FILE [options]
       noodlenet run --wasm FILE --input JSON|@FILE [options]

Submits a task through a running peer's admin API (the task acts as that peer: it runs
there without a token, and carries --token to others), waits for it and prints its
result as JSON on stdout. On failure it prints {"code":"...","message":"..."} on stderr
and exits 1. With --inputs (a JSON array) it runs one task per element and prints the
results as a JSON array in input order; a progress bar goes to stderr on a terminal.

Kernels: echo, delay, matmul, saxpy, mandelbrot, sha256-search (docs/KERNELS.md), or a custom
WebAssembly kernel (--wasm: registered with the peer, then sent to whichever peer runs it).
Bytes in inputs and results are written {"$bytes":"<base64>"}.

Options:
  --input JSON|@FILE     the task's input, e.g. '{"a":[[1,2]],"b":[[3],[4]]}'
  --wasm FILE            a custom kernel module (docs/KERNELS.md's ABI) to run instead of KERNEL
  --inputs JSON|@FILE    a JSON array of inputs: one task each (a map)
  --api URL              the peer's admin API (default http://127.0.0.1:7420)
  --token TOKEN|@FILE    capability token for /task/run on other peers
  --peer PEERID          run it on this peer only
  --requires WHAT        gpu, npu, cpu=N or memory=MB (repeatable)
  --priority N           0 (lowest) to 9 (default 5)
  --placement P          ${PLACEMENTS.join(', ')} (default fastest)
  --timeout SECONDS      how long the kernel may run on its peer
  --deadline SECONDS     fail the task if it has not finished by then
  --replicas N           run it on N distinct peers and accept the output a quorum of them agree on
  --quorum K             replicas that must agree (default: a majority of N); QUORUM_FAILED otherwise
  -h, --help             show this help

Exit codes: 0 when every task succeeded, 1 when one failed, 2 for usage errors.`

const OPTIONS = {
  input: { type: 'string' },
  wasm: { type: 'string' },
  inputs: { type: 'string' },
  api: { type: 'string' },
  token: { type: 'string' },
  peer: { type: 'string' },
  requires: { type: 'string', multiple: true },
  priority: { type: 'string' },
  placement: { type: 'string' },
  timeout: { type: 'string' },
  deadline: { type: 'string' },
  replicas: { type: 'string' },
  quorum: { type: 'string' },
} as const

/** Tasks a map keeps submitted and unfinished at once through the API. */
const MAP_WINDOW = 64

interface TaskView {
  id: string
  status: 'queued' | 'running' | 'done' | 'failed'
  peer?: string
  result?: unknown
  error?: { code: string; message: string }
}

/** A failure the CLI reports as {"code","message"} and exit 1. */
class TaskFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS, 'run', 1)
  if (values.help === true) {
    process.stdout.write(`${RUN_HELP}\n`)
    return 0
  }
  if ((positionals[0] === undefined) === (values.wasm === undefined)) {
    throw new UsageError('name the kernel to run (e.g. `noodlenet run echo --input \'"hi"\'`) or give --wasm FILE, not both')
  }
  if ((values.input === undefined) === (values.inputs === undefined)) throw new UsageError('give exactly one of --input and --inputs')
  const api = (values.api ?? 'http://127.0.0.1:7420').replace(/\/+$/, '')
  let kernel = positionals[0]
  if (values.wasm !== undefined) {
    let module: Buffer
    try {
      module = await readFile(values.wasm)
    } catch (err) {
      throw new UsageError(
        `--wasm ${quote(values.wasm)}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      )
    }
    try {
      kernel = ((await call(api, '/api/kernels', post({ wasm: module.toString('base64') }))) as { kernel: string }).kernel
    } catch (err) {
      if (!(err instanceof TaskFailure)) throw err
      process.stderr.write(`${JSON.stringify({ code: err.code, message: err.message })}\n`)
      return 1
    }
  }
  const declaration = {
    kernel,
    ...(values.peer === undefined ? {} : { peer: values.peer }),
    ...(values.requires === undefined ? {} : { requires: parseRequires(values.requires) }),
    ...(values.priority === undefined ? {} : { priority: parseNumber('--priority', values.priority) }),
    ...(values.placement === undefined ? {} : { placement: values.placement }),
    ...(values.deadline === undefined ? {} : { deadlineMs: Math.round(parseNumber('--deadline', values.deadline) * 1000) }),
    ...(values.timeout === undefined ? {} : { timeoutMs: Math.round(parseNumber('--timeout', values.timeout) * 1000) }),
    ...(values.token === undefined ? {} : { token: (await readArgument('--token', values.token)).trim() }),
    ...(values.replicas === undefined ? {} : { replicas: parseNumber('--replicas', values.replicas) }),
    ...(values.quorum === undefined ? {} : { quorum: parseNumber('--quorum', values.quorum) }),
  }
  try {
    if (values.input !== undefined) {
      const input = parseJson('--input', await readArgument('--input', values.input))
      const task = await waitFor(api, await submit(api, { ...declaration, input }))
      process.stdout.write(`${JSON.stringify(task.result)}\n`)
      return 0
    }
    const inputs = parseJson('--inputs', await readArgument('--inputs', values.inputs as string))
    if (!Array.isArray(inputs)) throw new UsageError('--inputs must be a JSON array (one task per element)')
    const results = await runMap(api, declaration, inputs)
    process.stdout.write(`${JSON.stringify(results)}\n`)
    return 0
  } catch (err) {
    if (!(err instanceof TaskFailure)) throw err
    process.stderr.write(`${JSON.stringify({ code: err.code, message: err.message })}\n`)
    return 1
  }
}

/** Runs one task per input, MAP_WINDOW at a time; the results in input order. Fails on the first failed task. */
async function runMap(api: string, declaration: Record<string, unknown>, inputs: unknown[]): Promise<unknown[]> {
  const results = new Array<unknown>(inputs.length)
  const bar = process.stderr.isTTY ? new ProgressBar(inputs.length) : undefined
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const index = next++
      const task = await waitFor(api, await submit(api, { ...declaration, input: inputs[index] }))
      results[index] = task.result
      bar?.tick()
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(MAP_WINDOW, inputs.length) }, worker))
  } finally {
    bar?.end()
  }
  return results
}

async function submit(api: string, body: Record<string, unknown>): Promise<string> {
  const answer = await call(api, '/api/tasks', post(body))
  return (answer as { id: string }).id
}

function post(body: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

/** Long-polls the task until it finishes; throws TaskFailure with the task's error when it failed. */
async function waitFor(api: string, id: string): Promise<TaskView> {
  for (;;) {
    const task = (await call(api, `/api/tasks/${encodeURIComponent(id)}?wait=30`)) as TaskView
    if (task.status === 'done') return task
    if (task.status === 'failed') throw new TaskFailure(task.error?.code ?? 'TASK_FAILED', task.error?.message ?? 'the task failed')
  }
}

async function call(api: string, path: string, init?: RequestInit): Promise<unknown> {
  let res: Response
  try {
    res = await fetch(`${api}${path}`, init)
  } catch {
    throw new TaskFailure('API_UNREACHABLE', `cannot reach the admin API at ${api}: is \`noodlenet start\` running there? (see --api)`)
  }
  const body = (await res.json().catch(() => undefined)) as { code?: string; message?: string } | undefined
  if (!res.ok) throw new TaskFailure(body?.code ?? `HTTP_${res.status}`, body?.message ?? `the admin API answered ${res.status}`)
  return body
}

function parseRequires(items: string[]): Record<string, unknown> {
  const requires: Record<string, unknown> = {}
  for (const item of items) {
    const [key, value] = item.split('=', 2)
    if (key === 'gpu' || key === 'npu') requires[key] = true
    else if (key === 'cpu' && value !== undefined) requires.cpu = parseNumber('--requires cpu=', value)
    else if (key === 'memory' && value !== undefined) requires.memoryMB = parseNumber('--requires memory=', value)
    else throw new UsageError(`--requires ${quote(item)}: must be gpu, npu, cpu=N or memory=MB`)
  }
  return requires
}

function parseNumber(flag: string, text: string): number {
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || value < 0)
    throw new UsageError(`${flag} ${quote(text)}: must be a non-negative number`)
  return value
}

function parseJson(flag: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new UsageError(`${flag}: not valid JSON (${(err as Error).message}); quote it for the shell, e.g. '{"a":1}', or use @FILE`)
  }
}

/** A value given inline, or @FILE to read it from FILE. */
async function readArgument(flag: string, value: string): Promise<string> {
  if (!value.startsWith('@')) return value
  try {
    return await readFile(value.slice(1), 'utf8')
  } catch (err) {
    throw new UsageError(`${flag} ${quote(value)}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
}

/** `[#####-----] 12/40` on one rewritten stderr line. */
class ProgressBar {
  private done = 0
  constructor(private readonly total: number) {
    this.draw()
  }

  tick(): void {
    this.done++
    this.draw()
  }

  end(): void {
    process.stderr.write('\n')
  }

  private draw(): void {
    const width = 30
    const filled = Math.round((this.done / Math.max(1, this.total)) * width)
    process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.done}/${this.total}`)
  }
}
