// Request/response between two nodes as a specification: typed requests and answers, streams kept for reuse,
// errors that arrive as codes, deadlines and cancellation that reach the remote handler, and a node that shrugs
// off garbage on a stream and keeps serving.

import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import * as v from 'valibot'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  defineProtocol,
  encodeFrame,
  FrameStream,
  LIMITS,
  NoodleError,
  type NoodleNode,
  RequestCut,
  type RpcContext,
  RpcResponseSchema,
} from '../src/index.js'
import { eventually, type MemorySink, startMesh, taskAuthority } from './test-platform.js'

/** Test protocols are PUBLIC and need no capability: the gate lets them through (and audits them). */
const OPEN = { command: '/test', level: 'PUBLIC', capability: 'optional' } as const

const ECHO = defineProtocol(
  '/noodlenet/test/echo/1.0.0',
  v.object({ text: v.string(), data: v.optional(v.instance(Uint8Array)) }),
  v.object({ text: v.string(), data: v.optional(v.instance(Uint8Array)), from: v.string() }),
)
const WAIT = defineProtocol('/noodlenet/test/wait/1.0.0', v.object({}), v.object({}))
const FAIL = defineProtocol('/noodlenet/test/fail/1.0.0', v.object({ plain: v.boolean() }), v.object({}))
const NOBODY = defineProtocol('/noodlenet/test/nobody/1.0.0', v.object({}), v.object({}))
const STUCK = defineProtocol('/noodlenet/test/stuck/1.0.0', v.object({}), v.object({}))

let nodes: NoodleNode[] = []
/** The node that serves, and the node that asks. */
let server: NoodleNode
let client: NoodleNode

beforeEach(async () => {
  nodes = await startMesh(2)
  ;[server, client] = nodes
  await eventually(() => client.peers().length === 1 && server.peers().length === 1, 10_000, 'the two nodes to connect')
  await server.rpc.handle(ECHO, OPEN, async (request, context) => ({ ...request, from: context.remotePeer.toString() }))
})

afterEach(async () => {
  await Promise.all(nodes.map((node) => node.stop()))
  nodes = []
})

/** Open streams between the two nodes for `protocol`, as `node` sees them. */
function openStreams(node: NoodleNode, protocol: string): Stream[] {
  const other = node === client ? server : client
  return node.libp2p
    .getConnections(other.peerId)
    .flatMap((connection) => connection.streams)
    .filter((stream) => stream.protocol === protocol && stream.status === 'open')
}

async function rejection(promise: Promise<unknown>): Promise<NoodleError> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(NoodleError)
    return err as NoodleError
  }
  throw new Error('expected the request to fail, but it was answered')
}

/** A promise and the function that resolves it, for events a handler reports. */
function deferred<T = void>(): { promise: Promise<T>; fire: (value: T) => void } {
  let fire!: (value: T) => void
  const promise = new Promise<T>((resolve) => {
    fire = resolve
  })
  return { promise, fire }
}

/** A handler that reports when it starts and when its AbortSignal fires, and waits for that signal. `flags`: its
 *  context's `aborted` when it starts and when the signal fires. */
function waitForAbort() {
  const started = deferred()
  const aborted = deferred<unknown>()
  const flags: boolean[] = []
  const handler = async (_request: unknown, context: RpcContext): Promise<Record<string, never>> => {
    flags.push(context.aborted)
    started.fire()
    return await new Promise((_resolve, reject) => {
      context.signal.addEventListener('abort', () => {
        flags.push(context.aborted)
        aborted.fire(context.signal.reason)
        reject(context.signal.reason)
      })
    })
  }
  return { handler, started: started.promise, aborted: aborted.promise, flags }
}

describe('requests and answers', () => {
  it("a request is answered with the handler's validated response; binary stays binary", async () => {
    const data = crypto.getRandomValues(new Uint8Array(4096))
    const response = await client.rpc.request(server.peerId, ECHO, { text: 'hello', data })
    expect(response.text).toBe('hello')
    expect(response.from).toBe(client.peerId.toString())
    expect(response.data).toBeInstanceOf(Uint8Array)
    expect(Array.from(response.data as Uint8Array)).toEqual(Array.from(data))
  })

  it('both nodes can serve and ask at once', async () => {
    await client.rpc.handle(ECHO, OPEN, async (request) => ({ ...request, from: 'client' }))
    const [there, back] = await Promise.all([
      client.rpc.request(server.peerId, ECHO, { text: 'there' }),
      server.rpc.request(client.peerId, ECHO, { text: 'back' }),
    ])
    expect(there).toEqual({ text: 'there', from: client.peerId.toString() })
    expect(back).toEqual({ text: 'back', from: 'client' })
  })

  it('sequential requests reuse one stream instead of opening one each', async () => {
    await client.rpc.request(server.peerId, ECHO, { text: 'first' })
    const [first] = openStreams(client, ECHO.protocol)
    expect(first).toBeDefined()
    for (let i = 0; i < 50; i++) {
      const response = await client.rpc.request(server.peerId, ECHO, { text: `request ${i}` })
      expect(response.text).toBe(`request ${i}`)
      expect(openStreams(client, ECHO.protocol).length).toBeLessThanOrEqual(1)
    }
    expect(openStreams(client, ECHO.protocol).map((stream) => stream.id)).toEqual([first.id])
  })

  it('onSent fires once the request is on the stream, before the handler answers', async () => {
    const { handler, started } = waitForAbort()
    await server.rpc.handle(WAIT, OPEN, handler)
    const events: string[] = []
    const controller = new AbortController()
    const request = client.rpc.request(server.peerId, WAIT, {}, { signal: controller.signal, onSent: () => events.push('sent') })
    await started
    events.push('handler started')
    controller.abort()
    expect((await rejection(request)).code).toBe('REQUEST_ABORTED')
    expect(events).toEqual(['sent', 'handler started'])
  })

  it('200 concurrent requests are each answered with their own response', async () => {
    await server.rpc.handle(WAIT, OPEN, async () => ({}))
    const texts = Array.from({ length: 200 }, (_, i) => `request ${i}`)
    const responses = await Promise.all(
      texts.map((text) => client.rpc.request(server.peerId, ECHO, { text, data: new TextEncoder().encode(text) })),
    )
    expect(responses.map((response) => response.text)).toEqual(texts)
    expect(responses.map((response) => new TextDecoder().decode(response.data))).toEqual(texts)
    // The burst needed many streams; afterwards only the idle pool stays open.
    await eventually(() => openStreams(client, ECHO.protocol).length <= LIMITS.rpcIdleStreamsPerPeer, 10_000, 'surplus streams to close')
    expect(await client.rpc.request(server.peerId, ECHO, { text: 'after' })).toMatchObject({ text: 'after' })
  })

  it('a handler that answers in parts: the caller gets each part, validated, before the final answer', async () => {
    const COUNT = defineProtocol('/noodlenet/test/count/1.0.0', v.object({ upTo: v.number() }), v.object({ n: v.number() }))
    await server.rpc.handle(COUNT, OPEN, async ({ upTo }, context) => {
      for (let n = 1; n < upTo; n++) await context.sendPart?.({ n })
      return { n: upTo }
    })
    const parts: number[] = []
    const final = await client.rpc.request(server.peerId, COUNT, { upTo: 4 }, { onPart: (part) => parts.push(part.n) })
    expect(parts).toEqual([1, 2, 3])
    expect(final).toEqual({ n: 4 })
    // The stream is in step for the next request, parts or not.
    expect(await client.rpc.request(server.peerId, COUNT, { upTo: 1 })).toEqual({ n: 1 })
    // A part that fails the protocol's schema fails the request as a bad answer would.
    await server.rpc.handle(WAIT, OPEN, async (_request, context) => {
      await context.sendPart?.({ wrong: true })
      return {}
    })
    const WAIT_STRICT = defineProtocol(WAIT.protocol, v.object({}), v.strictObject({}))
    expect((await rejection(client.rpc.request(server.peerId, WAIT_STRICT, {}, { onPart: () => {} }))).code).toBe('FRAME_INVALID')
  })

  it('a traceId passed by the caller reaches the handler and its log lines', async () => {
    const seen = deferred<string>()
    await server.rpc.handle(WAIT, OPEN, async (_request, context) => {
      seen.fire(context.traceId)
      context.logger.warning('handling traced request')
      return {}
    })
    await client.rpc.request(server.peerId, WAIT, {}, { traceId: 'trace-0123456789abcdef' })
    expect(await seen.promise).toBe('trace-0123456789abcdef')
    const line = (server.platform.logSink as MemorySink).records().find((record) => record.msg === 'handling traced request')
    expect(line).toMatchObject({ traceId: 'trace-0123456789abcdef', component: 'rpc' })
  })

  it('without a traceId the handler gets a fresh one', async () => {
    const ids: string[] = []
    await server.rpc.handle(WAIT, OPEN, async (_request, context) => {
      ids.push(context.traceId)
      return {}
    })
    await client.rpc.request(server.peerId, WAIT, {})
    await client.rpc.request(server.peerId, WAIT, {})
    expect(ids).toHaveLength(2)
    expect(ids[0]).toMatch(/^[0-9a-f]{32}$/)
    expect(ids[1]).not.toBe(ids[0])
  })
})

describe('errors arrive as codes', () => {
  beforeEach(async () => {
    await server.rpc.handle(FAIL, OPEN, async (request) => {
      if (request.plain) throw new Error('disk on fire')
      throw new NoodleError('KEY_INVALID', 'the key was revoked', 'Ask for a new key')
    })
  })

  it('a handler that throws a NoodleError: the caller gets its code and sentence', async () => {
    const err = await rejection(client.rpc.request(server.peerId, FAIL, { plain: false }))
    expect(err.code).toBe('KEY_INVALID')
    expect(err.message).toContain('the key was revoked')
    expect(err.message).toContain('Ask for a new key')
  })

  it('a handler that throws a plain Error: the caller gets HANDLER_FAILED with its message', async () => {
    const err = await rejection(client.rpc.request(server.peerId, FAIL, { plain: true }))
    expect(err.code).toBe('HANDLER_FAILED')
    expect(err.message).toContain('disk on fire')
  })

  it('a failed handler leaves the stream usable for the next request', async () => {
    await rejection(client.rpc.request(server.peerId, FAIL, { plain: true }))
    const [stream] = openStreams(client, FAIL.protocol)
    await rejection(client.rpc.request(server.peerId, FAIL, { plain: false }))
    expect(openStreams(client, FAIL.protocol).map((s) => s.id)).toEqual([stream.id])
  })

  it("a request body that fails the protocol's schema: FRAME_INVALID, and the connection stays usable", async () => {
    const [connection] = client.libp2p.getConnections(server.peerId)
    const bad = { text: 42 } as unknown as { text: string }
    const err = await rejection(client.rpc.request(server.peerId, ECHO, bad))
    expect(err.code).toBe('FRAME_INVALID')
    expect(err.message).toContain('text')
    expect(await client.rpc.request(server.peerId, ECHO, { text: 'fine' })).toMatchObject({ text: 'fine' })
    expect(client.libp2p.getConnections(server.peerId).map((c) => c.id)).toContain(connection.id)
  })

  it("a response that fails the protocol's schema: FRAME_INVALID at the caller", async () => {
    const LIAR = defineProtocol('/noodlenet/test/liar/1.0.0', v.object({}), v.object({ count: v.number() }))
    await server.rpc.handle(LIAR, OPEN, async () => ({ count: 'many' }) as unknown as { count: number })
    const err = await rejection(client.rpc.request(server.peerId, LIAR, {}))
    expect(err.code).toBe('FRAME_INVALID')
    expect(err.message).toContain('count')
  })

  it('a handler whose answer cannot cross the wire: the caller gets FRAME_INVALID saying why', async () => {
    const RATIO = defineProtocol('/noodlenet/test/ratio/1.0.0', v.object({}), v.object({ ratio: v.number() }))
    await server.rpc.handle(RATIO, OPEN, async () => ({ ratio: 0 / 0 }))
    const err = await rejection(client.rpc.request(server.peerId, RATIO, {}))
    expect(err.code).toBe('FRAME_INVALID')
    expect(err.message).toContain('NaN')
  })

  it('a request body that cannot cross the wire fails at the caller with FRAME_INVALID', async () => {
    const bad = { text: 'x', data: new Date(0) } as unknown as { text: string }
    const err = await rejection(client.rpc.request(server.peerId, ECHO, bad))
    expect(err.code).toBe('FRAME_INVALID')
    expect(await client.rpc.request(server.peerId, ECHO, { text: 'fine' })).toMatchObject({ text: 'fine' })
  })

  it('a request or an answer over network.frameMaxBytes: FRAME_TOO_LARGE', async () => {
    const small = await startMesh(2, { network: { frameMaxBytes: 4096 } })
    nodes.push(...small)
    const [smallServer, smallClient] = small
    await smallServer.rpc.handle(ECHO, OPEN, async (request) => ({ ...request, data: new Uint8Array(8192), from: 'server' }))
    await eventually(() => smallClient.peers().length >= 1, 10_000, 'the two nodes to connect')
    const tooBig = await rejection(smallClient.rpc.request(smallServer.peerId, ECHO, { text: 'big', data: new Uint8Array(8192) }))
    expect(tooBig.code).toBe('FRAME_TOO_LARGE')
    const answerTooBig = await rejection(smallClient.rpc.request(smallServer.peerId, ECHO, { text: 'small' }))
    expect(answerTooBig.code).toBe('FRAME_TOO_LARGE')
  })

  it('a protocol the peer does not serve: PROTOCOL_UNSUPPORTED', async () => {
    const err = await rejection(client.rpc.request(server.peerId, NOBODY, {}))
    expect(err.code).toBe('PROTOCOL_UNSUPPORTED')
    expect(await client.rpc.request(server.peerId, ECHO, { text: 'still here' })).toMatchObject({ text: 'still here' })
  })

  it('a peer that cannot be reached: PEER_UNREACHABLE', async () => {
    const stranger = peerIdFromString('12D3KooWGRUVh6bsFc4FdYjuAnjyA6FEL3RUJ6SKrz5wRQsyedsX')
    const err = await rejection(client.rpc.request(stranger, ECHO, { text: 'anyone?' }, { timeoutMs: 2_000 }))
    expect(err.code).toBe('PEER_UNREACHABLE')
  })
})

describe('deadlines and cancellation', () => {
  it("a handler slower than the deadline: the caller gets REQUEST_TIMEOUT and the handler's signal fires", async () => {
    const slow = waitForAbort()
    await server.rpc.handle(WAIT, OPEN, slow.handler)
    const began = Date.now()
    const err = await rejection(client.rpc.request(server.peerId, WAIT, {}, { timeoutMs: 300 }))
    expect(err.code).toBe('REQUEST_TIMEOUT')
    expect(Date.now() - began).toBeGreaterThanOrEqual(250)
    const reason = await slow.aborted
    expect(reason).toBeInstanceOf(NoodleError)
    expect(['REQUEST_TIMEOUT', 'REQUEST_ABORTED']).toContain((reason as NoodleError).code)
    expect(slow.flags).toEqual([false, true])
    expect(await client.rpc.request(server.peerId, ECHO, { text: 'next' })).toMatchObject({ text: 'next' })
  })

  it('a slow handler sends heartbeats while it works, none after its answer, and they do not hold off the deadline', async () => {
    let release!: () => void
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    await server.rpc.handle(WAIT, OPEN, async () => {
      await released
      return {}
    })
    let beats = 0
    const answer = client.rpc.request(server.peerId, WAIT, {}, { timeoutMs: 30_000, heartbeatMs: 100, onHeartbeat: () => beats++ })
    await eventually(() => beats >= 3, 10_000, 'three heartbeats')
    release()
    await answer
    const after = beats
    // The next request on the stream hears no heartbeat of the finished one.
    expect(await client.rpc.request(server.peerId, ECHO, { text: 'next' }, { heartbeatMs: 100 })).toMatchObject({ text: 'next' })
    expect(beats).toBe(after)

    const slow = waitForAbort()
    await server.rpc.handle(STUCK, OPEN, slow.handler)
    const err = await rejection(client.rpc.request(server.peerId, STUCK, {}, { timeoutMs: 400, heartbeatMs: 100 }))
    expect(err.code).toBe('REQUEST_TIMEOUT')
    expect(['REQUEST_TIMEOUT', 'REQUEST_ABORTED']).toContain(((await slow.aborted) as NoodleError).code)
  })

  it("the node's default deadline applies when the caller names none", async () => {
    const quick = await startMesh(2, { network: { requestTimeoutMs: 200 } })
    nodes.push(...quick)
    const [quickServer, quickClient] = quick
    const slow = waitForAbort()
    await quickServer.rpc.handle(WAIT, OPEN, slow.handler)
    await eventually(() => quickClient.peers().length >= 1, 10_000, 'the two nodes to connect')
    const err = await rejection(quickClient.rpc.request(quickServer.peerId, WAIT, {}))
    expect(err.code).toBe('REQUEST_TIMEOUT')
    await slow.aborted
  })

  it("a caller that cancels with its AbortSignal gets REQUEST_ABORTED and the handler's signal fires", async () => {
    const slow = waitForAbort()
    await server.rpc.handle(WAIT, OPEN, slow.handler)
    const controller = new AbortController()
    const pending = rejection(client.rpc.request(server.peerId, WAIT, {}, { signal: controller.signal, timeoutMs: 20_000 }))
    await slow.started
    controller.abort()
    const err = await pending
    expect(err.code).toBe('REQUEST_ABORTED')
    const reason = await slow.aborted
    expect((reason as NoodleError).code).toBe('REQUEST_ABORTED')
    expect(await client.rpc.request(server.peerId, ECHO, { text: 'next' })).toMatchObject({ text: 'next' })
  })

  it('a signal that is already aborted fails the request at once', async () => {
    const err = await rejection(client.rpc.request(server.peerId, ECHO, { text: 'never' }, { signal: AbortSignal.abort() }))
    expect(err.code).toBe('REQUEST_ABORTED')
  })

  it('a RequestCut cancels like a signal: the requests it was given, at once the ones after, and none it was not', async () => {
    const slow = waitForAbort()
    await server.rpc.handle(WAIT, OPEN, slow.handler)
    const cut = new RequestCut()
    // Two requests on one cut (a task's two attempts): cancel() ends both.
    const first = rejection(client.rpc.request(server.peerId, WAIT, {}, { cut, timeoutMs: 20_000 }))
    const second = rejection(client.rpc.request(server.peerId, WAIT, {}, { cut, timeoutMs: 20_000 }))
    await slow.started
    const unrelated = client.rpc.request(server.peerId, ECHO, { text: 'other' }, { cut: new RequestCut() })
    cut.cancel(new Error('not needed any more'))
    expect((await first).code).toBe('REQUEST_ABORTED')
    expect((await second).code).toBe('REQUEST_ABORTED')
    expect(((await slow.aborted) as NoodleError).code).toBe('REQUEST_ABORTED')
    expect(await unrelated).toMatchObject({ text: 'other' })
    // Cancelled before it starts: fails at once, nothing sent.
    expect((await rejection(client.rpc.request(server.peerId, ECHO, { text: 'never' }, { cut }))).code).toBe('REQUEST_ABORTED')
    expect(await client.rpc.request(server.peerId, ECHO, { text: 'next' })).toMatchObject({ text: 'next' })
  })
})

describe('capability tokens on a kept stream', () => {
  const GATED_COMMAND = { command: '/task/run', level: 'PUBLIC', capability: 'required' } as const
  const GATED = defineProtocol('/noodlenet/test/gated/1.0.0', v.object({ n: v.number() }), v.object({ n: v.number() }))

  /** Two nodes of their own, the first trusting the authority whose tokens `grant` makes for the second. */
  async function gatedPair(): Promise<{ gated: NoodleNode; asker: NoodleNode; grant: () => Promise<string> }> {
    const authority = await taskAuthority()
    const pair = await startMesh(2, { security: { trustedRoots: [authority.root] } })
    nodes.push(...pair)
    const [gated, asker] = pair
    await eventually(() => asker.peers().length === 1, 10_000, 'the two nodes to connect')
    return { gated, asker, grant: () => authority.grant(asker) }
  }

  /** The request envelopes written from now on (answers, which carry `ok`, left out). */
  function requestsWritten(): Array<Record<string, unknown>> {
    const written: Array<Record<string, unknown>> = []
    const original = FrameStream.prototype.write
    vi.spyOn(FrameStream.prototype, 'write').mockImplementation(function (this: FrameStream, value, signal) {
      if (!('ok' in (value as object))) written.push(value as Record<string, unknown>)
      return original.call(this, value, signal)
    })
    return written
  }

  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('a token goes once per stream: later requests with it say capAgain, and the gate gets it each time', async () => {
    const { gated, asker, grant } = await gatedPair()
    await gated.rpc.handle(GATED, GATED_COMMAND, async (request) => request)
    const first = await grant()
    const second = await grant()
    expect(second).not.toBe(first)
    const written = requestsWritten()
    for (const [n, capability] of [first, first, first, second, second].entries()) {
      // A capability is required: each answer is the gate's allowance of the token.
      expect(await asker.rpc.request(gated.peerId, GATED, { n }, { capability })).toEqual({ n })
    }
    const streams = asker.libp2p.getConnections(gated.peerId).flatMap((connection) => connection.streams)
    expect(streams.filter((stream) => stream.protocol === GATED.protocol && stream.status === 'open')).toHaveLength(1)
    expect(written.map((frame) => (frame.capAgain === true ? 'again' : frame.cap === first ? 'first' : 'second'))).toEqual([
      'first',
      'again',
      'again',
      'second',
      'again',
    ])
    expect(written.filter((frame) => frame.capAgain === true && frame.cap !== undefined)).toEqual([])
    // The stream's token serves only a request that asks for it.
    expect((await rejection(asker.rpc.request(gated.peerId, GATED, { n: 5 }))).code).toBe('CAPABILITY_MISSING')
    expect(await asker.rpc.request(gated.peerId, GATED, { n: 6 }, { capability: second })).toEqual({ n: 6 })
  })

  it('a peer that predates capAgain: the refused request goes again with its token, and that stream sends it in full', async () => {
    const { gated, asker, grant } = await gatedPair()
    // An older peer: it reads the envelope's `cap` and nothing else.
    const seen: Array<string | undefined> = []
    await gated.libp2p.handle(GATED.protocol, async (stream) => {
      const frames = new FrameStream(stream, LIMITS.frameMaxBytes)
      for (;;) {
        const request = await frames.read(v.object({ id: v.number(), cap: v.optional(v.string()), body: v.unknown() }))
        if (request === null) break
        seen.push(request.cap === undefined ? undefined : 'token')
        await frames.write(
          request.cap === undefined
            ? { id: request.id, ok: false, error: { code: 'CAPABILITY_MISSING', message: 'no token' } }
            : { id: request.id, ok: true, body: request.body },
        )
      }
      await frames.end()
    })
    const capability = await grant()
    for (let n = 0; n < 3; n++) expect(await asker.rpc.request(gated.peerId, GATED, { n }, { capability })).toEqual({ n })
    expect(seen).toEqual(['token', undefined, 'token', 'token'])
  })
})

describe('garbage on a stream', () => {
  /** Reads what the server sends back on a raw stream until it ends its side. */
  async function drain(frames: FrameStream): Promise<Array<v.InferOutput<typeof RpcResponseSchema>>> {
    const received: Array<v.InferOutput<typeof RpcResponseSchema>> = []
    try {
      while (true) {
        const frame = await frames.read(RpcResponseSchema)
        if (frame === null) return received
        received.push(frame)
      }
    } catch {
      return received // reset by the server: also an end
    }
  }

  async function rawStream(): Promise<{ stream: Stream; frames: FrameStream }> {
    const stream = await client.libp2p.dialProtocol(server.peerId, ECHO.protocol)
    return { stream, frames: new FrameStream(stream, LIMITS.frameMaxBytes) }
  }

  it('a frame that is not CBOR is answered with FRAME_MALFORMED and the stream is closed', async () => {
    const { stream, frames } = await rawStream()
    stream.send(Uint8Array.from([3, 0xff, 0xff, 0xff])) // length 3, then three CBOR "break" bytes
    const received = await drain(frames)
    expect(received).toEqual([{ id: 0, ok: false, error: expect.objectContaining({ code: 'FRAME_MALFORMED' }) }])
    // After flushing its answer the server resets the stream: its slot is free without waiting for us to close.
    await eventually(() => openStreams(server, ECHO.protocol).length === 0, 5_000, 'the server to drop the stream')
    // The reset then crosses the connection; in Chromium, whose timers are clamped, it lands after the server's check.
    await eventually(() => stream.status !== 'open', 5_000, 'the reset to reach the client')
    expect(await client.rpc.request(server.peerId, ECHO, { text: 'still serving' })).toMatchObject({ text: 'still serving' })
  })

  it('a length prefix over the cap is answered with FRAME_TOO_LARGE and the stream is closed', async () => {
    const { stream, frames } = await rawStream()
    stream.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])) // varint for 4 GiB
    const received = await drain(frames)
    expect(received.map((frame) => (frame.ok ? 'ok' : frame.error.code))).toEqual(['FRAME_TOO_LARGE'])
    expect(await client.rpc.request(server.peerId, ECHO, { text: 'still serving' })).toMatchObject({ text: 'still serving' })
  })

  it('a stream the caller resets before sending anything is no bad frame: no warning, and the node keeps serving', async () => {
    const { stream } = await rawStream()
    await eventually(() => openStreams(server, ECHO.protocol).length === 1, 5_000, 'the server to see the stream')
    stream.abort(new Error('the caller died'))
    await eventually(() => openStreams(server, ECHO.protocol).length === 0, 5_000, 'the reset to reach the server')
    expect(await client.rpc.request(server.peerId, ECHO, { text: 'still serving' })).toMatchObject({ text: 'still serving' })
    const warnings = (server.platform.logSink as MemorySink).records().filter((record) => record.msg === 'bad frame; closing stream')
    expect(warnings).toEqual([])
  })

  it('a valid CBOR frame that is not a request envelope is answered with FRAME_INVALID', async () => {
    const { stream, frames } = await rawStream()
    const body = encodeFrame({ hello: 'world' }, 1024)
    stream.send(Uint8Array.from([body.byteLength, ...body]))
    const received = await drain(frames)
    expect(received.map((frame) => (frame.ok ? 'ok' : frame.error.code))).toEqual(['FRAME_INVALID'])
  })

  it('random bytes followed by the end of the stream: the stream ends and the node keeps serving', async () => {
    for (let round = 0; round < 20; round++) {
      const { stream, frames } = await rawStream()
      stream.send(crypto.getRandomValues(new Uint8Array(1 + round * 13)))
      await stream.close()
      const received = await drain(frames)
      for (const frame of received) if (!frame.ok) expect(frame.error.code).toMatch(/^FRAME_/)
    }
    await eventually(() => openStreams(server, ECHO.protocol).length === 0, 5_000, 'the server to close every garbage stream')
    expect(await client.rpc.request(server.peerId, ECHO, { text: 'still serving' })).toMatchObject({ text: 'still serving' })
  })
})
