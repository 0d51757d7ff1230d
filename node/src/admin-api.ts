// The admin HTTP API of a Node peer, bound to 127.0.0.1 by default: whoever reaches it acts as this peer.
//   GET /health     {"status":"ok", peerId, version, uptimeSeconds, peers, executor: counters | null}
//   GET /api/peers  connected peers: peerId, transport, encryption, direction, rttMs, ...
//   GET /api/topology  {nodes, links: [{from, to, rttMs}], routes: {PEERID: {nextHop, hops, cost}}} (docs/ROUTING.md)
//   GET /api/health/peers  the failure detector's view: [{peerId, state: alive|suspect|dead, phi, silenceMs, throttled,
//                          breaker: closed|open|half-open, disagreements}] (this node's circuit breaker for the peer;
//                          its replica outputs outvoted by the others)
//   GET /metrics    Prometheus text format (docs/METRICS.md)
//   GET /api/alerts {firing, resolved, heard}: alerts firing here, resolved lately, heard from peers (docs/ALERTING.md)
//   GET /api/metrics/mesh  {self, peers: [{peer, platform, ageMs, summary}]}: the metrics summaries heard (docs/METRICS.md)
//   GET /api/history?metric=NAME[&since=ms]  {metric, series: [{labels, points: [{t, v}]}]}; without metric: {metrics}
//   POST /api/revocations  {"id","by","at","sig"(base64)}: a signed revocation to keep and gossip
//   POST /api/tasks        a task declaration (+ optional "token", "timeoutMs", "level", "replicas", "quorum") → {"id"}
//   GET /api/tasks/ID      {id, kernel, status: queued|running|done|failed, peer?, backend?, result?, error?};
//                          ?wait=S holds the answer up to S seconds until the task finishes
//   POST /api/kernels      {"wasm": base64} registers a custom WebAssembly kernel → {"kernel": "custom:<sha256>"}
// Binary values in task inputs and results are {"$bytes": base64} (json-bytes.ts).
// Routes are a table so later features (topology, metrics) add rows, not branches; `:name` matches one segment.
// Tasks submitted here act as this peer: they need no capability to run here, and carry the token given (or the
// peer's own) to others.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { LIMITS, NOODLENET_VERSION, NoodleError, type NoodleNode, parseTask, RevocationSchema, SECURITY_LEVELS } from '@noodlenet/shared'
import * as v from 'valibot'
import { fromJsonBytes, toJsonBytes } from './json-bytes.js'
import { TaskRecords } from './task-records.js'

export type RouteHandler = (req: IncomingMessage, node: NoodleNode, params: Record<string, string>) => Promise<unknown> | unknown

/** What POST /api/tasks takes besides the task declaration itself (which parseTask checks). */
const TaskExtrasSchema = v.object({
  token: v.optional(v.pipe(v.string('a capability token string (nnt1.…)'), v.maxLength(16 * 1024, 'a token of at most 16 KiB'))),
  timeoutMs: v.optional(
    v.pipe(v.number('a number of milliseconds'), v.integer('an integer'), v.minValue(1), v.maxValue(LIMITS.taskRunTimeoutMaxMs)),
  ),
  level: v.optional(v.picklist(SECURITY_LEVELS, `one of ${SECURITY_LEVELS.join(', ')}`)),
  /** Run it on this many distinct peers and accept the output `quorum` of them agree on (docs/RECOVERY.md). */
  replicas: v.optional(v.pipe(v.number('a whole number'), v.integer('a whole number'), v.minValue(1), v.maxValue(LIMITS.taskReplicasMax))),
  quorum: v.optional(v.pipe(v.number('a whole number'), v.integer('a whole number'), v.minValue(1), v.maxValue(LIMITS.taskReplicasMax))),
})
/** Longest ?wait= on GET /api/tasks/ID (seconds). */
const MAX_WAIT_SECONDS = 60

export class AdminApi {
  private readonly node: NoodleNode
  private readonly server: Server
  private readonly routes = new Map<string, RouteHandler>()
  private readonly startedAt = Date.now()
  readonly tasks = new TaskRecords()

  constructor(node: NoodleNode) {
    this.node = node
    this.server = createServer((req, res) => void this.dispatch(req, res))
    this.route('GET /health', () => ({
      status: this.node.isStarted ? 'ok' : 'stopping',
      peerId: this.node.peerId.toString(),
      version: NOODLENET_VERSION,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      peers: this.node.peers().length,
      executor: this.node.tasks.executor?.stats?.() ?? null,
    }))
    // The API's own index: what a client (or the fuzz test, which feeds every endpoint) can call.
    this.route('GET /api', () => ({ endpoints: [...this.routes.keys()].sort() }))
    this.route('GET /api/peers', () => this.node.peers())
    this.route('GET /api/topology', () => this.node.topology())
    this.route('GET /api/health/peers', () => {
      const breakers = new Map(this.node.tasks.breakers.report().map((breaker) => [breaker.peerId, breaker.state]))
      const disagreements = this.node.tasks.disagreements
      return this.node.health.report().map((row) => ({
        ...row,
        breaker: breakers.get(row.peerId) ?? 'closed',
        disagreements: disagreements.get(row.peerId) ?? 0,
      }))
    })
    this.route('GET /metrics', () => new PlainText(this.node.metrics.render(), 'text/plain; version=0.0.4; charset=utf-8'))
    this.route('GET /api/alerts', () => this.node.alerting.alerts())
    this.route('GET /api/metrics/mesh', () => ({ self: this.node.meshMetrics.self() ?? null, peers: this.node.meshMetrics.peers() }))
    this.route('GET /api/history', (req) => {
      const query = new URL(req.url ?? '/', 'http://localhost').searchParams
      const metric = query.get('metric')
      const history = this.node.alerting.history
      if (metric === null) return { metrics: history.names() }
      const since = Number(query.get('since') ?? Number.NEGATIVE_INFINITY)
      if (Number.isNaN(since)) throw new BadRequest('since: must be a time in milliseconds since the epoch')
      const series = history.query(metric, undefined, since)
      if (series.length === 0) throw new NotFound(`no history of ${metric} (GET /api/history lists the metrics that have one)`)
      return { metric, series: series.map(({ labels, points }) => ({ labels, points })) }
    })
    this.route('POST /api/revocations', async (req) => {
      const body = await readJson(req)
      const parsed = v.safeParse(RevocationSchema, {
        ...body,
        v: 1,
        sig: typeof body.sig === 'string' ? Uint8Array.from(Buffer.from(body.sig, 'base64')) : body.sig,
      })
      if (!parsed.success) throw new BadRequest(`not a revocation: ${v.getDotPath(parsed.issues[0]) ?? 'body'} ${parsed.issues[0].message}`)
      await this.node.revoke(parsed.output)
      return { revoked: parsed.output.id, by: parsed.output.by }
    })
    this.route('POST /api/tasks', async (req) => {
      const body = await readJson(req, LIMITS.taskInputMaxBytes + 64 * 1024)
      const { token, timeoutMs, level, replicas, quorum, ...declaration } = body
      const extras = v.safeParse(TaskExtrasSchema, { token, timeoutMs, level, replicas, quorum })
      if (!extras.success)
        throw new BadRequest(
          `${v.getDotPath(extras.issues[0]) ?? 'body'}: must be ${extras.issues[0].expected ?? extras.issues[0].message}`,
        )
      const task = parseTask({ ...declaration, input: fromJsonBytes(declaration.input) })
      const { kernel, input, ...options } = task
      const record = this.tasks.submit(this.node, kernel, input, { ...options, ...extras.output })
      return { id: record.id }
    })
    this.route('GET /api/tasks/:id', async (req, _node, params) => {
      const wait = Number(new URL(req.url ?? '/', 'http://localhost').searchParams.get('wait') ?? 0)
      const seconds = Number.isFinite(wait) ? Math.min(Math.max(wait, 0), MAX_WAIT_SECONDS) : 0
      const record = await this.tasks.settled(params.id, seconds * 1000)
      if (record === undefined) throw new NotFound(`no task ${params.id} here (finished tasks are kept for a while, then forgotten)`)
      return record.result === undefined ? record : { ...record, result: toJsonBytes(record.result) }
    })
    this.route('POST /api/kernels', async (req) => {
      const body = await readJson(req, Math.ceil((LIMITS.taskModuleMaxBytes * 4) / 3) + 1024)
      if (typeof body.wasm !== 'string') throw new BadRequest('wasm: must be the module as a base64 string')
      const module = Buffer.from(body.wasm, 'base64')
      if (module.byteLength === 0) throw new BadRequest('wasm: the module is empty (is it base64?)')
      if (module.byteLength > LIMITS.taskModuleMaxBytes) throw new BadRequest(`wasm: the module is over ${LIMITS.taskModuleMaxBytes} bytes`)
      return { kernel: await this.node.registerKernel(new Uint8Array(module)) }
    })
  }

  route(key: `${'GET' | 'POST' | 'DELETE'} /${string}`, handler: RouteHandler): void {
    this.routes.set(key, handler)
  }

  /** Listens and resolves with the base URL, e.g. http://127.0.0.1:7420. */
  async listen(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    const address = this.server.address() as AddressInfo
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
    return `http://${shown}:${address.port}`
  }

  private match(method: string, path: string): { handler: RouteHandler; params: Record<string, string> } | undefined {
    const exact = this.routes.get(`${method} ${path}`)
    if (exact !== undefined) return { handler: exact, params: {} }
    for (const [key, handler] of this.routes) {
      const space = key.indexOf(' ')
      if (key.slice(0, space) !== method || !key.includes(':')) continue
      const params = pathMatches(key.slice(space + 1), path)
      if (params !== undefined) return { handler, params }
    }
    return undefined
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/'
    const match = this.match(req.method ?? 'GET', path)
    if (match === undefined) {
      const known = [...this.routes.keys()].some((key) => pathMatches(key.slice(key.indexOf(' ') + 1), path) !== undefined)
      send(res, known ? 405 : 404, {
        code: known ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND',
        message: known ? `${req.method} is not allowed on ${path}` : `no such endpoint: ${path}. See GET /health and GET /api/peers.`,
      })
      return
    }
    try {
      send(res, 200, await match.handler(req, this.node, match.params))
    } catch (err) {
      if (err instanceof BadRequest) send(res, 400, { code: 'BAD_REQUEST', message: err.message })
      else if (err instanceof NotFound) send(res, 404, { code: 'NOT_FOUND', message: err.message })
      else if (err instanceof NoodleError) send(res, 400, err.toJSON())
      else send(res, 500, { code: 'INTERNAL', message: (err as Error).message })
    }
  }
}

/** `/api/tasks/:id` against `/api/tasks/abc` → {id: 'abc'}; undefined when it does not match. */
function pathMatches(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/')
  const got = path.split('/')
  if (want.length !== got.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) {
      if (got[i] === '') return undefined
      params[want[i].slice(1)] = decodeURIComponent(got[i])
    } else if (want[i] !== got[i]) return undefined
  }
  return params
}

/** A route's answer that is text, not JSON (GET /metrics). */
export class PlainText {
  constructor(
    readonly text: string,
    readonly contentType: string,
  ) {}
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const plain = body instanceof PlainText
  const text = plain ? body.text : JSON.stringify(body)
  const type = plain ? body.contentType : 'application/json; charset=utf-8'
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

class BadRequest extends Error {}
class NotFound extends Error {}

/** Bodies are JSON objects, 64 KiB at most unless the route allows more (a task's input); anything else is refused. */
async function readJson(req: IncomingMessage, maxBytes = 64 * 1024): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > maxBytes) throw new BadRequest(`the body is larger than ${Math.round(maxBytes / 1024)} KiB`)
    chunks.push(chunk as Buffer)
  }
  let body: unknown
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new BadRequest('the body is not JSON')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('the body must be a JSON object')
  return body as Record<string, unknown>
}
