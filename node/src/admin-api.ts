// The admin HTTP API of a Node peer, bound to 127.0.0.1 by default: whoever reaches it acts as this peer.
//   GET /health     {"status":"ok", peerId, version, uptimeSeconds, peers}
//   GET /api/peers  connected peers: peerId, transport, encryption, direction, rttMs, ...
//   POST /api/revocations  {"id","by","at","sig"(base64)}: a signed revocation to keep and gossip
// Routes are a table so later features (tasks, topology, metrics) add rows, not branches.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { NOODLENET_VERSION, NoodleError, type NoodleNode, RevocationSchema } from '@noodlenet/shared'
import * as v from 'valibot'

export type RouteHandler = (req: IncomingMessage, node: NoodleNode) => Promise<unknown> | unknown

export class AdminApi {
  private readonly node: NoodleNode
  private readonly server: Server
  private readonly routes = new Map<string, RouteHandler>()
  private readonly startedAt = Date.now()

  constructor(node: NoodleNode) {
    this.node = node
    this.server = createServer((req, res) => void this.dispatch(req, res))
    this.route('GET /health', () => ({
      status: this.node.isStarted ? 'ok' : 'stopping',
      peerId: this.node.peerId.toString(),
      version: NOODLENET_VERSION,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      peers: this.node.peers().length,
    }))
    this.route('GET /api/peers', () => this.node.peers())
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

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/'
    const handler = this.routes.get(`${req.method} ${path}`)
    if (handler === undefined) {
      const known = [...this.routes.keys()].some((key) => key.endsWith(` ${path}`))
      send(res, known ? 405 : 404, {
        code: known ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND',
        message: known ? `${req.method} is not allowed on ${path}` : `no such endpoint: ${path}. See GET /health and GET /api/peers.`,
      })
      return
    }
    try {
      send(res, 200, await handler(req, this.node))
    } catch (err) {
      if (err instanceof BadRequest) send(res, 400, { code: 'BAD_REQUEST', message: err.message })
      else if (err instanceof NoodleError) send(res, 400, err.toJSON())
      else send(res, 500, { code: 'INTERNAL', message: (err as Error).message })
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

class BadRequest extends Error {}

/** Bodies are small JSON documents; anything over 64 KiB or not a JSON object is refused. */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > 64 * 1024) throw new BadRequest('the body is larger than 64 KiB')
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
