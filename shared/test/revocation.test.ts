// Revocations: signed by the revoker, effective only for revokers in the token's chain, kept within a bound.

import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { issueToken, MemoryRevocationStore, RevocationList, signRevocation, verifyRevocation } from '../src/index.js'

describe('revocations', () => {
  it('a revocation verifies only with the revoker it names', async () => {
    const key = await generateKeyPair('Ed25519')
    const record = await signRevocation('cd'.repeat(32), key)
    expect(await verifyRevocation(record)).toBe(true)
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    expect(await verifyRevocation({ ...record, by: other })).toBe(false)
    expect(await verifyRevocation({ ...record, id: 'ef'.repeat(32) })).toBe(false)
  })

  it('a revocation by the issuer of a token above in the chain counts; one by an outsider does not', async () => {
    const rootKey = await generateKeyPair('Ed25519')
    const midKey = await generateKeyPair('Ed25519')
    const root = peerIdFromPrivateKey(rootKey).toString()
    const mid = peerIdFromPrivateKey(midKey).toString()
    const leafAudience = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const expires = Math.floor(Date.now() / 1000) + 600
    const proof = await issueToken({ key: rootKey, audience: mid, command: '/task', policy: { level: 'PUBLIC' }, expires })
    const leaf = await issueToken({
      key: midKey,
      audience: leafAudience,
      command: '/task/run',
      policy: { level: 'PUBLIC' },
      expires,
      proof,
    })
    const chain = [leaf, proof]

    const list = new RevocationList(new MemoryRevocationStore(), new Set([root]))
    await list.add(await signRevocation(leaf.id, await generateKeyPair('Ed25519')))
    expect(list.isRevoked(leaf.id, chain)).toBe(false)
    await list.add(await signRevocation(leaf.id, midKey))
    expect(list.isRevoked(leaf.id, chain)).toBe(true)
    // The leaf's holder cannot revoke the proof above it; the root can.
    await list.add(await signRevocation(proof.id, midKey))
    expect(list.isRevoked(proof.id, chain)).toBe(false)
    await list.add(await signRevocation(proof.id, rootKey))
    expect(list.isRevoked(proof.id, chain)).toBe(true)
  })

  it('the list is bounded: when full only trusted roots can add, and a repeat is not counted twice', async () => {
    const rootKey = await generateKeyPair('Ed25519')
    const root = peerIdFromPrivateKey(rootKey).toString()
    const store = new MemoryRevocationStore()
    const list = new RevocationList(store, new Set([root]), 2)
    const key = await generateKeyPair('Ed25519')
    const first = await signRevocation('01'.repeat(32), key)
    expect(await list.add(first)).toBe(true)
    expect(await list.add(first)).toBe(false)
    expect(await list.add(await signRevocation('02'.repeat(32), key))).toBe(true)
    await expect(list.add(await signRevocation('03'.repeat(32), key))).rejects.toMatchObject({ code: 'RATE_LIMITED' })
    expect(await list.add(await signRevocation('04'.repeat(32), rootKey))).toBe(true)
    expect(store.records).toHaveLength(3)
  })
})
