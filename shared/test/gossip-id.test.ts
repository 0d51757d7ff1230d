// Gossipsub's fast de-duplication key (net/libp2p.ts): two different (origin, sequence number) pairs never share a
// key, or a real message would be dropped as a copy of another; and whatever a peer puts in those fields, computing
// the key does not throw.

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fastMessageId } from '../src/net/libp2p.js'

describe('fastMessageId', () => {
  it('gives different pairs different keys', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 48 }),
        fc.uint8Array({ maxLength: 16 }),
        fc.uint8Array({ maxLength: 48 }),
        fc.uint8Array({ maxLength: 16 }),
        (fromA, seqA, fromB, seqB) => {
          const same = fromA.join() === fromB.join() && seqA.join() === seqB.join()
          expect(fastMessageId({ from: fromA, seqno: seqA }) === fastMessageId({ from: fromB, seqno: seqB })).toBe(same)
        },
      ),
      { numRuns: 2_000 },
    )
  })

  it('tells apart pairs that concatenate to the same bytes', () => {
    expect(fastMessageId({ from: Uint8Array.of(1, 2), seqno: Uint8Array.of(3) })).not.toBe(
      fastMessageId({ from: Uint8Array.of(1), seqno: Uint8Array.of(2, 3) }),
    )
  })

  it('copes with missing and oversized fields', () => {
    expect(fastMessageId({})).toBe('0:')
    expect(fastMessageId({ from: new Uint8Array(1_000_000) })).toHaveLength(1_000_000 + '1000000:'.length)
  })
})
