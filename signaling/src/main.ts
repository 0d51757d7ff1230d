// The noodlenet-signaling CLI: runs a signalling server until SIGINT/SIGTERM. Prints exactly one JSON line on stdout
// when ready; logs go to stderr as JSON lines. Usage errors are one line on stderr and exit code 2.

import { parseArgs } from 'node:util'
import { createLogger, LOG_LEVELS, type LogLevel, NOODLENET_VERSION } from '@noodlenet/shared'
import { createSignalingServer, DEFAULT_STATIC_DIR } from './server.js'

const DEFAULT_PORT = 7430

const HELP = `Usage: noodlenet-signaling [options]

Runs a NoodleNet signalling server until SIGINT or SIGTERM, then closes every connection and exits 0.
Browser and Node peers register their peer id with it by signing a challenge, meet in rooms and exchange
WebRTC offers, answers and ICE candidates through it (docs/SIGNALING.md). It also serves the built web app
at / and GET /health.
When ready it prints one line on stdout:
  {"event":"ready","url":"http://127.0.0.1:PORT"}
Logs are JSON lines on stderr.

Options:
  --port N            port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host HOST         address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --static DIR        folder served at / (default: this repository's web/dist)
  --log-level LEVEL   DEBUG, INFO, WARNING, ERROR or CRITICAL (default INFO)
  -v, --version       print the version
  -h, --help          show this help

Exit codes: 0 after a graceful stop, 2 for invalid usage, 1 otherwise.`

class UsageError extends Error {}
/** A start-up failure the user can fix; its message says how. */
class StartError extends Error {}

function parse(argv: string[]) {
  let parsed: ReturnType<typeof parseOptions>
  try {
    parsed = parseOptions(argv)
  } catch (err) {
    // node's messages run on with advice about positionals; the first sentence is the useful part.
    throw new UsageError(`${(err as Error).message.split(/\.\s/)[0]}. Run \`noodlenet-signaling --help\` for the options.`)
  }
  const { values } = parsed
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port)
  if (!/^\d+$/.test(values.port ?? '0') || !Number.isInteger(port) || port > 65_535) {
    throw new UsageError(`--port ${values.port}: must be an integer from 0 to 65535 (0 picks a free port)`)
  }
  const level = (values['log-level'] ?? 'INFO').toUpperCase()
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`--log-level ${values['log-level']}: must be one of ${LOG_LEVELS.join(', ')}`)
  }
  if (values.host === '') throw new UsageError('--host: must not be empty')
  return { ...values, port, level: level as LogLevel }
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      static: { type: 'string' },
      'log-level': { type: 'string' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
    strict: true,
  })
}

async function main(argv: string[]): Promise<number> {
  const options = parse(argv)
  if (options.help === true) {
    process.stdout.write(`${HELP}\n`)
    return 0
  }
  if (options.version === true) {
    process.stdout.write(`${NOODLENET_VERSION}\n`)
    return 0
  }
  // Listen for the stop signals before anything else: a supervisor may send one the moment it reads the ready line.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  const logger = createLogger({ level: options.level, component: 'signaling', sink: { write: (line) => void process.stderr.write(line) } })
  let server: Awaited<ReturnType<typeof createSignalingServer>>
  try {
    server = await createSignalingServer({
      port: options.port,
      host: options.host,
      staticDir: options.static ?? DEFAULT_STATIC_DIR,
      logger,
    })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw new StartError(`port ${options.port} is in use: pick another with --port, or --port 0 for a free one`)
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new StartError(`cannot listen on ${options.host}: not an address of this machine`)
    if (code === 'EACCES') throw new StartError(`no permission to listen on port ${options.port}: use a port above 1023`)
    throw err
  }
  process.stdout.write(`${JSON.stringify({ event: 'ready', url: server.url })}\n`)

  const signal = await stopSignal
  logger.info({ signal }, 'stopping')
  // A second signal while stopping means "now".
  const force = (): never => process.exit(1)
  process.once('SIGINT', force)
  process.once('SIGTERM', force)
  await server.close()
  return 0
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
    // Everything is closed; a lingering handle must not keep the process alive.
    setTimeout(() => process.exit(code), 2_000).unref()
  },
  (err) => {
    if (err instanceof UsageError) {
      process.stderr.write(`noodlenet-signaling: ${err.message}\n`)
      process.exit(2)
    }
    const text = err instanceof StartError ? err.message : ((err as Error)?.stack ?? String(err))
    process.stderr.write(`noodlenet-signaling: ${text}\n`)
    process.exit(1)
  },
)
