// libp2p nodes for the transport's tests: noise + yamux over the transport under test, and three protocols that
// exercise it (echo, a sink that answers with the SHA-256 of what it read, a source that sends N bytes).

import { createHash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Stream } from '@libp2p/interface'
import { createLibp2p, type Libp2p } from 'libp2p'

export const ECHO = '/test/echo/1.0.0'
export const SINK = '/test/sink/1.0.0'

// biome-ignore lint/suspicious/noExplicitAny: libp2p's transport factory signature
type TransportFactory = (components: any) => import('@libp2p/interface').Transport

export async function startNode(transport: TransportFactory, listen: string[]): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen },
    transports: [transport],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 1_000 },
    connectionMonitor: { enabled: false },
  })
  await node.handle(
    ECHO,
    async (stream) => {
      for await (const chunk of stream) {
        if (!stream.send(chunk)) await stream.onDrain()
      }
      await stream.close()
    },
    { maxInboundStreams: 1_000 },
  )
  await node.handle(SINK, async (stream) => {
    const hash = createHash('sha256')
    let bytes = 0
    for await (const chunk of stream) {
      hash.update(chunk.subarray())
      bytes += chunk.byteLength
    }
    stream.send(new TextEncoder().encode(JSON.stringify({ bytes, sha256: hash.digest('hex') })))
    await stream.close()
  })
  return node
}

/** Writes `data` in chunks, waiting whenever the stream says it is full. */
export async function sendAll(stream: Stream, data: Uint8Array, chunkBytes = 64 * 1024): Promise<void> {
  for (let offset = 0; offset < data.byteLength; offset += chunkBytes) {
    if (!stream.send(data.subarray(offset, offset + chunkBytes))) await stream.onDrain()
  }
}

/** Everything the remote sends until it closes its side. */
export async function readAll(stream: Stream): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of stream) chunks.push(chunk.subarray())
  return Buffer.concat(chunks)
}

/** Sends `data` through the sink protocol and returns what the sink says it read. */
export async function throughSink(stream: Stream, data: Uint8Array): Promise<{ bytes: number; sha256: string }> {
  await sendAll(stream, data)
  await stream.close()
  return JSON.parse(new TextDecoder().decode(await readAll(stream)))
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let offset = 0; offset < n; offset += 65_536) crypto.getRandomValues(out.subarray(offset, Math.min(n, offset + 65_536)))
  return out
}

export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
