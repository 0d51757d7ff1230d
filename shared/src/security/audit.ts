// The audit log: one JSON line per security decision, hash-chained so that a changed, removed, inserted or
// reordered line is found by `verifyAuditLines` (and `noodlenet audit verify`). Each line names the sha256 of the
// line before it (`prev`) and the sha256 of its own content (`hash`). Where the lines are kept is an AuditStore's
// job: a bounded ring in memory here, a file on Node (node/src/audit-file.ts), IndexedDB in browsers
// (packages/noodlenet/src/browser/idb-audit-store.ts).

import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { NoodleError } from '../errors.js'
import { LIMITS } from '../limits.js'
import { SECURITY_LEVELS, type SecurityLevel } from './levels.js'

/** The `prev` of the first record. */
export const AUDIT_GENESIS = '0'.repeat(64)

/** What a caller records: one decision about one request. */
export interface AuditEntry {
  peer: string
  command: string
  kernel?: string
  level: SecurityLevel
  outcome: 'allow' | 'deny'
  /** The refusal's code (POLICY_DENIED, RATE_LIMITED, CAPABILITY_EXPIRED, ...). */
  code?: string
  reason: string
  traceId: string
}

/** A record as written. Keys appear in the line in this order; absent optional fields are left out. */
export interface AuditRecord extends AuditEntry {
  /** 1 for the first record of a log, then one more per record. */
  seq: number
  /** ISO 8601, UTC. */
  time: string
  /** sha256 (hex) of the previous line's text; AUDIT_GENESIS for the first record. */
  prev: string
  /** sha256 (hex) of this line's text up to, without, the hash field: `{"seq":…,"prev":"…"}`. */
  hash: string
}

/** Where a chain ends: its last record's seq and the sha256 (hex) of that line, which the next record's `prev`
 *  repeats. Kept somewhere the log's writer cannot change, it is the anchor that makes truncation detectable. */
export interface AuditHead {
  seq: number
  lineHash: string
}

/** Keeps the lines. A store is used by one AuditLog, which calls it one call at a time. */
export interface AuditStore {
  /** Where the stored chain ends, or undefined when it holds no record. Called before the first append and again
   *  after an append failed. Throws AUDIT_CORRUPT when the last line is not a whole record. */
  open(): Promise<AuditHead | undefined>
  /** Appends one line, given without its line end. */
  append(line: string): Promise<void>
  close?(): Promise<void>
}

export interface AuditLogOptions {
  /** Milliseconds since the epoch, for each record's time. */
  now?: () => number
}

const encoder = new TextEncoder()

/** Node's own sha256 where the core runs on Node: node:crypto's one-shot `hash`, reached through
 *  process.getBuiltinModule (Node 20.16 and later, which have `hash` too), 0.6 µs for a 450-character line where
 *  @noble/hashes takes 9.6 µs, twice per record on the executor's thread. Browsers have no synchronous native sha256
 *  and keep @noble/hashes; the digests are the same. */
const nativeHash = (
  (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:crypto') as
    | { hash?: (algorithm: 'sha256', text: string, encoding: 'hex') => string }
    | undefined
)?.hash

const sha256Hex: (text: string) => string =
  nativeHash !== undefined ? (text) => nativeHash('sha256', text, 'hex') : (text) => bytesToHex(sha256(encoder.encode(text)))

/** Characters JSON leaves raw that some tools take for a line end (NEL, LINE and PARAGRAPH SEPARATOR). */
const LINE_BREAKS = /[\u0085\u2028\u2029]/g
const HAS_LINE_BREAK = /[\u0085\u2028\u2029]/

/** The record without its hash, as the JSON text that is hashed: fixed key order, no spaces, nothing any tool
 *  could read as a line end. */
function recordBody(record: Omit<AuditRecord, 'hash'>): string {
  return canonicalJson({
    seq: record.seq,
    time: record.time,
    peer: record.peer,
    command: record.command,
    kernel: record.kernel,
    level: record.level,
    outcome: record.outcome,
    code: record.code,
    reason: record.reason,
    traceId: record.traceId,
    prev: record.prev,
  })
}

function canonicalJson(value: object): string {
  const json = JSON.stringify(value)
  // Tested first: a replace with a callback copies the whole line even when nothing matches (~0.8 KB a record).
  if (!HAS_LINE_BREAK.test(json)) return json
  return json.replace(LINE_BREAKS, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function lineOf(body: string, hash: string): string {
  return `${body.slice(0, -1)},"hash":"${hash}"}`
}

/** Clips a field that may come from a peer, so one record cannot grow the log without bound. */
function clip(text: string): string {
  const max = LIMITS.auditFieldMaxChars
  if (text.length <= max) return text
  // Do not cut a surrogate pair in half.
  const end = /[\uD800-\uDBFF]/.test(text[max - 2]) ? max - 2 : max - 1
  return `${text.slice(0, end)}…`
}

/** Appends records one at a time, in call order, each chained to the one before, also when called concurrently. */
export class AuditLog {
  private current: AuditHead | undefined
  private opened = false
  private closed = false
  private queue: Promise<unknown> = Promise.resolve()
  private readonly now: () => number

  constructor(
    private readonly store: AuditStore,
    options: AuditLogOptions = {},
  ) {
    this.now = options.now ?? Date.now
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    if (this.closed) return Promise.reject(new NoodleError('NOT_STARTED', 'the audit log is closed', 'Open a new AuditLog on the store.'))
    const written = this.queue.then(() => this.write(entry))
    this.queue = written.catch(() => undefined)
    return written
  }

  /** The chain's end after the last append, or undefined before one: an anchor for verifyAuditLines. */
  get head(): AuditHead | undefined {
    return this.current === undefined ? undefined : { ...this.current }
  }

  /** Waits for the appends already asked for, then closes the store. */
  async close(): Promise<void> {
    this.closed = true
    await this.queue
    await this.store.close?.()
  }

  private async write(entry: AuditEntry): Promise<AuditRecord> {
    if (!this.opened) {
      this.current = await this.store.open()
      this.opened = true
    }
    const unhashed: Omit<AuditRecord, 'hash'> = {
      seq: (this.current?.seq ?? 0) + 1,
      time: new Date(this.now()).toISOString(),
      peer: clip(entry.peer),
      command: clip(entry.command),
      kernel: entry.kernel === undefined ? undefined : clip(entry.kernel),
      level: entry.level,
      outcome: entry.outcome,
      code: entry.code === undefined ? undefined : clip(entry.code),
      reason: clip(entry.reason),
      traceId: clip(entry.traceId),
      prev: this.current?.lineHash ?? AUDIT_GENESIS,
    }
    const body = recordBody(unhashed)
    const hash = sha256Hex(body)
    const line = lineOf(body, hash)
    try {
      await this.store.append(line)
    } catch (err) {
      // Whether any of the line reached the store is unknown: read its end again before the next record.
      this.opened = false
      if (err instanceof NoodleError) throw err
      throw new NoodleError(
        'AUDIT_WRITE_FAILED',
        `cannot write the audit log: ${(err as Error)?.message ?? String(err)}`,
        'Check the disk and the file permissions; the next record starts from what the store holds.',
        { cause: err },
      )
    }
    this.current = { seq: unhashed.seq, lineHash: sha256Hex(line) }
    // Without the absent fields, as a line reads back (parseAuditLine). Built key by key: delete, or rest and spread,
    // would go through V8's slow generic paths (~5 µs a record).
    const record = { seq: unhashed.seq, time: unhashed.time, peer: unhashed.peer, command: unhashed.command } as AuditRecord
    if (unhashed.kernel !== undefined) record.kernel = unhashed.kernel
    record.level = unhashed.level
    record.outcome = unhashed.outcome
    if (unhashed.code !== undefined) record.code = unhashed.code
    record.reason = unhashed.reason
    record.traceId = unhashed.traceId
    record.prev = unhashed.prev
    record.hash = hash
    return record
  }
}

const HEX64 = /^[0-9a-f]{64}$/
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** Reads one line as a record, or says why it is not one this log wrote unchanged. */
export function parseAuditLine(text: string): AuditRecord | string {
  if (encoder.encode(text).length > LIMITS.auditLineMaxBytes) return `the line is longer than ${LIMITS.auditLineMaxBytes} bytes`
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return 'the line is not JSON'
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the line is not a JSON object'
  const r = value as Record<string, unknown>
  const isString = (key: string) => typeof r[key] === 'string'
  const bad = (key: string) => `field ${key} is missing or malformed`
  if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || r.seq < 1) return bad('seq')
  if (!isString('time') || !ISO_TIME.test(r.time as string)) return bad('time')
  for (const key of ['peer', 'command', 'reason', 'traceId']) if (!isString(key)) return bad(key)
  for (const key of ['kernel', 'code']) if (r[key] !== undefined && !isString(key)) return bad(key)
  if (!SECURITY_LEVELS.includes(r.level as SecurityLevel)) return bad('level')
  if (r.outcome !== 'allow' && r.outcome !== 'deny') return bad('outcome')
  for (const key of ['prev', 'hash']) if (!isString(key) || !HEX64.test(r[key] as string)) return bad(key)
  const record = r as unknown as AuditRecord
  const body = recordBody(record)
  if (lineOf(body, record.hash) !== text)
    return 'the line is not in the form the log writes: it was edited (spacing, key order, escapes or extra fields)'
  if (sha256Hex(body) !== record.hash) return 'its hash does not match its content: the record was altered'
  return record
}

/** The head a chain has when `line` is its last line; AUDIT_CORRUPT when the line is not a whole record. */
export function auditHeadOf(line: string, where = 'the audit log'): AuditHead {
  const record = parseAuditLine(line)
  if (typeof record === 'string') {
    throw new NoodleError(
      'AUDIT_CORRUPT',
      `the last line of ${where} is not a whole audit record (${record})`,
      'Run `noodlenet audit verify` on it; keep the file as evidence and start a new log, or remove a half-written last line.',
    )
  }
  return { seq: record.seq, lineHash: sha256Hex(line) }
}

export interface AuditVerifyOptions {
  /** The first line may continue an earlier chain (what a ring store still holds, a log rotated away): its seq
   *  and prev are taken as given instead of 1 and AUDIT_GENESIS. */
  partial?: boolean
  /** A head recorded earlier (AuditLog#head): the lines must hold that record, unchanged. Without an anchor,
   *  lines removed from the end of a log cannot be told from a log that ends there. */
  anchor?: AuditHead
}

/** `line` is 1-based: the first line at which the chain no longer holds. */
export type AuditVerifyFailure = { ok: false; line: number; reason: string }
export type AuditVerifyResult = { ok: true; count: number } | AuditVerifyFailure

/** Checks lines one at a time, so a file of any size can be verified as it streams past. */
export class AuditChainVerifier {
  private count = 0
  private last: AuditHead | undefined
  private anchorFound = false
  private failure: AuditVerifyFailure | undefined

  constructor(private readonly options: AuditVerifyOptions = {}) {}

  /** Checks the next line (without its line end); returns the failure once the chain is broken. */
  push(text: string): AuditVerifyFailure | undefined {
    if (this.failure !== undefined) return this.failure
    const line = this.count + 1
    const fail = (reason: string): AuditVerifyFailure => {
      this.failure = { ok: false, line, reason }
      return this.failure
    }
    const record = parseAuditLine(text)
    if (typeof record === 'string') return fail(record)
    const first = this.last === undefined
    if (!(first && this.options.partial === true)) {
      const seq = (this.last?.seq ?? 0) + 1
      const prev = this.last?.lineHash ?? AUDIT_GENESIS
      if (record.seq !== seq) {
        return fail(`expected record ${seq} here but found record ${record.seq}: records were removed, inserted or reordered`)
      }
      if (record.prev !== prev) {
        return fail(
          first
            ? 'the first record does not start a chain (its prev is not the genesis value)'
            : `its prev does not match line ${line - 1}: that line was altered, or this one was inserted or forged`,
        )
      }
    }
    const lineHash = sha256Hex(text)
    const anchor = this.options.anchor
    if (anchor !== undefined && record.seq === anchor.seq) {
      if (anchor.lineHash !== lineHash)
        return fail(`record ${anchor.seq} differs from the anchored head: the chain was rewritten from here on`)
      this.anchorFound = true
    }
    this.last = { seq: record.seq, lineHash }
    this.count = line
    return undefined
  }

  /** The verdict once every line has been pushed. */
  finish(): AuditVerifyResult {
    if (this.failure !== undefined) return this.failure
    const anchor = this.options.anchor
    if (anchor !== undefined && !this.anchorFound) {
      const reason =
        this.last === undefined || this.last.seq < anchor.seq
          ? `the log ends at record ${this.last?.seq ?? 0}, before the anchored record ${anchor.seq}: lines were removed from its end`
          : `the anchored record ${anchor.seq} is not among the lines`
      this.failure = { ok: false, line: this.count + 1, reason }
      return this.failure
    }
    return { ok: true, count: this.count }
  }
}

/** Verifies a whole log given as lines (without line ends). */
export function verifyAuditLines(lines: readonly string[], options: AuditVerifyOptions = {}): AuditVerifyResult {
  const verifier = new AuditChainVerifier(options)
  for (const line of lines) if (verifier.push(line) !== undefined) break
  return verifier.finish()
}

/** Keeps the newest `capacity` lines in memory, the default when a platform gives no store, and for tests. Once the
 *  ring has dropped lines, verify what it holds with `{ partial: true }`. */
export class MemoryAuditStore implements AuditStore {
  private readonly ring: string[] = []
  private next = 0
  private total = 0

  constructor(readonly capacity: number = LIMITS.auditMemoryRecords) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, not ${capacity}`)
  }

  async open(): Promise<AuditHead | undefined> {
    const last = this.ring.length === 0 ? undefined : this.ring[(this.next + this.capacity - 1) % this.capacity]
    return last === undefined ? undefined : auditHeadOf(last, 'the in-memory audit log')
  }

  async append(line: string): Promise<void> {
    if (this.ring.length < this.capacity) this.ring.push(line)
    else this.ring[this.next] = line
    this.next = (this.next + 1) % this.capacity
    this.total++
  }

  /** The lines kept, oldest first. */
  lines(): string[] {
    return this.ring.length < this.capacity ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)]
  }

  /** Lines dropped from the front to keep within capacity. */
  get dropped(): number {
    return this.total - this.ring.length
  }
}
