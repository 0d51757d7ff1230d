// The browser peer's IndexedDB database: its schema (one version, one object store per kind of state) and the few
// promise helpers the stores need around the raw IndexedDB API. Every store opens the database through here, so
// whichever opens it first creates all object stores and none can see an older schema.

export const DEFAULT_DATABASE_NAME = 'noodlenet'

/** Object store of audit lines: the line's text, keyed by its record's seq (out-of-line keys). */
export const AUDIT_OBJECT_STORE = 'audit'
/** Object store of revocation records, keyed by `${id} ${by}`. */
export const REVOCATIONS_OBJECT_STORE = 'revocations'
/** Object store of this peer's identity: its private key (libp2p protobuf bytes) under the key `self`. */
export const IDENTITY_OBJECT_STORE = 'identity'

/** 2 added the identity store; upgrading creates whatever object store is missing. */
const SCHEMA_VERSION = 2

/** Resolves with a request's result once it succeeds. */
export function requestResult<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
}

/** Resolves once a transaction has committed: a write is kept only then, not when its request succeeds. */
export function transactionDone(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve()
    // A failed request's error reaches the transaction first, while transaction.error is still null (it is set
    // on the abort that follows): take the request's. The first call wins.
    transaction.onerror = (event) => reject((event.target as IDBRequest | null)?.error ?? transaction.error)
    transaction.onabort = () => reject(transaction.error ?? new DOMException('the IndexedDB transaction was aborted', 'AbortError'))
  })
}

/** One connection to the database, opened on first use. It closes itself when another context asks to upgrade or
 *  delete the database (a newer version in another tab, a test cleaning up), and reopens on the next use. */
export class NoodleDatabase {
  private connection: Promise<IDBDatabase> | undefined

  constructor(readonly name: string = DEFAULT_DATABASE_NAME) {}

  get(): Promise<IDBDatabase> {
    this.connection ??= this.open()
    return this.connection
  }

  async close(): Promise<void> {
    const connection = this.connection
    this.connection = undefined
    ;(await connection?.catch(() => undefined))?.close()
  }

  private open(): Promise<IDBDatabase> {
    const request = indexedDB.open(this.name, SCHEMA_VERSION)
    request.onupgradeneeded = () => {
      const db = request.result
      for (const store of [AUDIT_OBJECT_STORE, REVOCATIONS_OBJECT_STORE, IDENTITY_OBJECT_STORE]) {
        if (!db.objectStoreNames.contains(store)) db.createObjectStore(store)
      }
    }
    const opened = requestResult(request).then((db) => {
      db.onversionchange = () => {
        db.close()
        if (this.connection === opened) this.connection = undefined
      }
      return db
    })
    // A failed open is not cached: the next use tries again.
    opened.catch(() => {
      if (this.connection === opened) this.connection = undefined
    })
    return opened
  }
}
