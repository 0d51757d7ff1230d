// What a small message costs on a libp2p TCP connection (noise + yamux, as every NoodleNet node runs them), with the
// three patches in patches/ (docs/decisions/0015-transport-patches.md): one socket write per message, where there
// were four (noise's 2-byte length and its ciphertext written apart, then a yamux window update of two more), and
// no RangeError thrown per received chunk. Large messages still arrive whole: the window updates that now wait for
// half the window are exercised by a transfer many windows long.

import net from 'node:net'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { LengthPrefixedDecoder, lpStream } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import { ECHO, randomBytes, sha256, startNode } from '../../packages/webrtc/test/support/nodes.js'

const MAX_MESSAGE = 8 * 1024 * 1024

let nodes: Libp2p[] = []
afterEach(async () => {
  await Promise.all(nodes.map((node) => node.stop()))
  nodes = []
})

/** Length-prefixed messages through the transport suite's echo (it sends back each chunk as it comes), from one node
 *  to another over a fresh TCP connection. */
async function echoPair(): Promise<(payload: Uint8Array) => Promise<Uint8Array>> {
  const [a, b] = await Promise.all([startNode(tcp(), ['/ip4/127.0.0.1/tcp/0']), startNode(tcp(), ['/ip4/127.0.0.1/tcp/0'])])
  nodes.push(a, b)
  const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, ECHO)
  const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE, maxBufferSize: MAX_MESSAGE + 16 })
  return async (payload) => {
    await lp.write(payload)
    return (await lp.read()).subarray()
  }
}

/** Socket writes (syscalls) made by this process while `work` runs: both nodes live here, so both directions count. */
async function countWrites(work: () => Promise<void>): Promise<number> {
  const socket = net.Socket.prototype as unknown as { _writeGeneric: (...args: unknown[]) => unknown }
  const original = socket._writeGeneric
  let writes = 0
  socket._writeGeneric = function (this: unknown, ...args: unknown[]) {
    writes++
    return original.apply(this, args)
  }
  try {
    await work()
  } finally {
    socket._writeGeneric = original
  }
  return writes
}

describe('a libp2p TCP connection (noise + yamux)', () => {
  it('sends a small message in one socket write, with no window update after it', async () => {
    const echo = await echoPair()
    const payload = randomBytes(100)
    for (let i = 0; i < 10; i++) await echo(payload)
    const roundTrips = 200
    const writes = await countWrites(async () => {
      for (let i = 0; i < roundTrips; i++) expect(sha256(await echo(payload))).toBe(sha256(payload))
    })
    // One write per message each way. Unpatched it was eight a round trip: length and ciphertext apart, for the
    // message and for a window update, both ways. A little slack for libp2p's own traffic (identify, pings).
    expect(writes).toBeGreaterThanOrEqual(2 * roundTrips)
    expect(writes).toBeLessThanOrEqual(2 * roundTrips + 4)
  })

  it('moves messages many yamux windows long, both ways, intact', async () => {
    const echo = await echoPair()
    // 256 KiB is yamux's initial window; each of these needs several window updates in each direction.
    for (const size of [300_000, 1_000_000, MAX_MESSAGE]) {
      const payload = randomBytes(size)
      const echoed = await echo(payload)
      expect(echoed.byteLength).toBe(size)
      expect(sha256(echoed)).toBe(sha256(payload))
    }
  })
})

describe('LengthPrefixedDecoder (noise reads its messages with it)', () => {
  it('reads the length once per complete message: no failing read (and thrown RangeError) of an empty buffer', () => {
    let reads = 0
    const decoder = new LengthPrefixedDecoder({
      lengthDecoder: Object.assign(
        (data: Uint8Array | { byteLength: number; getUint16(at: number): number }) => {
          reads++
          if (data.byteLength < 2) throw new RangeError('need more bytes')
          return data instanceof Uint8Array ? (data[0]! << 8) | data[1]! : data.getUint16(0)
        },
        { bytes: 2 },
      ),
      encodingLength: () => 2,
    })
    const messages = [...decoder.decode(Uint8Array.of(0, 3, 1, 2, 3))]
    expect(messages.map((message) => message.subarray())).toEqual([Uint8Array.of(1, 2, 3)])
    expect(reads).toBe(1)
    // A message split across chunks still comes out whole once its last byte arrives.
    expect([...decoder.decode(Uint8Array.of(0))]).toEqual([])
    expect([...decoder.decode(Uint8Array.of(2, 9))]).toEqual([])
    expect([...decoder.decode(Uint8Array.of(8))].map((message) => message.subarray())).toEqual([Uint8Array.of(9, 8)])
  })
})
