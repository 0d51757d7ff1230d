// The two echo protocols the round-trip benchmark compares, shared by the client (the bench) and the server process.

import { defineProtocol } from '@noodlenet/shared'
import * as v from 'valibot'

const EchoSchema = v.object({ payload: v.instance(Uint8Array) })

/** Served through RpcService: CBOR envelope, schema validation, stream reuse. */
export const RPC_ECHO = defineProtocol('/noodlenet/bench/rpc-echo/1.0.0', EchoSchema, EchoSchema)

/** Served through `libp2p.handle` with `lpStream`: the baseline, length-prefixed bytes and nothing else. */
export const RAW_ECHO = '/noodlenet/bench/raw-echo/1.0.0'

/** Largest payload either protocol carries (the raw one caps its frames at this). */
export const MAX_PAYLOAD_BYTES = 1024 * 1024
