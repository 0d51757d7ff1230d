// Request/response over length-prefixed streams, with deadlines and cancellation.
//
// A protocol is a name plus a request and a response schema. Callers `request()` a peer; the reply is validated
// before it is returned. Streams are kept open after a reply and reused for the next request to the same peer and
// protocol (like HTTP keep-alive), so a request costs one round trip, not a protocol negotiation as well. A
// deadline or an abort kills only that request's stream: the remote handler's AbortSignal fires and the
// connection lives on. Handlers are registered here with the command they serve, and when the node has a security
// gate every request passes it before the handler sees it: no handler can be reached around it.

import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { isNoodleError, NoodleError, type NoodleErrorCode } from '../errors.js'
import { LIMITS } from '../limits.js'
import { type Logger, newTraceId, tracedLogger } from '../monitoring/logger.js'
import type { AuthorizationRequest, GatedCommand, SecurityGate } from '../security/gate.js'
import { type FrameSchema, validateFrame } from './codec.js'
import { FrameStream } from './frame-stream.js'
import { type RpcRequest, RpcRequestSchema, type RpcResponse, RpcResponseSchema, type WireError } from './wire-schemas.js'

export interface RpcProtocol<Req, Res> {
  /** libp2p protocol id, e.g. `/noodlenet/task/1.0.0`. */
  protocol: string
  request: FrameSchema<Req>
  response: FrameSchema<Res>
}

export function defineProtocol<Req, Res>(protocol: string, request: FrameSchema<Req>, response: FrameSchema<Res>): RpcProtocol<Req, Res> {
  return { protocol, request, response }
}

export interface RpcContext {
  remotePeer: PeerId
  connection: Connection
  traceId: string
  /** Fires when the caller's deadline passes or it cancels (its stream closes). Made on first use. */
  signal: AbortSignal
  /** Whether `signal` has fired (or would have), without making it. */
  readonly aborted: boolean
  logger: Logger
  /** Sends part of the answer now (the protocol's response schema; the caller's `onPart` gets it), before the
   *  handler returns the rest. Absent where the request came through a route: there the answer is one frame. */
  sendPart?: (body: unknown) => Promise<void>
}

export type RpcHandler<Req, Res> = (request: Req, context: RpcContext) => Promise<Res>

export interface RequestOptions {
  signal?: AbortSignal
  /** Another way to cancel the request, cheaper than an AbortSignal (see RequestCut). */
  cut?: RequestCut
  timeoutMs?: number
  traceId?: string
  /** Compact capability token (`nnt1.…`) for commands that need one. */
  capability?: string
  /** Ask the handler for a heartbeat frame this often (ms) while it works; each one calls onHeartbeat. A task's
   *  lease (orchestrator/task-service.ts) lives on them: silence means the executor is gone or stuck. */
  heartbeatMs?: number
  onHeartbeat?: () => void
  /** Called once the request is written to a stream (after any dial). A task's lease counts from here: a slow dial
   *  is not the executor's silence, and its first heartbeat cannot come sooner. */
  onSent?: () => void
}

/** A request whose handler may answer in parts (RpcContext.sendPart): each part, validated against the protocol's
 *  response schema, goes to `onPart` (and counts as a heartbeat); the returned response is the last part. Parts
 *  arriving without `onPart` are dropped. */
export interface PartedRequestOptions<Res> extends RequestOptions {
  onPart?: (body: Res) => void
}

/** What a handler serves, for the gate: its command, level and whether it needs a capability, and how to read a
 *  request's kernel, level, cost and resources (for tokens and policy rules that name them). */
export interface HandlerAccess<Req> extends GatedCommand {
  describe?: (request: Req) => Omit<AuthorizationRequest, 'peer' | 'token' | 'traceId'>
}

/** Where a request goes when its peer cannot be dialled: routing/router.ts sends it hop by hop through other peers.
 *  Only the path without an open stream consults it, so the direct path costs what it did. */
export interface RouteFallback {
  /** True when requests to `peer` on `protocol` should go through a route without a direct dial first (a denied
   *  peer, or one whose dial failed lately and that has no connection). */
  prefersRoute(peer: PeerId, protocol: string): boolean
  /** Sends the request through a route. `direct` is why the direct dial failed (thrown when there is no route). */
  request<Req, Res>(peer: PeerId, definition: RpcProtocol<Req, Res>, body: Req, options: RequestOptions, direct?: NoodleError): Promise<Res>
}

/** A request that came through a route (routing/router.ts): served by the same handler and gate as a direct one. */
export interface RoutedRequest {
  /** The source, whose signature the router verified: the gate sees the request as this peer's. */
  from: PeerId
  /** The last hop's connection. */
  connection: Connection
  body: unknown
  cap?: string
  traceId?: string
  /** Fires when the routed request's deadline passes or the last hop goes away. */
  signal: AbortSignal
}

interface Registered {
  definition: RpcProtocol<unknown, unknown>
  access: HandlerAccess<unknown>
  handler: RpcHandler<unknown, unknown>
}

export interface RpcComponents {
  libp2p: Libp2p
  logger: Logger
  frameMaxBytes: number
  requestTimeoutMs: number
  /** Authorizes every request before its handler runs. */
  gate?: SecurityGate
}

/** Streams to one (peer, protocol): idle ones for reuse, a count of busy ones, and callers waiting for one. */
interface StreamPool {
  idle: Lease[]
  busy: number
  waiting: Array<(lease: Lease | undefined) => void>
}

interface Lease {
  key: string
  frames: FrameStream
  nextId: number
  /** The capability token the remote remembers for this stream (the last one sent on it), and whether it takes
   *  `capAgain` for it: false once it answered such a request as if it carried no token (an older peer). */
  cap: string | undefined
  capAgain: boolean
  /** Aborted when a request on this stream is cut short (and the stream with it); requests on a kept-alive stream
   *  share it, so a request makes no AbortSignal of its own. */
  cancel: AbortController
}

const MAX_STREAMS_PER_PEER = 64

export class RpcService {
  private readonly libp2p: Libp2p
  private readonly logger: Logger
  private readonly frameMaxBytes: number
  private readonly requestTimeoutMs: number
  private readonly pools = new Map<string, StreamPool>()
  private readonly handled = new Set<string>()
  /** Handlers by protocol, for requests that arrive through a route. */
  private readonly registered = new Map<string, Registered>()
  private fallback: RouteFallback | undefined
  private readonly gate: SecurityGate | undefined

  constructor(components: RpcComponents) {
    this.gate = components.gate
    this.libp2p = components.libp2p
    this.logger = components.logger
    this.frameMaxBytes = components.frameMaxBytes
    this.requestTimeoutMs = components.requestTimeoutMs
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    for (const protocol of this.handled) await this.libp2p.unhandle(protocol)
    this.handled.clear()
    for (const pool of this.pools.values()) {
      for (const lease of pool.idle) lease.frames.stream.abort(new Error('node stopping'))
      for (const wake of pool.waiting) wake(undefined)
    }
    this.pools.clear()
  }

  /** Serves `definition.protocol` with `handler`. Requests are validated, then authorized for `access`, before the
   *  handler sees them. */
  async handle<Req, Res>(definition: RpcProtocol<Req, Res>, access: HandlerAccess<Req>, handler: RpcHandler<Req, Res>): Promise<void> {
    await this.libp2p.handle(definition.protocol, (stream, connection) => this.serve(definition, access, handler, stream, connection), {
      maxInboundStreams: LIMITS.rpcInboundStreamsPerConnection,
    })
    this.handled.add(definition.protocol)
    this.registered.set(definition.protocol, { definition, access, handler } as unknown as Registered)
  }

  /** Sends requests this node cannot deliver directly through `fallback` (the router), or stops doing so. */
  routeVia(fallback: RouteFallback | undefined): void {
    this.fallback = fallback
  }

  /** Serves a request that came through a route as if `from` had sent it directly: its protocol's schema, the gate
   *  (so tokens bound to `from` work, and nothing skips it) and its handler. Throws what the handler would answer. */
  async dispatch(protocol: string, routed: RoutedRequest): Promise<unknown> {
    const entry = this.registered.get(protocol)
    if (entry === undefined) {
      throw new NoodleError(
        'PROTOCOL_UNSUPPORTED',
        `this peer does not serve ${protocol}`,
        'Check that the peer runs a compatible NoodleNet version.',
      )
    }
    const body = validateFrame(routed.body, entry.definition.request)
    const context = new HandlerContext(routed.connection, routed.traceId, this.logger, routed.from)
    if (routed.signal.aborted) context.abort(routed.signal.reason)
    else routed.signal.addEventListener('abort', () => context.abort(routed.signal.reason), { once: true })
    await this.authorize(entry.access, body, routed.from.toString(), routed.cap, context)
    return entry.handler(body, context)
  }

  /** The gate's decision on one request (undefined without a gate: nothing to await); a denial rejects with its
   *  NoodleError. */
  private authorize<Req>(
    access: HandlerAccess<Req>,
    body: Req,
    peer: string,
    token: string | undefined,
    context: HandlerContext,
  ): Promise<void> | undefined {
    if (this.gate === undefined) return undefined
    // Built field by field, not spread from describe()'s answer: the spread cost ~5 µs a request on the executor.
    const described = access.describe?.(body)
    return this.gate.authorize(access, {
      peer,
      kernel: described?.kernel,
      level: described?.level,
      cost: described?.cost,
      resources: described?.resources,
      count: described?.count,
      token,
      traceId: context.traceId,
    })
  }

  private async serve<Req, Res>(
    definition: RpcProtocol<Req, Res>,
    access: HandlerAccess<Req>,
    handler: RpcHandler<Req, Res>,
    stream: Stream,
    connection: Connection,
  ): Promise<void> {
    const frames = new FrameStream(stream, this.frameMaxBytes)
    let current: HandlerContext | undefined
    // The last capability token a request on this stream carried: a request that says `capAgain` uses it.
    let streamCap: string | undefined
    stream.addEventListener('close', () => current?.abort(new NoodleError('REQUEST_ABORTED', 'the caller went away')))
    while (true) {
      let envelope: RpcRequest | null
      let body: Req
      try {
        envelope = await frames.read(RpcRequestSchema)
        if (envelope === null) break
        body = validateFrame(envelope.body, definition.request)
      } catch (err) {
        // The stream was reset under us (the caller died or hung up): nothing to answer, and no bad frame. These came by
        // the hundred as WARNINGs whenever peers died in bench mesh-scale.
        if (isNoodleError(err) && err.code === 'STREAM_CLOSED') {
          this.logger.debug({ peer: connection.remotePeer.toString(), protocol: definition.protocol }, 'stream reset while idle')
          return
        }
        // A bad frame: answer it with the typed error, close this stream, keep the connection.
        this.logger.warning(
          { peer: connection.remotePeer.toString(), protocol: definition.protocol, err: toWireError(err) },
          'bad frame; closing stream',
        )
        await frames.write({ id: 0, ok: false, error: toWireError(err) }).catch(() => {})
        // Flush the answer, then reset: the slot is freed now, not when a misbehaving peer gets round to closing.
        await frames.end()
        if (stream.status === 'open') stream.abort(new NoodleError('FRAME_INVALID', 'bad frame'))
        return
      }
      const context = new HandlerContext(connection, envelope.traceId, this.logger)
      context.sendPart = partSender(frames, envelope.id)
      current = context
      const timer = new ServeTimer(context, frames, envelope.id, envelope.timeoutMs ?? this.requestTimeoutMs, envelope.hb)
      try {
        // A denial is an ordinary error answer: the stream and the connection stay usable.
        let cap = envelope.cap
        if (cap !== undefined) streamCap = cap
        else if (envelope.capAgain === true) cap = streamCap
        const decision = this.authorize(access, body, connection.remotePeer.toString(), cap, context)
        if (decision !== undefined) await decision
        const result = await handler(body, context)
        // Stopped before the answer, so no heartbeat can follow it on the stream.
        timer.stop()
        await frames.write({ id: envelope.id, ok: true, body: result })
      } catch (err) {
        timer.stop()
        // The caller went away (its deadline, a lost link) before the answer could be written: nothing failed here.
        if ((err as Error)?.name === 'StreamStateError') {
          this.logger.debug({ traceId: context.traceId, protocol: definition.protocol }, 'caller gone before the answer')
          break
        }
        if (!(err instanceof NoodleError)) {
          this.logger.error({ traceId: context.traceId, protocol: definition.protocol, err }, 'handler failed')
        }
        try {
          await frames.write({ id: envelope.id, ok: false, error: toWireError(err) })
        } catch {
          break
        }
      } finally {
        current = undefined
      }
    }
    await frames.end()
  }

  /** Sends one request and returns the validated response, or throws a NoodleError. */
  async request<Req, Res>(
    peer: PeerId,
    definition: RpcProtocol<Req, Res>,
    body: Req,
    options: PartedRequestOptions<Res> = {},
  ): Promise<Res> {
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs
    if (options.signal?.aborted === true) throw this.failure(options.signal.reason, peer, definition.protocol, options, timeoutMs, false)
    if (options.cut?.cancelled === true) throw this.failure(options.cut.reason, peer, definition.protocol, options, timeoutMs, false)
    const deadline = new RequestDeadline(timeoutMs, options.signal)
    options.cut?.attach(deadline)
    const key = `${peer.toString()} ${definition.protocol}`
    let lease = this.takeIdle(key)
    try {
      if (lease === undefined) {
        try {
          if (this.fallback?.prefersRoute(peer, definition.protocol) === true)
            return await this.fallback.request(peer, definition, body, options)
          lease = await this.dial(peer, definition.protocol, key, deadline, timeoutMs)
        } catch (err) {
          const error = this.failure(err, peer, definition.protocol, options, timeoutMs, deadline.timedOut)
          // No link and no dial: a route through other peers may still reach it (routing/router.ts), in the time left.
          if (this.fallback !== undefined && error.code === 'PEER_UNREACHABLE') {
            const left = Math.max(1, Math.floor(timeoutMs - deadline.elapsedMs()))
            return await this.fallback.request(peer, definition, body, { ...options, timeoutMs: left }, error)
          }
          throw error
        }
      }
      if (lease.cancel.signal.aborted) lease.cancel = new AbortController()
      const signal = deadline.aim(lease.cancel)
      let released = false
      try {
        let id: number
        let response: RpcResponse | null
        for (;;) {
          id = lease.nextId++
          const again = lease.capAgain && options.capability !== undefined && options.capability === lease.cap
          if (options.capability !== undefined) lease.cap = options.capability
          await lease.frames.write(
            again
              ? { id, timeoutMs, traceId: options.traceId, capAgain: true, hb: options.heartbeatMs, body }
              : { id, timeoutMs, traceId: options.traceId, cap: options.capability, hb: options.heartbeatMs, body },
            signal,
          )
          options.onSent?.()
          response = await lease.frames.read(RpcResponseSchema, signal)
          while (response?.ok === true && (response.hb === true || response.part === true) && response.id === id) {
            options.onHeartbeat?.()
            if (response.part === true) options.onPart?.(validateFrame(response.body, definition.response))
            response = await lease.frames.read(RpcResponseSchema, signal)
          }
          // The peer saw no token where we said "the same again": it predates capAgain. The gate refused before any
          // handler ran, so the request goes once more, with its token, and this stream sends tokens in full.
          if (!again || response?.ok !== false || response.id !== id || response.error.code !== 'CAPABILITY_MISSING') break
          lease.capAgain = false
        }
        if (response === null)
          throw new NoodleError('STREAM_CLOSED', `${peer} closed the stream before answering`, 'Retry; the peer may be restarting.')
        // id 0 is the peer refusing our frame itself (see serve()); its error says why.
        if (response.id === 0 && !response.ok) throw new NoodleError(response.error.code as NoodleErrorCode, response.error.message)
        if (response.id !== id)
          throw new NoodleError(
            'FRAME_INVALID',
            `${peer} answered request ${response.id}, expected ${id}`,
            'The peer must speak this protocol version.',
          )
        // Disarm before the stream can pass to the next request, so this deadline cannot cut that one.
        deadline.aim(undefined)
        this.release(lease)
        released = true
        if (!response.ok) throw fromWireError(response.error)
        return validateFrame(response.body, definition.response)
      } catch (err) {
        const error = this.failure(err, peer, definition.protocol, options, timeoutMs, deadline.timedOut)
        if (!released) {
          // The stream is out of step (or the caller gave up mid-request): kill it so the remote handler stops.
          lease.frames.stream.abort(error)
          this.discard(lease)
        }
        throw error
      }
    } finally {
      deadline.clear()
      options.cut?.detach(deadline)
    }
  }

  /** Any error of a request as the NoodleError its caller sees. */
  private failure(
    err: unknown,
    peer: PeerId,
    protocol: string,
    options: RequestOptions,
    timeoutMs: number,
    timedOut: boolean,
  ): NoodleError {
    if (err instanceof NoodleError) return err
    if (options.signal?.aborted === true || options.cut?.cancelled === true)
      return new NoodleError('REQUEST_ABORTED', `request to ${peer} on ${protocol} was cancelled`, '', { cause: err })
    if (timedOut) {
      return new NoodleError(
        'REQUEST_TIMEOUT',
        `no answer from ${peer} on ${protocol} within ${timeoutMs} ms`,
        'Retry, or raise the timeout.',
        { cause: err },
      )
    }
    const name = (err as Error)?.name
    if (name === 'UnsupportedProtocolError' || name === 'ProtocolNegotiationError') {
      return new NoodleError(
        'PROTOCOL_UNSUPPORTED',
        `${peer} does not serve ${protocol}`,
        'Check that the peer runs a compatible NoodleNet version.',
        { cause: err },
      )
    }
    return new NoodleError(
      'PEER_UNREACHABLE',
      `cannot reach ${peer} on ${protocol}: ${(err as Error)?.message}`,
      'Check that the peer is up and connected.',
      { cause: err },
    )
  }

  /** An idle, still open stream to reuse, if there is one: the common case, with no await and no signal. */
  private takeIdle(key: string): Lease | undefined {
    const pool = this.pools.get(key)
    if (pool === undefined) return undefined
    while (true) {
      const idle = pool.idle.pop()
      if (idle === undefined) return undefined
      if (idle.frames.stream.status !== 'open' || idle.frames.stream.writeStatus !== 'writable') continue
      pool.busy++
      return idle
    }
  }

  /** A stream for a request to a peer with no idle one. With nothing open to the peer and routes to fall back on,
   *  the dial gets a share of the deadline (LIMITS.routeDialBudgetMs, at most a third): a pulled cable answers a
   *  dial with silence, and waiting out the whole deadline would leave the route no time. */
  private async dial(peer: PeerId, protocol: string, key: string, deadline: RequestDeadline, timeoutMs: number): Promise<Lease> {
    const controller = new AbortController()
    const signal = deadline.aim(controller)
    if (this.fallback === undefined || this.libp2p.getConnections(peer).length > 0) return this.acquire(peer, protocol, key, signal)
    const budgetMs = Math.min(LIMITS.routeDialBudgetMs, timeoutMs / 3)
    const timer = setTimeout(() => controller.abort(new Error(`no answer to the dial within ${Math.round(budgetMs)} ms`)), budgetMs)
    try {
      return await this.acquire(peer, protocol, key, signal)
    } finally {
      clearTimeout(timer)
    }
  }

  private async acquire(peer: PeerId, protocol: string, key: string, signal: AbortSignal): Promise<Lease> {
    let pool = this.pools.get(key)
    if (pool === undefined) {
      pool = { idle: [], busy: 0, waiting: [] }
      this.pools.set(key, pool)
    }
    while (true) {
      const idle = this.takeIdle(key)
      if (idle !== undefined) return idle
      if (pool.busy < MAX_STREAMS_PER_PEER) {
        pool.busy++
        try {
          const stream = await this.libp2p.dialProtocol(peer, protocol, { signal, maxOutboundStreams: MAX_STREAMS_PER_PEER })
          const lease: Lease = {
            key,
            frames: new FrameStream(stream, this.frameMaxBytes),
            nextId: 1,
            cap: undefined,
            capAgain: true,
            cancel: new AbortController(),
          }
          stream.addEventListener('close', () => this.forget(lease))
          return lease
        } catch (err) {
          pool.busy--
          throw err
        }
      }
      const handed = await new Promise<Lease | undefined>((resolve, reject) => {
        const onAbort = (): void => {
          pool.waiting.splice(pool.waiting.indexOf(wake), 1)
          reject(signal.reason)
        }
        const wake = (lease: Lease | undefined): void => {
          signal.removeEventListener('abort', onAbort)
          resolve(lease)
        }
        pool.waiting.push(wake)
        signal.addEventListener('abort', onAbort, { once: true })
      })
      if (handed !== undefined) return handed
    }
  }

  /** A lease whose request finished: hand it to a waiting caller, keep it idle, or close it. */
  private release(lease: Lease): void {
    const pool = this.pools.get(lease.key)
    if (pool === undefined) {
      void lease.frames.stream.close().catch(() => {})
      return
    }
    const waiter = pool.waiting.shift()
    if (waiter !== undefined) {
      waiter(lease)
      return
    }
    pool.busy--
    if (pool.idle.length < LIMITS.rpcIdleStreamsPerPeer) pool.idle.push(lease)
    else void lease.frames.stream.close().catch(() => {})
  }

  /** A lease whose stream was aborted mid-request: free its slot and let a waiter open a new stream. */
  private discard(lease: Lease): void {
    const pool = this.pools.get(lease.key)
    if (pool === undefined) return
    pool.busy--
    pool.waiting.shift()?.(undefined)
  }

  /** A stream closed by the remote or the connection: drop it from the idle list. */
  private forget(lease: Lease): void {
    const pool = this.pools.get(lease.key)
    if (pool === undefined) return
    const index = pool.idle.indexOf(lease)
    if (index >= 0) pool.idle.splice(index, 1)
    if (pool.idle.length === 0 && pool.busy === 0 && pool.waiting.length === 0) this.pools.delete(lease.key)
  }
}

/** One request's deadline and its caller's signal, aimed at the AbortController of whatever the request waits on
 *  (a dial or a free stream first, then its stream's). A timer cleared when the request settles, where
 *  AbortSignal.timeout + AbortSignal.any cost tens of microseconds per request (a timer left running for the
 *  full timeout, weak references for the GC) and a listener on a fresh AbortSignal several more. */
class RequestDeadline {
  timedOut = false
  private readonly startedAt = performance.now()
  private target: AbortController | undefined
  private cut = false
  private cutReason: unknown
  private readonly timer: ReturnType<typeof setTimeout>
  private readonly caller: AbortSignal | undefined

  constructor(timeoutMs: number, caller: AbortSignal | undefined) {
    this.caller = caller
    this.timer = setTimeout(RequestDeadline.expire, Math.min(timeoutMs, 2_147_483_647), this)
    // Like AbortSignal.timeout, a pending deadline does not keep the process alive.
    ;(this.timer as { unref?: () => void }).unref?.()
    caller?.addEventListener('abort', this)
  }

  /** Points the deadline at `controller` (nothing: disarmed); aborts it at once if the request was already cut. */
  aim(controller: AbortController): AbortSignal
  aim(controller: undefined): undefined
  aim(controller: AbortController | undefined): AbortSignal | undefined {
    this.target = controller
    if (this.cut) controller?.abort(this.cutReason)
    return controller?.signal
  }

  /** Milliseconds since the request started. */
  elapsedMs(): number {
    return performance.now() - this.startedAt
  }

  clear(): void {
    clearTimeout(this.timer)
    this.caller?.removeEventListener('abort', this)
    this.target = undefined
  }

  /** The caller's signal fired (EventListener object: no closure per request). */
  handleEvent(): void {
    this.abort(this.caller?.reason)
  }

  /** The caller cancelled through a RequestCut. */
  cancel(reason: unknown): void {
    this.abort(reason)
  }

  private static expire(deadline: RequestDeadline): void {
    deadline.timedOut = true
    deadline.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))
  }

  private abort(reason: unknown): void {
    if (this.cut) return
    this.cut = true
    this.cutReason = reason
    this.target?.abort(reason)
  }
}

/** What a RequestCut cancels: a running request (its RequestDeadline). */
export interface Cancellable {
  cancel(reason: unknown): void
}

/**
 * Cancels requests without an AbortSignal. A caller that makes a request per task and cancels few of them (the task
 * service) saves what a signal costs per request: Node makes the AbortSignal when it is first read (~6 µs), and the
 * request's listener on it is added and removed (~6 µs more). A request given a cut attaches itself while it runs;
 * cancel() cuts every attached request as an aborted signal would (REQUEST_ABORTED), and a request that starts after
 * it fails at once. One cut may serve several requests (a task's attempts).
 */
export class RequestCut {
  cancelled = false
  reason: unknown
  private readonly attached = new Set<Cancellable>()

  cancel(reason: unknown): void {
    if (this.cancelled) return
    this.cancelled = true
    this.reason = reason
    for (const request of this.attached) request.cancel(reason)
    this.attached.clear()
  }

  /** @internal A request starting (RpcService.request). */
  attach(request: Cancellable): void {
    if (this.cancelled) request.cancel(this.reason)
    else this.attached.add(request)
  }

  /** @internal A request ending. */
  detach(request: Cancellable): void {
    this.attached.delete(request)
  }
}

/** A handler's context, made as it is used: a fresh random trace id, a child logger and an AbortController per
 *  request cost more than decoding a small request, and most handlers use none of them. The signal, once asked
 *  for, is already aborted if the deadline passed or the caller went away before. */
class HandlerContext implements RpcContext {
  readonly remotePeer: PeerId
  readonly connection: Connection
  sendPart?: (body: unknown) => Promise<void>
  private readonly parentLogger: Logger
  private trace: string | undefined
  private traced: Logger | undefined
  private controller: AbortController | undefined
  private abortReason: unknown
  private fired = false

  /** `remotePeer`: the source of a routed request, when it is not the connection's peer. */
  constructor(connection: Connection, traceId: string | undefined, parentLogger: Logger, remotePeer: PeerId = connection.remotePeer) {
    this.remotePeer = remotePeer
    this.connection = connection
    this.trace = traceId
    this.parentLogger = parentLogger
  }

  get traceId(): string {
    this.trace ??= newTraceId()
    return this.trace
  }

  get logger(): Logger {
    this.traced ??= tracedLogger(this.parentLogger, this.traceId)
    return this.traced
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.fired) this.controller.abort(this.abortReason)
    }
    return this.controller.signal
  }

  get aborted(): boolean {
    return this.fired
  }

  /** The first reason wins, as with AbortController. */
  abort(reason: unknown): void {
    if (this.fired) return
    this.fired = true
    this.abortReason = reason
    this.controller?.abort(reason)
  }
}

/** A served request's deadline and heartbeats on one timer: it aborts the handler's context once `timeoutMs` has
 *  passed, and until then sends a heartbeat frame for request `id` every `heartbeatMs` (at least
 *  LIMITS.rpcHeartbeatMinMs: a caller cannot make us flood the stream) when the caller asked for them. A write that
 *  fails ends the heartbeats (the stream is going away). One timer instead of a timeout and an interval: both were
 *  made and cleared for every request, and most requests end long before either fires. */
class ServeTimer {
  private readonly deadline: number
  private heartbeatMs: number | undefined
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly context: HandlerContext,
    private readonly frames: FrameStream,
    private readonly id: number,
    timeoutMs: number,
    heartbeatMs: number | undefined,
  ) {
    const now = performance.now()
    this.deadline = now + Math.min(timeoutMs, 2_147_483_647)
    this.heartbeatMs = heartbeatMs === undefined ? undefined : Math.max(heartbeatMs, LIMITS.rpcHeartbeatMinMs)
    this.arm(now)
  }

  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private arm(now: number): void {
    const untilDeadline = Math.max(0, this.deadline - now)
    const delay = this.heartbeatMs === undefined ? untilDeadline : Math.min(this.heartbeatMs, untilDeadline)
    this.timer = setTimeout(ServeTimer.fire, delay, this)
  }

  private static fire(self: ServeTimer): void {
    if (self.timer === undefined) return
    const now = performance.now()
    if (now >= self.deadline) {
      self.timer = undefined
      self.context.abort(new NoodleError('REQUEST_TIMEOUT', "the caller's deadline passed"))
      return
    }
    if (self.heartbeatMs !== undefined) {
      self.frames.write({ id: self.id, ok: true, hb: true, body: null }).catch(() => {
        self.heartbeatsFailed()
      })
    }
    self.arm(now)
  }

  /** The stream is going away: no more heartbeats, the deadline still holds. */
  private heartbeatsFailed(): void {
    if (this.timer === undefined || this.heartbeatMs === undefined) return
    this.heartbeatMs = undefined
    clearTimeout(this.timer)
    this.arm(performance.now())
  }
}

/** A handler's sendPart on a direct stream: one frame per part, in call order, before the final answer. */
function partSender(frames: FrameStream, id: number): (body: unknown) => Promise<void> {
  return (body) => frames.write({ id, ok: true, part: true, body })
}

/** The error a peer answered with, as this side throws it. */
export function fromWireError(error: WireError): NoodleError {
  return new NoodleError(error.code as NoodleErrorCode, error.message, '', { retryAfterMs: error.retryAfterMs })
}

export function toWireError(err: unknown): WireError {
  if (err instanceof NoodleError) {
    const wire: WireError = { code: err.code, message: err.sentence.slice(0, 2048) }
    if (err.retryAfterMs !== undefined) wire.retryAfterMs = Math.max(0, Math.round(err.retryAfterMs))
    return wire
  }
  return { code: 'HANDLER_FAILED', message: `the handler failed: ${String((err as Error)?.message ?? err).slice(0, 1900)}` }
}
