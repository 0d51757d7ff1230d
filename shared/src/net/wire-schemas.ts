// Every frame that crosses the wire, as a schema. One module, so a reader sees the whole protocol surface at once
// and nothing reaches a handler before it has passed one of these.

import * as v from 'valibot'

const text = (max: number) => v.pipe(v.string(), v.maxLength(max))
const count = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER))
const amount = v.pipe(v.number(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER))

/** A typed error as it travels: code, the sentence for the person, and for "busy" answers when to ask again. */
export const WireErrorSchema = v.object({ code: text(64), message: text(2048), retryAfterMs: v.optional(count) })
export type WireError = v.InferOutput<typeof WireErrorSchema>

/** Request/response envelope (`net/rpc.ts`). `body` is checked by the protocol's own schema after this. */
export const RpcRequestSchema = v.object({
  /** Request id, unique per stream; echoed in the response. */
  id: count,
  /** Milliseconds the caller will wait; the handler's AbortSignal fires when they are up. */
  timeoutMs: v.optional(count),
  traceId: v.optional(text(64)),
  /** Compact capability token for the security gate. The stream remembers the last one a request on it carried. */
  cap: v.optional(text(16 * 1024)),
  /** `true`: the request's token is the one the stream remembers (sent once, not with every request: a token is
   *  ~370 bytes, most of a small request). A peer that remembers none, or predates this field, sees no token. */
  capAgain: v.optional(v.literal(true)),
  /** Ask the handler for a heartbeat frame this often (ms) while it works (task leases; rpc.ts clamps it). */
  hb: v.optional(count),
  body: v.unknown(),
})
export type RpcRequest = v.InferOutput<typeof RpcRequestSchema>

export const RpcResponseSchema = v.variant('ok', [
  /** `hb: true`: a heartbeat, not the answer: the handler is still working and the answer follows on this stream.
   *  `part: true`: part of the answer (the protocol's response schema), more follows (a task batch's results as they
   *  complete). */
  v.object({ id: count, ok: v.literal(true), hb: v.optional(v.literal(true)), part: v.optional(v.literal(true)), body: v.unknown() }),
  v.object({ id: count, ok: v.literal(false), error: WireErrorSchema }),
])
export type RpcResponse = v.InferOutput<typeof RpcResponseSchema>

export const GpuInfoSchema = v.object({
  vendor: text(128),
  name: text(256),
  memoryMB: v.optional(amount),
  source: text(32),
})
export type GpuInfo = v.InferOutput<typeof GpuInfoSchema>

export const NpuInfoSchema = v.object({ name: text(256), driver: v.optional(text(128)), source: text(32) })
export type NpuInfo = v.InferOutput<typeof NpuInfoSchema>

/** A WebGPU adapter as the browser (or Dawn on Node) reports it: enough for a scheduler to tell a real GPU from a
 *  software fallback and to size work to its limits. */
export const WebGpuAdapterSchema = v.object({
  vendor: text(128),
  architecture: text(128),
  device: text(128),
  description: text(256),
  /** A software adapter (SwiftShader): correct, but slower than the CPU kernels. */
  fallback: v.boolean(),
  limits: v.object({
    maxBufferSize: amount,
    maxStorageBufferBindingSize: amount,
    maxComputeWorkgroupStorageSize: amount,
    maxComputeInvocationsPerWorkgroup: amount,
    maxComputeWorkgroupSizeX: amount,
  }),
})
export type WebGpuAdapter = v.InferOutput<typeof WebGpuAdapterSchema>

/** What a peer's hardware probe found. */
export const HardwareProfileSchema = v.object({
  cpu: v.object({ cores: count, model: v.optional(text(256)), arch: v.optional(text(32)) }),
  memory: v.object({ totalMB: amount, freeMB: amount }),
  /** Load average over one minute divided by cores (Node), or undefined where the platform cannot tell. */
  load: v.optional(amount),
  gpus: v.pipe(v.array(GpuInfoSchema), v.maxLength(64)),
  npus: v.pipe(v.array(NpuInfoSchema), v.maxLength(64)),
  /** The WebGPU adapter, where the platform has one. */
  webgpu: v.optional(WebGpuAdapterSchema),
})
export type HardwareProfile = v.InferOutput<typeof HardwareProfileSchema>

/** What a peer gossips about itself on the presence topic. */
export const NodeProfileSchema = v.object({
  peerId: text(128),
  addrs: v.pipe(v.array(text(512)), v.maxLength(64)),
  version: text(64),
  platform: v.picklist(['node', 'browser']),
  hardware: HardwareProfileSchema,
  load: v.object({
    connections: count,
    tasksRunning: count,
    queueLength: count,
    /** Tasks its executors hold waiting before they answer "busy, retry after"; the scheduler skips a peer whose
     *  queue is full. Absent from peers without executors. */
    queueLimit: v.optional(count),
  }),
  /** Kernels it runs (`KernelInfo.name`; `custom:*` when it accepts custom kernels). Absent from peers that predate
   *  the scheduler, which then assumes any kernel: the peer answers with an error if it has none. */
  kernels: v.optional(v.pipe(v.array(text(80)), v.maxLength(128))),
  /** What it charges, in cost units per second of compute (the unit of a task's maxCost); absent means free. */
  price: v.optional(amount),
  /** The peer runs throttled (a hidden browser tab: timers at most once a second, later once a minute), so others
   *  allow it longer silences before suspecting it (config health.throttledFactor). Absent means not throttled. */
  throttled: v.optional(v.boolean()),
  /** Sequence number: a receiver keeps the highest it has seen, so reordered gossip cannot roll a profile back. */
  seq: count,
  /** Sender's clock when published (ms since the epoch); informational, never used for ordering. */
  publishedAt: count,
})
export type NodeProfile = v.InferOutput<typeof NodeProfileSchema>

const peerIdText = text(128)
/** Bytes of any backing buffer (what cborg decodes and what signing returns). */
const bytes = v.custom<Uint8Array>((input) => input instanceof Uint8Array, 'bytes')

/** One link of a link-state record: a neighbour, the round trip to it, how loaded the publisher is and how many of
 *  its recent requests over this link failed (docs/ROUTING.md). */
export const LinkSchema = v.object({
  peer: peerIdText,
  /** Round trip to the neighbour (ms), from libp2p pings. */
  rttMs: v.pipe(v.number(), v.minValue(0), v.maxValue(3_600_000)),
  /** How busy the publisher is, 0 (idle) to 1 (saturated): relaying through a busy peer costs more. */
  load: v.pipe(v.number(), v.minValue(0), v.maxValue(1)),
  /** Share of recent requests and forwards over this link that failed, 0 to 1; absent means none. */
  loss: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
})
export type Link = v.InferOutput<typeof LinkSchema>

/** What a peer gossips on the link-state topic (routing/link-state.ts): its links now. Gossipsub signs it, and a
 *  receiver accepts it only from the peer it describes; the highest `seq` wins. */
export const LinkStateRecordSchema = v.object({
  peerId: peerIdText,
  seq: count,
  /** Bounded by LIMITS.linkStateMaxLinks (the publisher keeps the lowest-RTT ones). */
  links: v.pipe(v.array(LinkSchema), v.maxLength(256)),
  /** Its X25519 route key (raw), which routed bodies to it are sealed for (routing/route-cipher.ts); absent where
   *  the platform has no X25519, and then they travel in clear. */
  routeKey: v.optional(v.pipe(bytes, v.length(32))),
  publishedAt: count,
})
export type LinkStateRecord = v.InferOutput<typeof LinkStateRecordSchema>

/** A request travelling hop by hop on /noodlenet/route/1.0.0 (routing/envelope.ts). The source signs src, dst,
 *  nonce, sentAt, protocol, the token and the body's hash; relays change only ttl and path. */
export const RouteEnvelopeSchema = v.object({
  src: peerIdText,
  dst: peerIdText,
  /** Hops left: each relay refuses an envelope with none left (TTL_EXPIRED) and forwards it with one less. */
  ttl: v.pipe(count, v.maxValue(64)),
  /** Peers it went through, the source first: a relay already on it refuses it (ROUTE_LOOP). */
  path: v.pipe(v.array(peerIdText), v.maxLength(64)),
  /** The protocol of the request inside, served at the destination as if it came straight from src. */
  protocol: text(256),
  nonce: v.pipe(bytes, v.length(16)),
  /** Source's clock when sent (ms since the epoch): the replay window is measured from it. */
  sentAt: count,
  timeoutMs: v.optional(count),
  traceId: v.optional(text(64)),
  cap: v.optional(text(16 * 1024)),
  /** The source's ephemeral X25519 key when `body` is sealed for the destination's route key (and the reply with it). */
  epk: v.optional(v.pipe(bytes, v.length(32))),
  /** The inner request, CBOR-encoded (sealed when `epk` is present): the signature covers these exact bytes. */
  body: bytes,
  sig: v.pipe(bytes, v.maxLength(1024)),
})
export type RouteEnvelope = v.InferOutput<typeof RouteEnvelopeSchema>

/** The destination's answer to a routed request, signed by it over the request's nonce and the answer's bytes, so
 *  no relay can alter or invent one. `body` is the CBOR-encoded response, or the CBOR-encoded WireError. */
export const RouteReplySchema = v.object({
  ok: v.boolean(),
  body: bytes,
  sig: v.pipe(bytes, v.maxLength(1024)),
})
export type RouteReply = v.InferOutput<typeof RouteReplySchema>
