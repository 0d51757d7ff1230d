// The browser peer's identity, kept in IndexedDB so a tab that reloads (or a later visit) is the same peer. The
// key is libp2p's protobuf encoding of an Ed25519 private key, as on Node. Each open tab is its own peer: a tab
// holds an identity slot (0, 1, 2, …) with a Web Lock for as long as it lives, so two tabs never share a peer id
// (which would make them fight over one signalling address), and a reloaded tab gets its slot back. Two
// contexts creating the same slot at once: `add` lets only the first win and the other reads what it wrote.

import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { NoodleError } from '@noodlenet/shared'
import { IDENTITY_OBJECT_STORE, NoodleDatabase, requestResult, transactionDone } from './idb-database.js'

/** Identity slots a browser offers at once; a 65th tab shares slot 0's identity. */
const MAX_SLOTS = 64

function slotKey(slot: number): string {
  return slot === 0 ? 'self' : `self-${slot}`
}

async function readKey(db: IDBDatabase, slot: number): Promise<Uint8Array | undefined> {
  const transaction = db.transaction(IDENTITY_OBJECT_STORE, 'readonly')
  const bytes = await requestResult(transaction.objectStore(IDENTITY_OBJECT_STORE).get(slotKey(slot)))
  return bytes instanceof Uint8Array ? bytes : undefined
}

interface LockManagerLike {
  request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => Promise<void>): Promise<void>
}

/** Claims the lowest free identity slot of `database` for as long as this page lives (a Web Lock held until
 *  unload). Without Web Locks (old browsers, some workers) every context gets slot 0. */
export async function claimIdentitySlot(database: string): Promise<number> {
  const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks
  if (locks === undefined) return 0
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    const held = await new Promise<boolean>((resolve) => {
      void locks.request(`noodlenet-identity:${database}:${slot}`, { ifAvailable: true }, (lock) => {
        if (lock === null) {
          resolve(false)
          return Promise.resolve()
        }
        resolve(true)
        return new Promise<void>(() => {}) // held until the page goes away
      })
    })
    if (held) return slot
  }
  return 0
}

/** A peer key from IndexedDB: the one stored in `slot`, or a new Ed25519 key stored there on first use. */
export async function loadOrCreateIdentity(database = new NoodleDatabase(), slot = 0): Promise<PrivateKey> {
  const db = await database.get()
  const stored = await readKey(db, slot)
  if (stored !== undefined) return decode(stored)
  const key = await generateKeyPair('Ed25519')
  const transaction = db.transaction(IDENTITY_OBJECT_STORE, 'readwrite')
  transaction.objectStore(IDENTITY_OBJECT_STORE).add(privateKeyToProtobuf(key), slotKey(slot))
  try {
    await transactionDone(transaction)
    return key
  } catch {
    // Another context stored this slot's key first: use it.
    const winner = await readKey(db, slot)
    if (winner === undefined)
      throw new NoodleError(
        'KEY_INVALID',
        "cannot store this browser's identity in IndexedDB",
        'Check that the site may use storage (not a private window with storage blocked).',
      )
    return decode(winner)
  }
}

function decode(bytes: Uint8Array): PrivateKey {
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new NoodleError(
      'KEY_INVALID',
      `the identity stored in IndexedDB is not a libp2p key (${(err as Error).message})`,
      "Clear this site's storage to start as a new peer.",
    )
  }
}
