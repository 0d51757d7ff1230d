// Revocations kept in IndexedDB, so a reloaded page keeps refusing what was revoked. One record per (token id,
// revoker), stored as is: IndexedDB keeps the signature's Uint8Array without an encoding step.

import { type Revocation, RevocationSchema, type RevocationStore } from '@noodlenet/shared'
import * as v from 'valibot'
import { NoodleDatabase, REVOCATIONS_OBJECT_STORE, requestResult, transactionDone } from './idb-database.js'

export interface IndexedDbRevocationStoreOptions {
  /** IndexedDB database name; 'noodlenet' by default. */
  name?: string
}

export class IndexedDbRevocationStore implements RevocationStore {
  private readonly database: NoodleDatabase

  constructor(options: IndexedDbRevocationStoreOptions = {}) {
    this.database = new NoodleDatabase(options.name)
  }

  async load(): Promise<Revocation[]> {
    const db = await this.database.get()
    const values = await requestResult(db.transaction(REVOCATIONS_OBJECT_STORE, 'readonly').objectStore(REVOCATIONS_OBJECT_STORE).getAll())
    const records: Revocation[] = []
    for (const value of values) {
      // Not written by save (another version, a hand edit): skipped; a revocation that matters arrives again by
      // gossip or is re-sent.
      const parsed = v.safeParse(RevocationSchema, value)
      if (parsed.success) records.push(parsed.output)
    }
    return records
  }

  /** Keeps the record; saving the same (id, revoker) again replaces it, so a repeat changes nothing. */
  async save(record: Revocation): Promise<void> {
    const db = await this.database.get()
    const transaction = db.transaction(REVOCATIONS_OBJECT_STORE, 'readwrite')
    transaction.objectStore(REVOCATIONS_OBJECT_STORE).put(record, `${record.id} ${record.by}`)
    await transactionDone(transaction)
  }

  async close(): Promise<void> {
    await this.database.close()
  }
}
