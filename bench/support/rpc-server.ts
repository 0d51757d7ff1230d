// The server half of bench/rpc-roundtrip.ts, run as its own process: serves the RpcService echo and the raw lpStream
// echo, prints one JSON ready line ({ peerId, addrs }) on stdout, and stops when stdin closes or on SIGTERM.

import { lpStream } from '@libp2p/utils'
import { startBenchNode } from './bench-node.js'
import { MAX_PAYLOAD_BYTES, RAW_ECHO, RPC_ECHO } from './echo-protocols.js'

const node = await startBenchNode()

await node.rpc.handle(RPC_ECHO, { command: '/bench/echo', level: 'PUBLIC', capability: 'optional' }, async (request) => request)

await node.libp2p.handle(RAW_ECHO, async (stream) => {
  const lp = lpStream(stream, { maxDataLength: MAX_PAYLOAD_BYTES })
  while (true) {
    let message: Awaited<ReturnType<typeof lp.read>>
    try {
      message = await lp.read()
    } catch {
      break // end of stream: the client is done
    }
    await lp.write(message)
  }
  await stream.close().catch(() => {})
})

let stopping = false
const stop = async (): Promise<void> => {
  if (stopping) return
  stopping = true
  await node.stop()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.stdin.on('end', () => void stop())
process.stdin.resume()

process.stdout.write(`${JSON.stringify({ peerId: node.peerId.toString(), addrs: node.addrs() })}\n`)
