// Persistent security state for browser peers: what a browser Platform returns from auditStore() and
// revocationStore(), both in one IndexedDB database.

export { IndexedDbAuditStore, type IndexedDbAuditStoreOptions } from './idb-audit-store.js'
export { DEFAULT_DATABASE_NAME } from './idb-database.js'
export { IndexedDbRevocationStore, type IndexedDbRevocationStoreOptions } from './idb-revocation-store.js'
