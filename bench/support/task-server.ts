// The executing half of bench/tasks.ts, run as its own process: a NoodleNode with its CpuExecutor (worker_threads,
// one per core) that honours capability tokens from the root given as the first argument, and the raw lpStream echo
// the bench compares against. Prints one JSON ready line ({ peerId, addrs }) on stdout. A `publish` line on stdin
// publishes its profile at once (the bench node's presence interval is ten minutes); it stops when stdin closes or
// on SIGTERM.

import { serveBenchProcess, startBenchNode } from './bench-node.js'
import { BULK_PAYLOAD_BYTES, serveRawEcho } from './echo-protocols.js'

const root = process.argv[2]
if (root === undefined) throw new Error('usage: task-server.ts <trusted root peer id>')

const node = await startBenchNode({ trustedRoots: [root] })
await serveRawEcho(node.libp2p, BULK_PAYLOAD_BYTES)

serveBenchProcess(node, (command) => {
  if (command === 'publish') void node.presence.publish()
})
