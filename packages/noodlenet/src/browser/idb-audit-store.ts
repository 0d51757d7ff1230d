// The browser peer's audit log, kept in IndexedDB so it outlives the tab: each line stored under its record's seq,
// the newest `capacity` kept. A reloaded page continues the chain from the last stored line; what is kept
// verifies with verifyAuditLines(lines, { partial: true }) once the oldest lines have been dropped.

import { type AuditHead, type AuditStore, auditHeadOf, LIMITS, NoodleError } from '@noodlenet/shared'
import { AUDIT_OBJECT_STORE, NoodleDatabase, requestResult, transactionDone } from './idb-database.js'

export interface IndexedDbAuditStoreOptions {
  /** IndexedDB database name; 'noodlenet' by default. Peers sharing an origin need one each. */
  name?: string
  /** Lines kept; the oldest are deleted beyond it. */
  capacity?: number
  /** Commit each line with durability 'strict' (flushed to disk, like FileAuditStore's `sync`) instead of the
   *  browser's default, which survives a crash of the browser but not of the machine. Costs a disk flush each. */
  sync?: boolean
}

export class IndexedDbAuditStore implements AuditStore {
  readonly capacity: number
  private readonly database: NoodleDatabase
  private readonly durability: IDBTransactionDurability

  constructor(options: IndexedDbAuditStoreOptions = {}) {
    this.capacity = options.capacity ?? LIMITS.auditIndexedDbRecords
    if (!Number.isSafeInteger(this.capacity) || this.capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, not ${this.capacity}`)
    }
    this.database = new NoodleDatabase(options.name)
    this.durability = options.sync === true ? 'strict' : 'default'
  }

  private get where(): string {
    return `the IndexedDB audit log '${this.database.name}'`
  }

  async open(): Promise<AuditHead | undefined> {
    const db = await this.database.get()
    const cursor = await requestResult(
      db.transaction(AUDIT_OBJECT_STORE, 'readonly').objectStore(AUDIT_OBJECT_STORE).openCursor(null, 'prev'),
    )
    if (cursor === null) return undefined
    const head = auditHeadOf(lineText(cursor.value), this.where)
    // The next line is added under head.seq + 1; a last line stored under another key would make every add fail
    // or leave a gap, so it is as corrupt as a line that does not parse.
    if (cursor.key !== head.seq) {
      throw new NoodleError(
        'AUDIT_CORRUPT',
        `the last line of ${this.where} is record ${head.seq} but is stored under key ${String(cursor.key)}`,
        'Keep the database as evidence (its lines() verify with { partial: true }) and give the peer a new database name.',
      )
    }
    return head
  }

  async append(line: string): Promise<void> {
    const seq = seqOf(line)
    const db = await this.database.get()
    const transaction = db.transaction(AUDIT_OBJECT_STORE, 'readwrite', { durability: this.durability })
    const store = transaction.objectStore(AUDIT_OBJECT_STORE)
    // add, never put: a line is not overwritten, so two writers on one database cannot fork the chain; the second
    // to write a seq fails, and its AuditLog continues from what the store holds.
    store.add(line, seq)
    // Seqs of one chain are consecutive, so this keeps the newest `capacity` in one ranged delete.
    if (seq > this.capacity) store.delete(IDBKeyRange.upperBound(seq - this.capacity))
    try {
      await transactionDone(transaction)
    } catch (err) {
      throw writeError(err, seq, this.where)
    }
  }

  /** The lines kept, oldest first (all at once: at most `capacity` lines in memory). */
  async lines(): Promise<string[]> {
    const db = await this.database.get()
    const values = await requestResult(db.transaction(AUDIT_OBJECT_STORE, 'readonly').objectStore(AUDIT_OBJECT_STORE).getAll())
    return values.map(lineText)
  }

  async close(): Promise<void> {
    await this.database.close()
  }
}

/** The record's seq, which is the line's key. Lines come from AuditLog, so a line without one is a caller's bug. */
function seqOf(line: string): number {
  const seq = (JSON.parse(line) as { seq?: unknown }).seq
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) throw new TypeError('not an audit line: it has no valid seq')
  return seq
}

/** A stored value as text for verification: only strings are written, anything else was put there by someone else. */
function lineText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))
}

function writeError(err: unknown, seq: number, where: string): NoodleError {
  const name = (err as DOMException | null)?.name
  const message = (err as Error | null)?.message ?? String(err)
  if (name === 'ConstraintError') {
    return new NoodleError(
      'AUDIT_WRITE_FAILED',
      `record ${seq} is already in ${where}: another writer (another tab of this origin?) appends to the same database`,
      'Give each peer of an origin its own database name; the next append continues from what the database holds.',
      { cause: err },
    )
  }
  if (name === 'QuotaExceededError') {
    return new NoodleError(
      'AUDIT_WRITE_FAILED',
      `cannot write ${where}: the origin's storage quota is used up (${message})`,
      'Free storage for this site or lower the audit store capacity.',
      { cause: err },
    )
  }
  return new NoodleError(
    'AUDIT_WRITE_FAILED',
    `cannot write ${where}: ${message}`,
    'The next append starts from what the database holds.',
    {
      cause: err,
    },
  )
}
