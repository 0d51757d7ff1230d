// Our DataChannelConnection with nothing on top: the transport negotiates and wraps the data channel exactly as it
// does for libp2p, but the "upgrader" hands the MultiaddrConnection back instead of running noise and yamux on it.
// The listening end echoes every byte; told to `expect` N bytes, it counts them instead and answers one byte.

import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, DialTransportOptions, MultiaddrConnection, Upgrader } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { signalingUrlToMultiaddr, signalledListenAddress, WebRTCSignalledTransport } from '@noodlenet/webrtc'
import { randomBytes, timeEach } from '../support/stream-bench.js'
import type { LinkTuning } from './harness-api.js'
import { readySignaling, silentLogger } from './signaling.js'

export interface ConnEnd {
  maConn: MultiaddrConnection
  /** Bytes still to count before answering (listening end, during a bulk transfer). */
  expecting: number
}

type Bytes = { byteLength: number }

async function startTransport(url: string, tuning: LinkTuning): Promise<WebRTCSignalledTransport> {
  const privateKey = await generateKeyPair('Ed25519')
  const signaling = readySignaling(url)
  const transport = new WebRTCSignalledTransport(
    { peerId: peerIdFromPrivateKey(privateKey), privateKey, logger: silentLogger },
    { ...tuning.transport, signaling: [signaling.factory], candidates: 'loopback', discovery: false },
  )
  await transport.start()
  await signaling.ready()
  return transport
}

/** Listens; resolves with the address to dial and the end the first inbound connection will fill in. */
export async function listenConn(url: string, tuning: LinkTuning): Promise<{ address: string; end: Promise<ConnEnd> }> {
  const transport = await startTransport(url, tuning)
  let accept!: (end: ConnEnd) => void
  const end = new Promise<ConnEnd>((resolve) => {
    accept = resolve
  })
  const listener = transport.createListener({
    upgrader: capturingUpgrader((maConn) => {
      const served: ConnEnd = { maConn, expecting: 0 }
      maConn.addEventListener('message', (event) => {
        const data = event.data as Uint8Array
        if (served.expecting === 0) {
          maConn.send(data)
          return
        }
        served.expecting -= data.byteLength
        if (served.expecting <= 0) maConn.send(new Uint8Array(1))
      })
      accept(served)
    }),
  })
  const server = signalingUrlToMultiaddr(url)
  await listener.listen(signalledListenAddress(server))
  return { address: `${signalledListenAddress(server).toString()}/p2p/${transport.components.peerId.toString()}`, end }
}

export async function dialConn(url: string, address: string, tuning: LinkTuning): Promise<ConnEnd> {
  const transport = await startTransport(url, tuning)
  const options = { upgrader: capturingUpgrader(() => {}), signal: AbortSignal.timeout(30_000) } as unknown as DialTransportOptions
  const maConn = (await transport.dial(multiaddr(address), options)) as unknown as MultiaddrConnection
  return { maConn, expecting: 0 }
}

export function connRoundTrips(end: ConnEnd, count: number, payloadBytes: number): Promise<number[]> {
  const payload = randomBytes(payloadBytes)
  return timeEach(count, () => {
    const echoed = receive(end.maConn, payloadBytes)
    end.maConn.send(payload)
    return echoed
  })
}

/** The listening end must have been told to `expect` these bytes. */
export async function connBulk(end: ConnEnd, bytes: number, chunkBytes: number): Promise<number> {
  const chunk = randomBytes(chunkBytes)
  const answered = receive(end.maConn, 1)
  const started = performance.now()
  for (let sent = 0; sent < bytes; sent += chunkBytes) if (!end.maConn.send(chunk)) await drained(end.maConn)
  await answered
  return bytes / 1e6 / ((performance.now() - started) / 1000)
}

/** The next 'drain' (not `onDrain()`: in @libp2p/utils 7.4 it resolves at once after the first drain, and this
 *  measures our backpressure, not a writer that overruns it). */
function drained(maConn: MultiaddrConnection): Promise<void> {
  return new Promise((resolve) => maConn.addEventListener('drain', () => resolve(), { once: true }))
}

function receive(maConn: MultiaddrConnection, bytes: number): Promise<void> {
  let received = 0
  return new Promise((resolve) => {
    const onMessage = (event: { data: Bytes }): void => {
      received += event.data.byteLength
      if (received < bytes) return
      maConn.removeEventListener('message', onMessage)
      resolve()
    }
    maConn.addEventListener('message', onMessage)
  })
}

/** Skips noise and yamux: inbound connections go to `onInbound`, outbound ones come back from dial as they are. */
function capturingUpgrader(onInbound: (maConn: MultiaddrConnection) => void): Upgrader {
  return {
    upgradeInbound: async (maConn: MultiaddrConnection) => onInbound(maConn),
    upgradeOutbound: async (maConn: MultiaddrConnection) => maConn as unknown as Connection,
    createInboundAbortSignal: (signal: AbortSignal) => Object.assign(AbortSignal.any([signal]), { clear: () => {} }),
  } as unknown as Upgrader
}
