// A benchmark's server half in a process of its own (`node --import tsx <script> <args>`), started with this
// process's Node flags so that `node --cpu-prof --import tsx bench/run.ts` profiles both sides. The script prints
// one JSON ready line ({ peerId, addrs }) on stdout, may take command lines on stdin, and stops when stdin closes.

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface BenchProcess {
  peerId: string
  /** Its TCP address (not WebSockets), ending in /p2p/<peer id>. */
  tcpAddr: string
  /** Sends one command line to its stdin. */
  send(line: string): void
  stop(): Promise<void>
  /** Sends it `signal` (SIGKILL: no goodbye) and, for SIGKILL, waits for it to exit (SIGSTOP leaves it stopped). */
  kill(signal?: NodeJS.Signals): Promise<void>
}

export async function startBenchProcess(script: string, args: string[] = []): Promise<BenchProcess> {
  const nodeArgs = process.execArgv.some((arg) => arg.includes('tsx')) ? process.execArgv : ['--import', 'tsx', ...process.execArgv]
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, script, ...args], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const exited = once(child, 'exit')
  const lines = createInterface({ input: child.stdout! })
  const ready = await Promise.race([
    once(lines, 'line').then(([line]) => JSON.parse(line as string) as { peerId: string; addrs: string[] }),
    exited.then(([code]) => {
      throw new Error(`${script} exited with code ${code} before it was ready`)
    }),
  ])
  const tcpAddr = ready.addrs.find((a) => a.includes('/tcp/') && !a.includes('/ws'))
  if (tcpAddr === undefined) {
    child.kill('SIGKILL')
    throw new Error(`${script} has no TCP address: ${ready.addrs.join(', ')}`)
  }
  return {
    peerId: ready.peerId,
    tcpAddr,
    send(line) {
      child.stdin?.write(`${line}\n`)
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill(signal)
      if (signal === 'SIGKILL') await exited
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.stdin?.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}
