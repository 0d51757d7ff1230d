// `pnpm bench` (bench/run.ts) loads a benchmark's module only to run it or to list it in --help, and runs each of
// several benchmarks in a Node process of its own with the runner's Node flags, so that no benchmark measures beside
// another one's modules and garbage.

import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const scratch: string[] = []

afterAll(async () => {
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })))
})

async function bench(nodeFlags: string[], args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...nodeFlags, '--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: REPO,
      timeout: 60_000,
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string }
    if (typeof failed.code !== 'number') throw err
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

describe('pnpm bench (bench/run.ts)', () => {
  it('lists every benchmark with its summary under --help, each module loaded under its own name', async () => {
    const { code, stdout } = await bench([], ['--help'])
    expect(code).toBe(0)
    for (const name of ['rpc-roundtrip', 'tasks', 'placement', 'routing', 'matmul', 'simulation']) {
      expect(stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'))
    }
  })

  it('says which names exist when none matches, and exits 2', async () => {
    const { code, stderr } = await bench([], ['no-such-benchmark'])
    expect(code).toBe(2)
    expect(stderr).toContain('No benchmark matches no-such-benchmark.')
    expect(stderr).toContain('Benchmarks (a name argument runs those whose name contains it):')
  })

  it('runs several benchmarks one after the other, each in a process of its own with the Node flags given', async () => {
    const profiles = await mkdtemp(join(tmpdir(), 'bench-runner-'))
    scratch.push(profiles)
    const { code, stdout } = await bench(
      ['--cpu-prof', `--cpu-prof-dir=${profiles}`],
      ['--quick', '--no-docs', '--exact', 'placement', 'routing'],
    )
    expect(code).toBe(0)
    expect(stdout.indexOf('placement: ')).toBeGreaterThanOrEqual(0)
    expect(stdout.indexOf('routing: ')).toBeGreaterThan(stdout.indexOf('placement: '))
    // One CPU profile per process: the runner's and one for each benchmark (their main threads, file names "….0.001").
    const mainThreads = (await readdir(profiles)).filter((file) => file.endsWith('.0.001.cpuprofile'))
    expect(mainThreads).toHaveLength(3)
  })
})
