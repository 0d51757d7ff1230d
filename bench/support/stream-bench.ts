// The two protocols of the libp2p stream benchmarks (bench/webrtc*.ts) and the client half of each measurement: an
// echo for round trips and a sink that answers with the byte count for bulk. No Node APIs: the browser harness
// (bench/browser/harness.ts) runs the same code in Chromium.

import type { Connection, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

export const ECHO = '/noodlenet/bench/echo/1.0.0'
export const DISCARD = '/noodlenet/bench/discard/1.0.0'

/** Serves ECHO (every chunk back) and DISCARD (counts to the end, then answers the count as decimal text). */
export async function serveStreamBench(node: Libp2p): Promise<void> {
  await node.handle(ECHO, async (stream) => {
    for await (const chunk of stream) if (!stream.send(chunk)) await stream.onDrain()
  })
  await node.handle(DISCARD, async (stream) => {
    let bytes = 0
    for await (const chunk of stream) bytes += chunk.byteLength
    stream.send(new TextEncoder().encode(String(bytes)))
    await stream.close()
  })
}

/** One message out, the same bytes back (the echo may arrive in pieces). */
export async function roundTrip(stream: Stream, payload: Uint8Array): Promise<void> {
  let received = 0
  const done = new Promise<void>((resolve) => {
    const onMessage = (event: { data: { byteLength: number } }): void => {
      received += event.data.byteLength
      if (received >= payload.byteLength) {
        stream.removeEventListener('message', onMessage)
        resolve()
      }
    }
    stream.addEventListener('message', onMessage)
  })
  stream.send(payload)
  await done
}

/** MB/s (10^6 bytes) for `bytes` on a new DISCARD stream, sent in `chunkBytes` writes, from the first byte sent to
 *  the receiver's count coming back. */
export async function bulkTransfer(connection: Connection, bytes: number, chunkBytes: number): Promise<number> {
  const stream = await connection.newStream(DISCARD)
  const chunk = randomBytes(chunkBytes)
  const started = performance.now()
  for (let sent = 0; sent < bytes; sent += chunkBytes) if (!stream.send(chunk)) await stream.onDrain()
  await stream.close()
  let answer = ''
  for await (const piece of stream) answer += new TextDecoder().decode(piece.subarray())
  const seconds = (performance.now() - started) / 1000
  if (Number(answer) !== bytes) throw new Error(`bulk transfer: receiver counted ${answer} bytes, sent ${bytes}`)
  return bytes / 1e6 / seconds
}

/** `count` calls of `once`, one after the other, each timed: µs. */
export async function timeEach(count: number, once: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    await once()
    samples.push((performance.now() - started) * 1000)
  }
  return samples
}

/** getRandomValues fills at most 64 KiB per call. */
export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536))
  return bytes
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}
