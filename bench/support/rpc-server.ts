// The server half of bench/rpc-roundtrip.ts, run as its own process: serves the RpcService echo and the raw lpStream
// echo, prints one JSON ready line ({ peerId, addrs }) on stdout, and stops when stdin closes or on SIGTERM.

import { serveBenchProcess, startBenchNode } from './bench-node.js'
import { MAX_PAYLOAD_BYTES, RPC_ECHO, serveRawEcho } from './echo-protocols.js'

const node = await startBenchNode()

await node.rpc.handle(RPC_ECHO, { command: '/bench/echo', level: 'PUBLIC', capability: 'optional' }, async (request) => request)

await serveRawEcho(node.libp2p, MAX_PAYLOAD_BYTES)

serveBenchProcess(node)
