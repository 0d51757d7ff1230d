// The failure detector's pings on kept streams (health/ping-streams.ts), between two real nodes: many pings share one
// stream, a stream the answerer resets is replaced at the next ping, and an answerer that stays silent, answers with
// other bytes or sends bytes unasked gets a typed error on that ping, never a crash or a hang.

import type { Stream } from '@libp2p/interface'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { NoodleError, type NoodleNode, PING_PROTOCOL, PingStreams } from '../src/index.js'
import { eventually, startMesh } from './test-platform.js'

let nodes: NoodleNode[] = []
let answerer: NoodleNode
let pinger: NoodleNode

beforeEach(async () => {
  nodes = await startMesh(2)
  ;[answerer, pinger] = nodes
})

afterEach(async () => {
  await Promise.all(nodes.map((node) => node.stop()))
})

function pingStreams(node: NoodleNode, direction: 'inbound' | 'outbound', protocol = PING_PROTOCOL): Stream[] {
  return node.libp2p
    .getConnections()
    .flatMap((connection) => connection.streams)
    .filter((stream) => stream.protocol === protocol && stream.direction === direction && stream.status === 'open')
}

const soon = (): { signal: AbortSignal } => ({ signal: AbortSignal.timeout(5_000) })

describe('PingStreams', () => {
  it('sends many pings on one stream and measures each round trip', async () => {
    const pings = new PingStreams(pinger.libp2p)
    const before = pingStreams(pinger, 'outbound').length
    for (let i = 0; i < 20; i++) {
      const rtt = await pings.ping(answerer.peerId, soon())
      expect(rtt).toBeGreaterThanOrEqual(0)
      expect(rtt).toBeLessThan(5_000)
    }
    expect(pingStreams(pinger, 'outbound').length).toBe(before + 1)
    pings.stop()
    await eventually(() => pingStreams(pinger, 'outbound').length === before, 5_000, 'the kept stream to close')
  })

  it('opens a new stream after the answerer resets the old one', async () => {
    const pings = new PingStreams(pinger.libp2p)
    await pings.ping(answerer.peerId, soon())
    const first = pingStreams(pinger, 'outbound').length
    for (const stream of pingStreams(answerer, 'inbound')) stream.abort(new Error('reset by the test'))
    await eventually(() => pingStreams(pinger, 'outbound').length < first, 5_000, 'the reset to reach the pinger')
    expect(await pings.ping(answerer.peerId, soon())).toBeGreaterThanOrEqual(0)
    pings.stop()
  })

  it('fails a ping with a typed error when the answerer is silent, lies or talks unasked, and pings again after', async () => {
    const SILENT = '/noodlenet/test/ping-silent/1.0.0'
    const LIAR = '/noodlenet/test/ping-liar/1.0.0'
    const CHATTY = '/noodlenet/test/ping-chatty/1.0.0'
    await answerer.libp2p.handle(SILENT, () => {})
    await answerer.libp2p.handle(LIAR, (stream) => {
      stream.addEventListener('message', (evt) => stream.send(new Uint8Array(evt.data.byteLength).fill(7)))
    })
    await answerer.libp2p.handle(CHATTY, (stream) => {
      stream.send(new Uint8Array(64).fill(1))
    })

    const silent = new PingStreams(pinger.libp2p, SILENT)
    const timedOut = await silent.ping(answerer.peerId, { signal: AbortSignal.timeout(200) }).catch((err: unknown) => err)
    expect(timedOut).toBeInstanceOf(NoodleError)
    expect((timedOut as NoodleError).code).toBe('REQUEST_TIMEOUT')
    await eventually(() => pingStreams(pinger, 'outbound', SILENT).length === 0, 5_000, 'the timed-out stream to be reset')

    const liar = new PingStreams(pinger.libp2p, LIAR)
    const lied = await liar.ping(answerer.peerId, soon()).catch((err: unknown) => err)
    expect((lied as NoodleError).code).toBe('FRAME_INVALID')

    const chatty = new PingStreams(pinger.libp2p, CHATTY)
    const chatted = await chatty.ping(answerer.peerId, soon()).catch((err: unknown) => err)
    expect(['FRAME_INVALID', 'STREAM_CLOSED']).toContain((chatted as NoodleError).code)

    // The node itself is fine: the real ping protocol still answers.
    const pings = new PingStreams(pinger.libp2p)
    expect(await pings.ping(answerer.peerId, soon())).toBeGreaterThanOrEqual(0)
    for (const each of [silent, liar, chatty, pings]) each.stop()
  })
})
