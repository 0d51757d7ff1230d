// One suite that every transport NoodleNet uses must pass (TCP, WebSockets, signalled WebRTC), run through a real
// libp2p node with noise and yamux on top: dial and listen, streams in both directions, many concurrent streams,
// backpressure from a reader that stops, large transfers, and close, abort and stop as the other side sees them.
// transport-compliance.test.ts runs it for each transport.

import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import { afterEach, describe, expect, it as test } from 'vitest'
import { ECHO, eventually, randomBytes, readAll, SINK, sendAll, sha256, throughSink } from './support/nodes.js'

export interface TransportUnderTest {
  name: string
  /** A started node that listens on this transport (support/nodes.ts `startNode`: echo and sink protocols). */
  start(): Promise<Libp2p>
  /** The address another node dials to reach `node` over this transport. */
  dialAddress(node: Libp2p): Multiaddr
  /** Tests this transport is known to fail, by name, with the reason: they are skipped and listed as such. Each
   *  entry is a bug to report upstream, not a behaviour to accept. */
  knownIssues?: Record<string, string>
}

const RECORD = '/test/record/1.0.0'

export function transportComplianceSuite(subject: TransportUnderTest): void {
  describe(`transport compliance: ${subject.name}`, () => {
    const running: Libp2p[] = []
    const start = async (): Promise<Libp2p> => {
      const node = await subject.start()
      running.push(node)
      return node
    }
    afterEach(async () => {
      await Promise.all(running.splice(0).map((node) => node.stop()))
    })
    const it = (name: string, fn: () => Promise<void>): void => {
      const issue = subject.knownIssues?.[name]
      if (issue === undefined) test(name, fn)
      else test.skip(`${name} [known issue: ${issue}]`, fn)
    }

    it('dials a listening node, proves its peer id, and opens streams in both directions', async () => {
      const [a, b] = [await start(), await start()]
      const connection = await a.dial(subject.dialAddress(b))
      expect(connection.remotePeer.equals(b.peerId)).toBe(true)
      expect(connection.encryption).toBe('/noise')
      const stream = await connection.newStream(ECHO)
      stream.send(new TextEncoder().encode('hello'))
      await stream.close()
      expect(new TextDecoder().decode(await readAll(stream))).toBe('hello')

      await eventually(() => b.getConnections(a.peerId).length === 1, 5_000, 'the inbound connection')
      const back = await b.getConnections(a.peerId)[0].newStream(ECHO)
      back.send(new TextEncoder().encode('back'))
      await back.close()
      expect(new TextDecoder().decode(await readAll(back))).toBe('back')
    })

    it('carries 64 concurrent streams, each echoing 64 KiB intact', async () => {
      const [a, b] = [await start(), await start()]
      const connection = await a.dial(subject.dialAddress(b))
      // Until b's side of the connection is set up, yamux refuses more than 10 streams (maxEarlyStreams) and aborts
      // the connection: a real race for any protocol that opens many streams right after a dial.
      await eventually(() => b.getConnections(a.peerId).length === 1, 5_000, 'the inbound connection')
      const intact = await Promise.all(
        Array.from({ length: 64 }, async () => {
          const payload = randomBytes(64 * 1024)
          const stream = await connection.newStream(ECHO)
          const [, echoed] = await Promise.all([sendAll(stream, payload).then(() => stream.close()), readAll(stream)])
          return sha256(echoed) === sha256(payload)
        }),
      )
      expect(intact.every(Boolean)).toBe(true)
    })

    it('moves 16 MiB each way on one stream intact', async () => {
      const [a, b] = [await start(), await start()]
      const payload = randomBytes(16 * 1024 * 1024)
      const connection = await a.dial(subject.dialAddress(b))
      expect(await throughSink(await connection.newStream(SINK), payload)).toEqual({ bytes: payload.byteLength, sha256: sha256(payload) })
      await eventually(() => b.getConnections(a.peerId).length === 1, 5_000, 'the inbound connection')
      const back = await b.getConnections(a.peerId)[0].newStream(SINK)
      expect(await throughSink(back, payload)).toEqual({ bytes: payload.byteLength, sha256: sha256(payload) })
    })

    it('makes a writer wait while the reader does not read, and loses nothing when it resumes', async () => {
      const [a, b] = [await start(), await start()]
      let resume!: () => void
      const resumed = new Promise<void>((resolve) => {
        resume = resolve
      })
      const received: Promise<Uint8Array>[] = []
      await b.handle(RECORD, async (stream) => {
        stream.pause()
        await resumed
        stream.resume()
        received.push(readAll(stream))
      })
      const connection = await a.dial(subject.dialAddress(b))
      const stream = await connection.newStream(RECORD)
      const payload = randomBytes(8 * 1024 * 1024)
      let accepted = 0
      let full = false
      for (; accepted < payload.byteLength && !full; accepted += 64 * 1024)
        full = !stream.send(payload.subarray(accepted, accepted + 64 * 1024))
      // Far less than the payload is accepted before the stream says it is full.
      expect(full).toBe(true)
      expect(accepted).toBeLessThan(4 * 1024 * 1024)
      resume()
      await stream.onDrain()
      await sendAll(stream, payload.subarray(accepted))
      await stream.close()
      await eventually(() => received.length === 1, 5_000, 'the reader to start')
      expect(sha256(await received[0])).toBe(sha256(payload))
    })

    it('delivers everything written before a connection close, and the other side closes too', async () => {
      const [a, b] = [await start(), await start()]
      const received: Promise<Uint8Array>[] = []
      await b.handle(RECORD, (stream) => {
        received.push(readAll(stream))
      })
      const connection = await a.dial(subject.dialAddress(b))
      const payload = randomBytes(4 * 1024 * 1024)
      const stream = await connection.newStream(RECORD)
      await sendAll(stream, payload)
      await stream.close()
      // At once: what is still in flight must arrive all the same. libp2p gives a graceful close 1 s by default, less
      // than flushing 4 MiB over WebRTC takes on a loaded CI machine (the close then failed with a TimeoutError).
      await connection.close({ signal: AbortSignal.timeout(30_000) })
      expect(connection.status).toBe('closed')
      await eventually(() => received.length === 1, 5_000, 'the stream to reach b')
      expect(sha256(await received[0])).toBe(sha256(payload))
      await eventually(() => b.getConnections(a.peerId).length === 0, 5_000, 'the remote to drop the connection')
    })

    it('an abort ends the connection and its streams on the other side', async () => {
      const [a, b] = [await start(), await start()]
      const reads: Promise<string>[] = []
      await b.handle(RECORD, (stream) => {
        reads.push(
          readAll(stream).then(
            () => 'ended',
            () => 'failed',
          ),
        )
      })
      const connection = await a.dial(subject.dialAddress(b))
      const stream = await connection.newStream(RECORD)
      stream.send(new Uint8Array(10))
      await eventually(() => reads.length === 1, 5_000, 'the stream to reach b')
      const remote = b.getConnections(a.peerId)[0]
      connection.abort(new Error('test abort'))
      expect(connection.status).not.toBe('open')
      await eventually(() => remote.status !== 'open' && remote.status !== 'closing', 5_000, 'the remote connection to end')
      expect(await reads[0]).toMatch(/ended|failed/)
      await eventually(() => b.getConnections(a.peerId).length === 0, 5_000, 'b to forget the connection')
    })

    it('stopping a node closes its connections on the other side', async () => {
      const [a, b] = [await start(), await start()]
      await a.dial(subject.dialAddress(b))
      await eventually(() => b.getConnections(a.peerId).length === 1, 5_000, 'the inbound connection')
      await a.stop()
      await eventually(() => b.getConnections(a.peerId).length === 0, 10_000, 'the remote to drop the connection')
    })
  })
}
