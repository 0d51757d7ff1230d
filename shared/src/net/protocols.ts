// The request/response protocols every node serves. Later layers add theirs here (task, route).

import * as v from 'valibot'
import { defineProtocol } from './rpc.js'
import { NodeProfileSchema } from './wire-schemas.js'

const EchoSchema = v.strictObject({ data: v.pipe(v.instance(Uint8Array), v.maxLength(16 * 1024 * 1024)) })

/** Ask a peer for its current profile: the direct counterpart of presence gossip, and a liveness probe. */
export const PROFILE_PROTOCOL = defineProtocol('/noodlenet/profile/1.0.0', v.strictObject({}), NodeProfileSchema)

/** Echo, behind a capability (command `/node/echo`): checks that a peer can reach this one and is authorized by it,
 *  end to end through the gate — the smallest authorized request there is. */
export const ECHO_PROTOCOL = defineProtocol('/noodlenet/echo/1.0.0', EchoSchema, EchoSchema)
