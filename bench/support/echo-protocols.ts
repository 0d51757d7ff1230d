// The echo protocols the round-trip benchmarks compare (rpc-roundtrip, tasks), shared by the client (the bench) and
// the server process.

import type { Libp2p } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { defineProtocol } from '@noodlenet/shared'
import * as v from 'valibot'

const EchoSchema = v.object({ payload: v.instance(Uint8Array) })

/** Served through RpcService: CBOR envelope, schema validation, stream reuse. */
export const RPC_ECHO = defineProtocol('/noodlenet/bench/rpc-echo/1.0.0', EchoSchema, EchoSchema)

/** Served through `libp2p.handle` with `lpStream`: the baseline, length-prefixed bytes and nothing else. */
export const RAW_ECHO = '/noodlenet/bench/raw-echo/1.0.0'

/** Largest payload either protocol carries (the raw one caps its frames at this). */
export const MAX_PAYLOAD_BYTES = 1024 * 1024

/** The task benchmark's bulk transfer (bench/tasks.ts): 16 MB, decimal, so that the task input (its bytes and a
 *  CBOR header) stays within LIMITS.taskInputMaxBytes (16 MiB). Its raw echo caps frames at this. */
export const BULK_PAYLOAD_BYTES = 16_000_000

/** Raw echo streams one connection may have open at once (libp2p's default is 32 inbound, 64 outbound). */
export const MAX_RAW_STREAMS = 128

/** Serves RAW_ECHO on `libp2p`: every length-prefixed message back on the same stream, until the client ends it. */
export async function serveRawEcho(libp2p: Libp2p, maxDataLength: number): Promise<void> {
  await libp2p.handle(
    RAW_ECHO,
    async (stream) => {
      // The byte buffer must hold the largest message whole (its default is 4 MiB).
      const lp = lpStream(stream, { maxDataLength, maxBufferSize: maxDataLength + 16 })
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
    },
    { maxInboundStreams: MAX_RAW_STREAMS },
  )
}
