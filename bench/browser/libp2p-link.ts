// libp2p nodes in the benchmark page: our WebRTC transport with noise + yamux (the browser's stack), serving the
// same echo and sink protocols as the Node↔Node benchmark (../support/stream-bench.ts).

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Connection, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { signalingUrlToMultiaddr, signalledListenAddress, webRTCSignalled } from '@noodlenet/webrtc'
import { createLibp2p, type Libp2p } from 'libp2p'
import { ECHO, serveStreamBench } from '../support/stream-bench.js'
import type { LinkTuning } from './harness-api.js'
import { readySignaling } from './signaling.js'

export interface NodeEnd {
  node: Libp2p
  connection?: Connection
  echo?: Stream
}

/** A node registered with the server at `url` (listening through it when `listen`). */
export async function startNode(url: string, listen: boolean, tuning: LinkTuning): Promise<NodeEnd> {
  const signaling = readySignaling(url)
  const node = await createLibp2p({
    addresses: { listen: listen ? [signalledListenAddress(signalingUrlToMultiaddr(url)).toString()] : [] },
    transports: [webRTCSignalled({ ...tuning.transport, signaling: [signaling.factory], candidates: 'loopback', discovery: false })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ streamOptions: tuning.yamux })],
    // The browser's default gater refuses loopback and private addresses: the signalling server is on 127.0.0.1.
    connectionGater: { denyDialMultiaddr: () => false },
    connectionMonitor: { enabled: false },
  })
  await serveStreamBench(node)
  await signaling.ready()
  return { node }
}

export async function dialNode(end: NodeEnd, address: string): Promise<void> {
  end.connection = await end.node.dial(multiaddr(address), { signal: AbortSignal.timeout(30_000) })
  end.echo = await end.connection.newStream(ECHO)
}
