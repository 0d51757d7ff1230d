// Serves the built web app (web/dist) at `/`. Paths are resolved inside the folder only; a missing folder gives a
// page saying how to build the app, so the server is useful (as a signalling server) before the app exists.

import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, resolve, sep } from 'node:path'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
}

const NOT_BUILT = (dir: string) =>
  `NoodleNet signalling server.\n\nThe web app is not built, so there is nothing to serve at / yet: build it into ${dir}\n` +
  '(or start the server with --static DIR). Signalling itself works: socket.io at /socket.io/, health at /health.\n'

export async function serveStatic(dir: string, req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
  const root = resolve(dir)
  const rootStat = await stat(root).catch(() => undefined)
  if (rootStat?.isDirectory() !== true) {
    if (pathname === '/' || pathname === '/index.html') return send(res, req, 200, 'text/plain; charset=utf-8', NOT_BUILT(dir))
    return send(res, req, 404, 'text/plain; charset=utf-8', 'not found\n')
  }
  let relative: string
  try {
    relative = decodeURIComponent(pathname)
  } catch {
    return send(res, req, 400, 'text/plain; charset=utf-8', 'bad path\n')
  }
  if (relative.includes('\0')) return send(res, req, 400, 'text/plain; charset=utf-8', 'bad path\n')
  let file = normalize(join(root, relative))
  if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) {
    return send(res, req, 404, 'text/plain; charset=utf-8', 'not found\n')
  }
  let info = await stat(file).catch(() => undefined)
  if (info?.isDirectory() === true) {
    file = join(file, 'index.html')
    info = await stat(file).catch(() => undefined)
  }
  if (info?.isFile() !== true) return send(res, req, 404, 'text/plain; charset=utf-8', 'not found\n')
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': info.size,
    // Vite names built assets by their hash; the page itself must be fetched fresh to pick up a new build.
    'cache-control': file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  })
  if (req.method === 'HEAD') return void res.end()
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res)
}

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff' })
  res.end(req.method === 'HEAD' ? undefined : body)
}
