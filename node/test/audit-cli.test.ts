// The audit log on disk and `noodlenet audit verify`: a restarted peer continues the chain in the same file, a
// half-written last line is reported instead of chained over, and the CLI says valid (exit 0), where the chain
// breaks (exit 1), or that it cannot read the file (exit 2).

import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type AuditEntry, AuditLog, isNoodleError } from '@noodlenet/shared'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FileAuditStore, verifyAuditFile } from '../src/audit-file.js'
import { runCli } from './support/peer-process.js'

const PEER = '12D3KooWD9jk64NrpygXV6VXQYSnXeLPFhywDGgB5p7apEoK7sKC'

let dir: string
let fileCount = 0
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noodlenet-audit-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

function entry(i: number): AuditEntry {
  return {
    peer: PEER,
    command: '/task/run',
    kernel: 'matmul',
    level: 'INTERNAL',
    outcome: i % 3 === 0 ? 'deny' : 'allow',
    code: i % 3 === 0 ? 'POLICY_DENIED' : undefined,
    reason: i % 3 === 0 ? `denied by rule #${i}: it matches commands /task` : `allowed by rule 'lab-${i}'`,
    traceId: i.toString(16).padStart(32, '0'),
  }
}

function newPath(): string {
  return join(dir, `audit-${++fileCount}.jsonl`)
}

/** Writes `count` records to a new log file through a FileAuditStore, then closes it. */
async function writeLog(count: number, path = newPath()): Promise<string> {
  const log = new AuditLog(new FileAuditStore(path))
  for (let i = 0; i < count; i++) await log.append(entry(i))
  await log.close()
  return path
}

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').slice(0, -1)
}

describe('FileAuditStore', () => {
  it('creates the log readable only by its owner, one line per record', async () => {
    const path = await writeLog(3)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await lines(path)).toHaveLength(3)
    expect(await verifyAuditFile(path)).toEqual({ ok: true, count: 3 })
  })

  it('a restarted node continues the chain in the same file', async () => {
    const path = await writeLog(3)
    const log = new AuditLog(new FileAuditStore(path))
    const record = await log.append(entry(3))
    expect(record.seq).toBe(4)
    expect(record.prev).not.toBe('0'.repeat(64))
    await log.append(entry(4))
    await log.close()
    expect((await lines(path)).map((line) => JSON.parse(line).seq)).toEqual([1, 2, 3, 4, 5])
    expect(await verifyAuditFile(path)).toEqual({ ok: true, count: 5 })
  })

  it('concurrent appends land in call order and stay chained', async () => {
    const path = newPath()
    const log = new AuditLog(new FileAuditStore(path))
    const records = await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(entry(i))))
    await log.close()
    expect(records.map((record) => record.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    expect(await verifyAuditFile(path)).toEqual({ ok: true, count: 100 })
  })

  it('a half-written last line (a crash mid-write) is reported on restart, not chained over', async () => {
    const path = await writeLog(2)
    await appendFile(path, '{"seq":3,"time":"2026-01-05T12:')
    const before = await readFile(path, 'utf8')
    const log = new AuditLog(new FileAuditStore(path))
    const failure = await log.append(entry(3)).catch((err: unknown) => err)
    expect(isNoodleError(failure, 'AUDIT_CORRUPT')).toBe(true)
    expect((failure as Error).message).toMatch(/incomplete \(no line end\)/)
    expect(await readFile(path, 'utf8')).toBe(before)
    await log.close()
    expect(await verifyAuditFile(path)).toMatchObject({ ok: false, line: 3, reason: expect.stringMatching(/incomplete/) })
  })

  it('verifies a log far larger than one read chunk, naming lines across chunk boundaries', async () => {
    const path = await writeLog(2_000)
    expect((await stat(path)).size).toBeGreaterThan(4 * 64 * 1024)
    expect(await verifyAuditFile(path)).toEqual({ ok: true, count: 2_000 })
    const all = await lines(path)
    // Record 1500 allowed a request; make it read as a refusal.
    expect(all[1_499]).toContain('"outcome":"allow"')
    all[1_499] = all[1_499].replace('"outcome":"allow"', '"outcome":"deny"')
    await writeFile(path, `${all.join('\n')}\n`)
    expect(await verifyAuditFile(path)).toMatchObject({ ok: false, line: 1_500 })
  })

  it('bytes that are not UTF-8 are tampering too', async () => {
    const path = await writeLog(2)
    const bytes = await readFile(path)
    bytes[bytes.indexOf('allowed')] = 0xff
    await writeFile(path, bytes)
    expect(await verifyAuditFile(path)).toEqual({ ok: false, line: 2, reason: 'the line is not valid UTF-8' })
  })
})

describe('noodlenet audit verify', () => {
  it('a valid log: {"valid":true,"records":N} and exit code 0', async () => {
    const path = await writeLog(5)
    const { code, stdout } = await runCli(['audit', 'verify', path])
    expect(stdout).toBe('{"valid":true,"records":5}\n')
    expect(code).toBe(0)
    const empty = newPath()
    await writeFile(empty, '')
    expect(await runCli(['audit', 'verify', empty])).toMatchObject({ code: 0, stdout: '{"valid":true,"records":0}\n' })
  })

  it('a tampered log: the first broken line and why, exit code 1', async () => {
    const path = await writeLog(5)
    const all = await lines(path)
    all.splice(2, 1) // remove record 3
    await writeFile(path, `${all.join('\n')}\n`)
    const { code, stdout } = await runCli(['audit', 'verify', path])
    expect(code).toBe(1)
    const result = JSON.parse(stdout) as Record<string, unknown>
    expect(result).toEqual({ valid: false, line: 3, reason: expect.stringMatching(/expected record 3 here but found record 4/) })
    expect(stdout.trim().split('\n')).toHaveLength(1)
  })

  it('a missing file: one line on stderr and exit code 2', async () => {
    const { code, stdout, stderr } = await runCli(['audit', 'verify', join(dir, 'no-such-log.jsonl')])
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toMatch(/^noodlenet audit verify: cannot read .*no-such-log\.jsonl: no such file/)
  })

  it('usage: --help prints it and exits 0; a missing or unknown argument is one line and exit code 2', async () => {
    for (const args of [
      ['audit', '--help'],
      ['audit', 'verify', '--help'],
    ]) {
      const { code, stdout } = await runCli(args)
      expect(code).toBe(0)
      expect(stdout).toMatch(/^Usage: noodlenet audit verify FILE/)
    }
    for (const args of [['audit'], ['audit', 'verify'], ['audit', 'check', 'x'], ['audit', 'verify', 'a', 'b']]) {
      const { code, stderr } = await runCli(args)
      expect(code).toBe(2)
      expect(stderr.trim().split('\n')).toHaveLength(1)
      expect(stderr).toMatch(/--help/)
    }
    expect((await runCli(['--help'])).stdout).toMatch(/audit {4}check an audit log/)
  })
})
