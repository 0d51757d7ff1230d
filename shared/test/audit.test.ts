// The audit log as a specification: each decision is one JSON line naming the sha256 of the line before it and of
// its own content; appends are chained in call order even when concurrent; and any altered byte or field, any
// removed, swapped or inserted line is found, at the line where the chain first breaks.

import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  AUDIT_GENESIS,
  type AuditEntry,
  type AuditHead,
  AuditLog,
  type AuditStore,
  isNoodleError,
  LIMITS,
  MemoryAuditStore,
  type NoodleError,
  SECURITY_LEVELS,
  verifyAuditLines,
} from '../src/index.js'

const ALICE = '12D3KooWD9jk64NrpygXV6VXQYSnXeLPFhywDGgB5p7apEoK7sKC'
const BOB = '12D3KooWN9upN3sZnpfctXFfQKDBQb3ciY7w6yXxYdD7vPreQAbk'
const NOW = Date.UTC(2026, 0, 5, 12, 0)

const lineHash = (line: string): string => bytesToHex(sha256(new TextEncoder().encode(line)))

function entry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    peer: ALICE,
    command: '/task/run',
    level: 'INTERNAL',
    outcome: 'deny',
    code: 'POLICY_DENIED',
    reason: "denied by rule 'no-gpu-at-night': GPU tasks are not run between 22:00 and 06:00 UTC",
    traceId: '0123456789abcdef0123456789abcdef',
    ...overrides,
  }
}

async function buildLog(entries: readonly AuditEntry[]): Promise<{ lines: string[]; log: AuditLog; store: MemoryAuditStore }> {
  const store = new MemoryAuditStore()
  let tick = NOW
  const log = new AuditLog(store, { now: () => tick++ })
  for (const e of entries) await log.append(e)
  return { lines: store.lines(), log, store }
}

const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length })

const entryArb: fc.Arbitrary<AuditEntry> = fc.record({
  peer: fc.constantFrom(ALICE, BOB),
  command: fc.constantFrom('/task/run', '/kernel/list', '/admin/keys'),
  kernel: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
  level: fc.constantFrom(...SECURITY_LEVELS),
  outcome: fc.constantFrom('allow' as const, 'deny' as const),
  code: fc.option(fc.constantFrom('POLICY_DENIED', 'RATE_LIMITED', 'CAPABILITY_EXPIRED'), { nil: undefined }),
  reason: fc.string({ unit: 'binary', maxLength: 40 }),
  traceId: hex(32),
})

/** A log of 1 to 10 records. */
const logArb = fc.array(entryArb, { minLength: 1, maxLength: 10 })

describe('records', () => {
  it('each record is one JSON line, chained to the line before it, with a hash of its own content', async () => {
    const { lines } = await buildLog([
      entry(),
      entry({ outcome: 'allow', code: undefined, kernel: 'matmul', reason: 'allowed by rule #2' }),
    ])
    expect(lines).toHaveLength(2)
    const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(first).toEqual({
      seq: 1,
      time: new Date(NOW).toISOString(),
      peer: ALICE,
      command: '/task/run',
      level: 'INTERNAL',
      outcome: 'deny',
      code: 'POLICY_DENIED',
      reason: "denied by rule 'no-gpu-at-night': GPU tasks are not run between 22:00 and 06:00 UTC",
      traceId: '0123456789abcdef0123456789abcdef',
      prev: AUDIT_GENESIS,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    })
    expect(Object.keys(second)).toEqual([
      'seq',
      'time',
      'peer',
      'command',
      'kernel',
      'level',
      'outcome',
      'reason',
      'traceId',
      'prev',
      'hash',
    ])
    expect(second.seq).toBe(2)
    expect(second.prev).toBe(lineHash(lines[0]))
    // The hash covers the line up to, without, the hash field.
    const body = `${lines[1].slice(0, lines[1].indexOf(',"hash":'))}}`
    expect(second.hash).toBe(lineHash(body))
    expect(verifyAuditLines(lines)).toEqual({ ok: true, count: 2 })
  })

  it('append resolves with the record it wrote, and head is where the chain now ends', async () => {
    const store = new MemoryAuditStore()
    const log = new AuditLog(store, { now: () => NOW })
    expect(log.head).toBeUndefined()
    const record = await log.append(entry({ code: undefined }))
    expect(record).toEqual({ ...JSON.parse(store.lines()[0]) })
    expect(record).not.toHaveProperty('code')
    expect(log.head).toEqual({ seq: 1, lineHash: lineHash(store.lines()[0]) })
  })

  it('line breaks, quotes and any Unicode in a field stay inside one line', async () => {
    const { lines } = await buildLog([
      entry({ reason: 'a "quoted"\nsecond line\r\n\u2028\u2029\u0085 and \u0000 and 😀', command: '/x\n{"seq":99}' }),
    ])
    expect(lines[0]).not.toMatch(/[\n\r\u0085\u2028\u2029]/)
    expect(verifyAuditLines(lines)).toEqual({ ok: true, count: 1 })
    expect(JSON.parse(lines[0]).reason).toBe('a "quoted"\nsecond line\r\n\u2028\u2029\u0085 and \u0000 and 😀')
    // On Node the log hashes with node:crypto, elsewhere with @noble/hashes (lineHash): the same digest.
    expect(JSON.parse(lines[0]).hash).toBe(lineHash(lines[0].replace(/,"hash":"[0-9a-f]{64}"\}$/, '}')))
  })

  it('a field longer than the limit is clipped, so one request cannot grow the log without bound', async () => {
    const { lines } = await buildLog([entry({ reason: 'x'.repeat(50_000), command: `/${'😀'.repeat(5_000)}` })])
    const record = JSON.parse(lines[0]) as { reason: string; command: string }
    expect(record.reason).toHaveLength(LIMITS.auditFieldMaxChars)
    expect(record.reason.endsWith('…')).toBe(true)
    expect(record.command.length).toBeLessThanOrEqual(LIMITS.auditFieldMaxChars)
    expect(record.command).not.toMatch(/[\uD800-\uDBFF]…$/) // no half of a surrogate pair left behind
    expect(verifyAuditLines(lines)).toEqual({ ok: true, count: 1 })
  })
})

describe('tampering is found at the line where the chain breaks', () => {
  it('any altered byte of any line', async () => {
    await fc.assert(
      fc.asyncProperty(logArb, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), async (entries, lineIndex, position, byte) => {
        const { lines } = await buildLog(entries)
        const k = lineIndex % lines.length
        const bytes = new TextEncoder().encode(lines[k])
        const p = position % bytes.length
        fc.pre(bytes[p] !== byte)
        bytes[p] = byte
        const altered = new TextDecoder().decode(bytes)
        fc.pre(altered !== lines[k])
        const tampered = lines.with(k, altered)
        expect(verifyAuditLines(tampered)).toMatchObject({ ok: false, line: k + 1 })
      }),
    )
  })

  it('any altered field of any line, even when the line stays valid JSON in the same form', async () => {
    const alterations: Record<string, (value: unknown) => unknown> = {
      seq: (value) => (value as number) + 1,
      time: () => new Date(NOW - 3_600_000).toISOString(),
      peer: (value) => (value === ALICE ? BOB : ALICE),
      command: () => '/admin/keys/rotate',
      level: (value) => (value === 'PUBLIC' ? 'SECRET' : 'PUBLIC'),
      outcome: (value) => (value === 'allow' ? 'deny' : 'allow'),
      reason: (value) => `${value as string}.`,
      traceId: () => 'f'.repeat(32),
      prev: (value) => ((value as string).startsWith('0') ? `1${(value as string).slice(1)}` : `0${(value as string).slice(1)}`),
      hash: (value) => ((value as string).startsWith('0') ? `1${(value as string).slice(1)}` : `0${(value as string).slice(1)}`),
    }
    await fc.assert(
      fc.asyncProperty(logArb, fc.nat(), fc.constantFrom(...Object.keys(alterations)), async (entries, lineIndex, field) => {
        const { lines } = await buildLog(entries)
        const k = lineIndex % lines.length
        const record = JSON.parse(lines[k]) as Record<string, unknown>
        record[field] = alterations[field](record[field])
        const tampered = lines.with(k, JSON.stringify(record))
        expect(verifyAuditLines(tampered)).toMatchObject({ ok: false, line: k + 1 })
      }),
    )
  })

  it('a removed line, found at the line that took its place', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 2, maxLength: 10 }), fc.nat(), async (entries, lineIndex) => {
        const { lines } = await buildLog(entries)
        const k = lineIndex % (lines.length - 1) // every line but the last; see the next test for that one
        const tampered = lines.toSpliced(k, 1)
        expect(verifyAuditLines(tampered)).toMatchObject({ ok: false, line: k + 1 })
      }),
    )
  })

  it('lines removed from the end, found against a head kept elsewhere (without one the shorter chain is valid)', async () => {
    await fc.assert(
      fc.asyncProperty(logArb, fc.integer({ min: 1, max: 10 }), async (entries, drop) => {
        const { lines, log } = await buildLog(entries)
        const removed = Math.min(drop, lines.length)
        const tampered = lines.slice(0, lines.length - removed)
        expect(verifyAuditLines(tampered)).toEqual({ ok: true, count: tampered.length })
        const result = verifyAuditLines(tampered, { anchor: log.head })
        expect(result).toMatchObject({ ok: false, line: tampered.length + 1 })
        expect(!result.ok && result.reason).toMatch(/removed from its end/)
        expect(verifyAuditLines(lines, { anchor: log.head })).toEqual({ ok: true, count: lines.length })
      }),
    )
  })

  it('two swapped lines, found at the first of them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 2, maxLength: 10 }), fc.nat(), fc.nat(), async (entries, a, b) => {
        const { lines } = await buildLog(entries)
        const i = a % lines.length
        const j = b % lines.length
        fc.pre(i !== j)
        const tampered = lines.with(i, lines[j]).with(j, lines[i])
        expect(verifyAuditLines(tampered)).toMatchObject({ ok: false, line: Math.min(i, j) + 1 })
      }),
    )
  })

  it('an inserted line that does not fit its place (a copy, or a record chained to something else), found at it', async () => {
    await fc.assert(
      fc.asyncProperty(logArb, fc.nat(), fc.nat(), entryArb, async (entries, at, source, forgedEntry) => {
        const { lines } = await buildLog(entries)
        const k = at % (lines.length + 1)
        const j = source % lines.length
        // A copy of line j fits at k only when it lands right beside itself (then the second copy is flagged).
        fc.pre(j !== k && j !== k - 1)
        expect(verifyAuditLines(lines.toSpliced(k, 0, lines[j]))).toMatchObject({ ok: false, line: k + 1 })
        // A record whose own hash is right, written by someone who does not know what came before.
        const { lines: elsewhere } = await buildLog([entry(), entry(), forgedEntry])
        expect(verifyAuditLines(lines.toSpliced(k, 0, elsewhere[2]))).toMatchObject({ ok: false, line: k + 1 })
      }),
    )
  })

  it('a forged line chained correctly to the line before it, found at the next line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 2, maxLength: 10 }), fc.nat(), entryArb, async (entries, at, forgedEntry) => {
        const { lines } = await buildLog(entries)
        const k = at % lines.length // before an existing line: a forged append is a valid extension, see the next test
        const forger = new MemoryAuditStore()
        for (const line of lines.slice(0, k)) await forger.append(line)
        await new AuditLog(forger, { now: () => NOW }).append(forgedEntry)
        const forged = forger.lines()[k]
        const tampered = lines.toSpliced(k, 0, forged)
        expect(verifyAuditLines(tampered.slice(0, k + 1))).toEqual({ ok: true, count: k + 1 })
        expect(verifyAuditLines(tampered)).toMatchObject({ ok: false, line: k + 2 })
      }),
    )
  })

  it('a rewritten tail, found against a head kept elsewhere', async () => {
    const { lines, log } = await buildLog([entry(), entry(), entry()])
    const forger = new MemoryAuditStore()
    for (const line of lines.slice(0, 2)) await forger.append(line)
    await new AuditLog(forger).append(entry({ outcome: 'allow', code: undefined, reason: 'nothing to see' }))
    const rewritten = forger.lines()
    expect(verifyAuditLines(rewritten)).toEqual({ ok: true, count: 3 })
    expect(verifyAuditLines(rewritten, { anchor: log.head })).toMatchObject({
      ok: false,
      line: 3,
      reason: expect.stringMatching(/differs from the anchored head/),
    })
  })

  it('reasons say what was found, in words', () => {
    const good = ['{"seq":1}']
    expect(verifyAuditLines(['not json'])).toEqual({ ok: false, line: 1, reason: 'the line is not JSON' })
    expect(verifyAuditLines(good)).toMatchObject({ ok: false, line: 1, reason: 'field time is missing or malformed' })
    expect(verifyAuditLines([])).toEqual({ ok: true, count: 0 })
  })
})

describe('appending', () => {
  it('concurrent appends are written one at a time, in call order, and stay chained', async () => {
    const store = new MemoryAuditStore()
    const log = new AuditLog(store)
    const records = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(entry({ traceId: `trace-${i}` }))))
    expect(records.map((record) => record.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect(records.map((record) => record.traceId)).toEqual(Array.from({ length: 50 }, (_, i) => `trace-${i}`))
    expect(verifyAuditLines(store.lines())).toEqual({ ok: true, count: 50 })
  })

  it('concurrent appends to a slow store are still serialized', async () => {
    const lines: string[] = []
    let writing = 0
    let overlapped = false
    const slow: AuditStore = {
      open: async () => undefined,
      append: async (line) => {
        writing++
        overlapped ||= writing > 1
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 3))
        lines.push(line)
        writing--
      },
    }
    const log = new AuditLog(slow)
    await Promise.all(Array.from({ length: 20 }, () => log.append(entry())))
    expect(overlapped).toBe(false)
    expect(verifyAuditLines(lines)).toEqual({ ok: true, count: 20 })
  })

  it('a new log on the same store continues the chain (a restart)', async () => {
    const store = new MemoryAuditStore()
    await new AuditLog(store).append(entry())
    await new AuditLog(store).append(entry())
    const again = new AuditLog(store)
    expect((await again.append(entry())).seq).toBe(3)
    expect(verifyAuditLines(store.lines())).toEqual({ ok: true, count: 3 })
  })

  it('after a failed write the next record continues from what the store holds', async () => {
    const inner = new MemoryAuditStore()
    let failNext = false
    const flaky: AuditStore = {
      open: () => inner.open(),
      append: async (line) => {
        if (failNext) {
          failNext = false
          throw new Error('disk full')
        }
        await inner.append(line)
      },
    }
    const log = new AuditLog(flaky)
    await log.append(entry())
    failNext = true
    const failure = await log.append(entry()).catch((err: unknown) => err)
    expect(isNoodleError(failure, 'AUDIT_WRITE_FAILED')).toBe(true)
    expect((failure as NoodleError).message).toMatch(/disk full/)
    expect((await log.append(entry())).seq).toBe(2)
    expect(verifyAuditLines(inner.lines())).toEqual({ ok: true, count: 2 })
  })

  it('a store whose last line is not a whole record is reported, not chained over', async () => {
    const store = new MemoryAuditStore()
    await new AuditLog(store).append(entry())
    const whole = store.lines()[0]
    await store.append(whole.slice(0, whole.length / 2))
    const log = new AuditLog(store)
    const failure = await log.append(entry()).catch((err: unknown) => err)
    expect(isNoodleError(failure, 'AUDIT_CORRUPT')).toBe(true)
    expect(store.lines()).toHaveLength(2)
    // It keeps refusing: nothing is appended after a corrupt tail.
    expect(isNoodleError(await log.append(entry()).catch((err: unknown) => err), 'AUDIT_CORRUPT')).toBe(true)
  })

  it('a closed log refuses appends after finishing those already asked for', async () => {
    const store = new MemoryAuditStore()
    const log = new AuditLog(store)
    const pending = log.append(entry())
    await log.close()
    await expect(pending).resolves.toMatchObject({ seq: 1 })
    await expect(log.append(entry())).rejects.toThrow(/closed/)
  })
})

describe('MemoryAuditStore', () => {
  it('keeps the newest lines up to its capacity; what it keeps verifies as a partial chain', async () => {
    const store = new MemoryAuditStore(5)
    const log = new AuditLog(store)
    for (let i = 0; i < 12; i++) await log.append(entry({ traceId: `t${i}` }))
    const kept = store.lines()
    expect(kept).toHaveLength(5)
    expect(store.dropped).toBe(7)
    expect(kept.map((line) => JSON.parse(line).seq)).toEqual([8, 9, 10, 11, 12])
    expect(verifyAuditLines(kept, { partial: true })).toEqual({ ok: true, count: 5 })
    expect(verifyAuditLines(kept)).toMatchObject({ ok: false, line: 1 })
    // Tampering inside a partial chain is still found.
    expect(verifyAuditLines(kept.toSpliced(2, 1), { partial: true })).toMatchObject({ ok: false, line: 3 })
    expect((await new AuditLog(store).append(entry())).seq).toBe(13)
    expect(new MemoryAuditStore().capacity).toBe(LIMITS.auditMemoryRecords)
  })

  it('anchors check a partial chain too', async () => {
    const store = new MemoryAuditStore(3)
    const log = new AuditLog(store)
    for (let i = 0; i < 6; i++) await log.append(entry())
    const head: AuditHead = log.head!
    expect(verifyAuditLines(store.lines(), { partial: true, anchor: head })).toEqual({ ok: true, count: 3 })
    expect(verifyAuditLines(store.lines().slice(0, 2), { partial: true, anchor: head })).toMatchObject({ ok: false, line: 3 })
  })
})
