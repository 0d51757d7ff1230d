// Persistent security state in a real browser: the audit log and the revocations a browser peer keeps in
// IndexedDB survive a page reload (a new store on the same database), the audit log stays bounded and verifiable,
// and a record changed behind the store's back is found.

import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  type AuditEntry,
  AuditLog,
  isNoodleError,
  LIMITS,
  parseAuditLine,
  RevocationList,
  signRevocation,
  verifyAuditLines,
} from '@noodlenet/shared'
import { afterEach, describe, expect, it } from 'vitest'
import { IndexedDbAuditStore, IndexedDbRevocationStore } from '../src/browser/stores.js'

const PEER = '12D3KooWD9jk64NrpygXV6VXQYSnXeLPFhywDGgB5p7apEoK7sKC'
const TOKEN_ID = 'ab'.repeat(32)

function entry(n: number): AuditEntry {
  return {
    peer: PEER,
    command: '/task/run',
    kernel: 'matmul',
    level: 'INTERNAL',
    outcome: n % 3 === 0 ? 'deny' : 'allow',
    code: n % 3 === 0 ? 'RATE_LIMITED' : undefined,
    reason: `decision ${n}`,
    traceId: n.toString(16).padStart(32, '0'),
  }
}

const databases: string[] = []

/** A database of its own per test, deleted after it. */
function databaseName(): string {
  const name = `noodlenet-test-${crypto.randomUUID()}`
  databases.push(name)
  return name
}

afterEach(async () => {
  for (const name of databases.splice(0)) {
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase(name)
      request.onsuccess = () => resolve()
      request.onerror = () => reject(request.error)
    })
  }
})

/** Writes straight into the database, behind the stores' back, as a script of the same origin could. */
async function writeRaw(name: string, storeName: string, key: IDBValidKey, value: unknown): Promise<void> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(name)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
  try {
    await new Promise<void>((resolve, reject) => {
      const transaction = db.transaction(storeName, 'readwrite')
      if (value === undefined) transaction.objectStore(storeName).delete(key)
      else transaction.objectStore(storeName).put(value, key)
      transaction.oncomplete = () => resolve()
      transaction.onabort = () => reject(transaction.error)
    })
  } finally {
    db.close()
  }
}

async function appendAll(log: AuditLog, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n++) await log.append(entry(n))
}

const seqs = (lines: readonly string[]) => lines.map((line) => JSON.parse(line).seq as number)

describe('IndexedDbAuditStore', () => {
  it('continues the chain after a page reload and keeps only the newest `capacity` lines, which verify', async () => {
    const name = databaseName()
    let tick = Date.UTC(2026, 0, 5, 12, 0)
    const now = () => tick++

    const first = new AuditLog(new IndexedDbAuditStore({ name, capacity: 8 }), { now })
    await appendAll(first, 1, 12)
    const headBeforeReload = first.head
    await first.close()

    // The reload: nothing survives but the database.
    const store = new IndexedDbAuditStore({ name, capacity: 8 })
    expect(await store.open()).toEqual(headBeforeReload)
    const second = new AuditLog(store, { now })
    const continued = await second.append(entry(13))
    expect(continued.seq).toBe(13)
    expect(continued.prev).toBe(headBeforeReload?.lineHash)
    await appendAll(second, 14, 17)

    const lines = await store.lines()
    expect(seqs(lines)).toEqual([10, 11, 12, 13, 14, 15, 16, 17])
    expect(verifyAuditLines(lines, { partial: true, anchor: second.head })).toEqual({ ok: true, count: 8 })
    // What was dropped is visible: the kept lines no longer start a chain.
    expect(verifyAuditLines(lines)).toMatchObject({ ok: false, line: 1 })
    await second.close()
  })

  it('keeps the whole chain, from its first record, while below capacity', async () => {
    const name = databaseName()
    const store = new IndexedDbAuditStore({ name })
    expect(store.capacity).toBe(LIMITS.auditIndexedDbRecords)
    expect(await store.open()).toBeUndefined()
    const log = new AuditLog(store)
    await appendAll(log, 1, 5)
    const lines = await store.lines()
    expect(lines.map((line) => typeof parseAuditLine(line))).toEqual(Array(5).fill('object'))
    expect(verifyAuditLines(lines, { anchor: log.head })).toEqual({ ok: true, count: 5 })
    await log.close()
  })

  it('finds a record altered or removed in the database, at its line', async () => {
    const name = databaseName()
    const store = new IndexedDbAuditStore({ name, capacity: 4 })
    const log = new AuditLog(store)
    await appendAll(log, 1, 7)
    const [, second, third] = await store.lines()
    expect(JSON.parse(third).seq).toBe(6)

    await writeRaw(name, 'audit', 6, third.replace('decision 6', 'decision 0'))
    expect(verifyAuditLines(await store.lines(), { partial: true })).toMatchObject({
      ok: false,
      line: 3,
      reason: expect.stringMatching(/altered/),
    })

    await writeRaw(name, 'audit', 6, third)
    await writeRaw(name, 'audit', 5, undefined)
    expect(verifyAuditLines(await store.lines(), { partial: true })).toMatchObject({
      ok: false,
      line: 2,
      reason: expect.stringMatching(/removed/),
    })

    await writeRaw(name, 'audit', 5, second)
    expect(verifyAuditLines(await store.lines(), { partial: true, anchor: log.head })).toEqual({ ok: true, count: 4 })
    await log.close()
  })

  it('refuses to chain over a last line that is not a whole record (AUDIT_CORRUPT)', async () => {
    const name = databaseName()
    const first = new AuditLog(new IndexedDbAuditStore({ name }))
    await appendAll(first, 1, 3)
    await first.close()
    await writeRaw(name, 'audit', 4, '{"seq":4,"time":"2026-01-')

    const store = new IndexedDbAuditStore({ name })
    await expect(store.open()).rejects.toSatisfy((err) => isNoodleError(err) && err.code === 'AUDIT_CORRUPT')
    const log = new AuditLog(store)
    await expect(log.append(entry(4))).rejects.toSatisfy((err) => isNoodleError(err) && err.code === 'AUDIT_CORRUPT')
    expect(await store.lines()).toHaveLength(4)
    await log.close()
  })

  it('does not let two writers on one database fork the chain', async () => {
    const name = databaseName()
    const tabA = new AuditLog(new IndexedDbAuditStore({ name }))
    const storeB = new IndexedDbAuditStore({ name })
    const tabB = new AuditLog(storeB)
    await tabA.append(entry(1))
    await tabB.append(entry(2)) // B opens after A's record and chains to it
    // A still believes record 1 is the end: its record 2 is refused, not written beside B's.
    await expect(tabA.append(entry(3))).rejects.toSatisfy(
      (err) => isNoodleError(err) && err.code === 'AUDIT_WRITE_FAILED' && /already in/.test(err.message),
    )
    expect((await tabA.append(entry(3))).seq).toBe(3) // A re-reads the end and continues
    expect(verifyAuditLines(await storeB.lines())).toEqual({ ok: true, count: 3 })
    await tabA.close()
    await tabB.close()
  })
})

describe('IndexedDbRevocationStore', () => {
  it('keeps revocations across a page reload, once per (token, revoker)', async () => {
    const name = databaseName()
    const key = await generateKeyPair('Ed25519')
    const record = await signRevocation(TOKEN_ID, key, 1_767_614_400)
    const revoker = record.by

    const store = new IndexedDbRevocationStore({ name })
    const list = new RevocationList(store, new Set([revoker]))
    await list.load()
    expect(await list.add(record)).toBe(true)
    await store.save(record) // a repeat changes nothing
    await writeRaw(name, 'revocations', 'junk', { v: 2, id: 'not a token id' })
    await store.close()

    // The reload.
    const reopened = new IndexedDbRevocationStore({ name })
    const loaded = await reopened.load()
    expect(loaded).toHaveLength(1)
    expect(loaded[0]).toEqual(record)
    expect(loaded[0].sig).toBeInstanceOf(Uint8Array)
    const listAfterReload = new RevocationList(reopened, new Set([revoker]))
    await listAfterReload.load()
    expect(listAfterReload.isRevoked(TOKEN_ID, [])).toBe(true)
    expect(await listAfterReload.add(record)).toBe(false)
    await reopened.close()
  })
})
