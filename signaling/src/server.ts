// The signalling server: one node:http server carrying socket.io (the protocol, in hub.ts), `GET /health` and the
// built web app. It keeps no state a peer cannot re-register, so it can restart at any time and several can run
// side by side; `close()` ends every connection and frees the port.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createLogger, LIMITS, type Logger, SIGNALING_SERVICE } from '@noodlenet/shared'
import { Server } from 'socket.io'
import { DEFAULT_SIGNALING_LIMITS, SignalingHub, type SignalingIo, type SignalingLimits } from './hub.js'
import { serveStatic } from './static-files.js'

/** The web app's build output in this repository. */
export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))

export interface SignalingServerOptions {
  /** 0 picks a free port. */
  port: number
  /** Default 127.0.0.1; 0.0.0.0 (or ::) serves every interface. */
  host?: string
  /** Folder served at `/` (default: the repository's web/dist). */
  staticDir?: string
  logger?: Logger
  /** Overrides of the protocol limits (tests shorten the register timeout, for example). */
  limits?: Partial<SignalingLimits>
}

export interface SignalingServer {
  /** `http://HOST:PORT`; a wildcard host is given as loopback, so the URL can be dialled from this machine. */
  readonly url: string
  readonly port: number
  /** This instance's id, as sent in every challenge. */
  readonly serverId: string
  stats(): { peers: number; rooms: number; connections: number }
  close(): Promise<void>
}

export async function createSignalingServer(options: SignalingServerOptions): Promise<SignalingServer> {
  const host = options.host ?? '127.0.0.1'
  const staticDir = options.staticDir ?? DEFAULT_STATIC_DIR
  const logger = options.logger ?? createLogger({ level: 'CRITICAL', component: 'signaling', sink: { write: () => {} } })
  const limits: SignalingLimits = { ...DEFAULT_SIGNALING_LIMITS, ...options.limits }
  const hub = new SignalingHub(limits, logger)

  const http = createServer((req, res) => {
    route(req, res).catch((err) => {
      logger.error({ err, url: req.url }, 'http request failed')
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
      res.end()
    })
  })
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
      return void res.end('method not allowed\n')
    }
    if (pathname === '/health') {
      // `service` lets the web app it serves recognise a signalling server at its own origin.
      const body = JSON.stringify({
        status: 'ok',
        service: SIGNALING_SERVICE,
        peers: hub.directory.peerCount,
        rooms: hub.directory.roomCount,
      })
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      return void res.end(req.method === 'HEAD' ? undefined : body)
    }
    await serveStatic(staticDir, req, res, pathname)
  }

  const io: SignalingIo = new Server(http, {
    // Messages above this are dropped with the connection before they are buffered; signals are capped lower so an
    // oversize one still gets its typed error (see LIMITS).
    maxHttpBufferSize: Math.max(LIMITS.signalingMessageMaxBytes, 2 * limits.signalMaxBytes + 4096),
    serveClient: false,
    // Anyone may signal: a registration proves a key, not an origin, and no cookie or other ambient credential is
    // used, so letting every origin connect gives a page nothing it could not get by connecting itself.
    cors: { origin: '*' },
    // No session recovery: the server keeps nothing a client cannot re-register.
    connectionStateRecovery: undefined,
  })
  hub.attach(io)

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(options.port, host, () => {
      http.off('error', reject)
      resolve()
    })
  })
  const port = (http.address() as AddressInfo).port
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host
  const url = `http://${urlHost}:${port}`
  logger.info({ url, serverId: hub.serverId, staticDir }, 'signalling server listening')

  let closing: Promise<void> | undefined
  return {
    url,
    port,
    serverId: hub.serverId,
    stats: () => ({ peers: hub.directory.peerCount, rooms: hub.directory.roomCount, connections: hub.connections }),
    close() {
      closing ??= (async () => {
        hub.close()
        // io.close() disconnects every socket, closes the engine and then the http server (idle keep-alive
        // connections included); the clients see a transport close and reconnect elsewhere or later.
        await new Promise<void>((resolve) => {
          void io.close(() => resolve())
        })
        http.closeAllConnections()
      })()
      return closing
    },
  }
}
