// Request/response over length-prefixed streams, with deadlines and cancellation.
//
// A protocol is a name plus a request and a response schema. Callers `request()` a peer; the reply is validated
// before it is returned. Streams are kept open after a reply and reused for the next request to the same peer and
// protocol (like HTTP keep-alive), so a request costs one round trip, not a protocol negotiation as well. A
// deadline or an abort kills only that request's stream: the remote handler's AbortSignal fires and the
// connection lives on. Handlers are registered here; later the security gate sits in `handle()` so no handler can
// be reached without passing it.

import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { NoodleError, type NoodleErrorCode } from '../errors.js'
import { LIMITS } from '../limits.js'
import { type Logger, newTraceId, tracedLogger } from '../monitoring/logger.js'
import { type FrameSchema, validateFrame } from './codec.js'
import { FrameStream } from './frame-stream.js'
import { type RpcRequest, RpcRequestSchema, RpcResponseSchema, type WireError } from './wire-schemas.js'

export interface RpcProtocol<Req, Res> {
  /** libp2p protocol id, e.g. `/noodlenet/task/1.0.0`. */
  protocol: string
  request: FrameSchema<Req>
  response: FrameSchema<Res>
}

export function defineProtocol<Req, Res>(
  protocol: string,
  request: FrameSchema<Req>,
  response: FrameSchema<Res>,
): RpcProtocol<Req, Res> {
  return { protocol, request, response }
}

export interface RpcContext {
  remotePeer: PeerId
  connection: Connection
  traceId: string
  /** Fires when the caller's deadline passes or it cancels (its stream closes). */
  signal: AbortSignal
  logger: Logger
}

export type RpcHandler<Req, Res> = (request: Req, context: RpcContext) => Promise<Res>

export interface RequestOptions {
  signal?: AbortSignal
  timeoutMs?: number
  traceId?: string
}

export interface RpcComponents {
  libp2p: Libp2p
  logger: Logger
  frameMaxBytes: number
  requestTimeoutMs: number
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
}

const MAX_STREAMS_PER_PEER = 64

export class RpcService {
  private readonly libp2p: Libp2p
  private readonly logger: Logger
  private readonly frameMaxBytes: number
  private readonly requestTimeoutMs: number
  private readonly pools = new Map<string, StreamPool>()
  private readonly handled = new Set<string>()

  constructor(components: RpcComponents) {
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

  /** Serves `definition.protocol` with `handler`. Requests are validated before the handler sees them. */
  async handle<Req, Res>(definition: RpcProtocol<Req, Res>, handler: RpcHandler<Req, Res>): Promise<void> {
    await this.libp2p.handle(definition.protocol, (stream, connection) => this.serve(definition, handler, stream, connection), {
      maxInboundStreams: LIMITS.rpcInboundStreamsPerConnection,
    })
    this.handled.add(definition.protocol)
  }

  private async serve<Req, Res>(
    definition: RpcProtocol<Req, Res>,
    handler: RpcHandler<Req, Res>,
    stream: Stream,
    connection: Connection,
  ): Promise<void> {
    const frames = new FrameStream(stream, this.frameMaxBytes)
    let current: AbortController | undefined
    stream.addEventListener('close', () => current?.abort(new NoodleError('REQUEST_ABORTED', 'the caller went away')))
    while (true) {
      let envelope: RpcRequest | null
      let body: Req
      try {
        envelope = await frames.read(RpcRequestSchema)
        if (envelope === null) break
        body = validateFrame(envelope.body, definition.request)
      } catch (err) {
        // A bad frame: answer it with the typed error, close this stream, keep the connection.
        this.logger.warning({ peer: connection.remotePeer.toString(), protocol: definition.protocol, err: toWireError(err) }, 'bad frame; closing stream')
        await frames.write({ id: 0, ok: false, error: toWireError(err) }).catch(() => {})
        await stream.close().catch(() => stream.abort(new Error('close failed')))
        return
      }
      const traceId = envelope.traceId ?? newTraceId()
      const controller = new AbortController()
      current = controller
      const timeoutMs = Math.min(envelope.timeoutMs ?? this.requestTimeoutMs, 2_147_483_647)
      const timer = setTimeout(() => controller.abort(new NoodleError('REQUEST_TIMEOUT', 'the caller\'s deadline passed')), timeoutMs)
      try {
        const result = await handler(body, {
          remotePeer: connection.remotePeer,
          connection,
          traceId,
          signal: controller.signal,
          logger: tracedLogger(this.logger, traceId),
        })
        await frames.write({ id: envelope.id, ok: true, body: result })
      } catch (err) {
        if (!(err instanceof NoodleError)) {
          this.logger.error({ traceId, protocol: definition.protocol, err }, 'handler failed')
        }
        try {
          await frames.write({ id: envelope.id, ok: false, error: toWireError(err) })
        } catch {
          break
        }
      } finally {
        clearTimeout(timer)
        current = undefined
      }
    }
    await stream.close().catch(() => {})
  }

  /** Sends one request and returns the validated response, or throws a NoodleError. */
  async request<Req, Res>(peer: PeerId, definition: RpcProtocol<Req, Res>, body: Req, options: RequestOptions = {}): Promise<Res> {
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs
    const deadline = AbortSignal.timeout(timeoutMs)
    const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline])
    const failure = (err: unknown): NoodleError => {
      if (err instanceof NoodleError) return err
      if (options.signal?.aborted === true) return new NoodleError('REQUEST_ABORTED', `request to ${peer} on ${definition.protocol} was cancelled`, '', { cause: err })
      if (deadline.aborted) {
        return new NoodleError('REQUEST_TIMEOUT', `no answer from ${peer} on ${definition.protocol} within ${timeoutMs} ms`, 'Retry, or raise the timeout.', { cause: err })
      }
      const name = (err as Error)?.name
      if (name === 'UnsupportedProtocolError' || name === 'ProtocolNegotiationError') {
        return new NoodleError('PROTOCOL_UNSUPPORTED', `${peer} does not serve ${definition.protocol}`, 'Check that the peer runs a compatible NoodleNet version.', { cause: err })
      }
      return new NoodleError('PEER_UNREACHABLE', `cannot reach ${peer} on ${definition.protocol}: ${(err as Error)?.message}`, 'Check that the peer is up and connected.', { cause: err })
    }

    let lease: Lease
    try {
      lease = await this.acquire(peer, definition.protocol, signal)
    } catch (err) {
      throw failure(err)
    }
    const id = lease.nextId++
    let released = false
    try {
      await lease.frames.write({ id, timeoutMs, traceId: options.traceId, body }, signal)
      const response = await lease.frames.read(RpcResponseSchema, signal)
      if (response === null) throw new NoodleError('STREAM_CLOSED', `${peer} closed the stream before answering`, 'Retry; the peer may be restarting.')
      if (response.id !== id) throw new NoodleError('FRAME_INVALID', `${peer} answered request ${response.id}, expected ${id}`, 'The peer must speak this protocol version.')
      this.release(lease)
      released = true
      if (!response.ok) throw new NoodleError(response.error.code as NoodleErrorCode, response.error.message)
      return validateFrame(response.body, definition.response)
    } catch (err) {
      const error = failure(err)
      if (!released) {
        // The stream is out of step (or the caller gave up mid-request): kill it so the remote handler stops.
        lease.frames.stream.abort(error)
        this.discard(lease)
      }
      throw error
    }
  }

  private async acquire(peer: PeerId, protocol: string, signal: AbortSignal): Promise<Lease> {
    const key = `${peer.toString()} ${protocol}`
    let pool = this.pools.get(key)
    if (pool === undefined) {
      pool = { idle: [], busy: 0, waiting: [] }
      this.pools.set(key, pool)
    }
    while (true) {
      const idle = pool.idle.pop()
      if (idle !== undefined) {
        if (idle.frames.stream.status !== 'open' || idle.frames.stream.writeStatus !== 'writable') continue
        pool.busy++
        return idle
      }
      if (pool.busy < MAX_STREAMS_PER_PEER) {
        pool.busy++
        try {
          const stream = await this.libp2p.dialProtocol(peer, protocol, { signal, maxOutboundStreams: MAX_STREAMS_PER_PEER })
          const lease: Lease = { key, frames: new FrameStream(stream, this.frameMaxBytes), nextId: 1 }
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

export function toWireError(err: unknown): WireError {
  if (err instanceof NoodleError) return { code: err.code, message: err.sentence.slice(0, 2048) }
  return { code: 'HANDLER_FAILED', message: `the handler failed: ${String((err as Error)?.message ?? err).slice(0, 1900)}` }
}
