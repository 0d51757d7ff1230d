// `pnpm start`: a local mesh in one command. Builds the web app, starts the signalling server serving it, starts N
// headless peers (default 2) on loopback (TCP, WebSockets, and WebRTC through the signalling server), the later ones
// bootstrapping from the first, waits until they have found each other, and prints how to reach them and the URL
// that makes a browser tab join (over WebRTC, through the same server).
// Ctrl-C stops them all gracefully.

import { spawn, spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const HELP = `Usage: pnpm start [-- --peers N] [-- --host IP]

Builds the web app, starts the signalling server that serves it, and a local NoodleNet
mesh of N headless peers (default 2) that find each other; prints each peer's id,
address and admin API, and the URL that makes a browser tab join: the tab links to the
peers (and to other tabs) over WebRTC, signalled through that server. Ctrl-C stops them.

Options:
  --peers N               number of peers (1-32, default 2)
  --host IP               address the peers and the signalling server listen on (default
                          127.0.0.1; 0.0.0.0 lets other machines join)
  --ice-candidates POLICY all (default) or loopback: WebRTC only over loopback addresses
                          (the page URL then asks tabs for the same; Chromium offers
                          loopback candidates only when started with
                          --allow-loopback-in-peer-connection and the page has media
                          permission, so this is for tests: see docs/TESTING.md)
  -h, --help              show this help`

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '2' },
    host: { type: 'string', default: '127.0.0.1' },
    'ice-candidates': { type: 'string', default: 'all' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (values.help) {
  console.log(HELP)
  process.exit(0)
}
const count = Number(values.peers)
if (!Number.isInteger(count) || count < 1 || count > 32) {
  console.error(`--peers must be an integer from 1 to 32, got "${values.peers}"`)
  process.exit(2)
}

const iceCandidates = values['ice-candidates']
if (iceCandidates !== 'all' && iceCandidates !== 'loopback') {
  console.error(`--ice-candidates must be all or loopback, got "${iceCandidates}"`)
  process.exit(2)
}

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')
const cli = join(root, 'node/bin/noodlenet')
const signalingCli = join(root, 'signaling/bin/noodlenet-signaling')
const children = []

/** Runs a CLI that prints one JSON ready line on stdout, and resolves with it. */
function startProcess(command, args, env = {}) {
  const child = spawn(process.execPath, [command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  children.push(child)
  child.stderr.pipe(process.stderr)
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk
      const line = out.split('\n').find((l) => l.startsWith('{"event":"ready"'))
      if (line) resolve(JSON.parse(line))
    })
    child.once('exit', (code) => reject(new Error(`${command} exited with code ${code} before it was ready`)))
  })
}

function startPeer(signalingUrl, extra) {
  return startProcess(
    cli,
    [
      'start',
      '--listen',
      `/ip4/${values.host}/tcp/0`,
      '--listen',
      `/ip4/${values.host}/tcp/0/ws`,
      '--api-port',
      '0',
      '--no-mdns',
      '--signaling',
      signalingUrl,
      '--ice-candidates',
      iceCandidates,
      ...extra,
    ],
    { NOODLE_NET_LOG_LEVEL: process.env.NOODLE_NET_LOG_LEVEL ?? 'WARNING' },
  )
}

async function peersOf(api) {
  const res = await fetch(`${api}/api/peers`)
  return res.json()
}

function stopAll() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
}
process.once('SIGINT', stopAll)
process.once('SIGTERM', stopAll)

try {
  console.log('Building the web app...')
  const built = spawnSync(
    process.execPath,
    [join(root, 'web/node_modules/vite/bin/vite.js'), 'build', join(root, 'web'), '--logLevel', 'warn'],
    {
      stdio: 'inherit',
    },
  )
  if (built.status !== 0) throw new Error('the web app did not build (see above)')
  const signaling = await startProcess(signalingCli, ['--port', '0', '--host', values.host, '--log-level', 'WARNING'])
  console.log(`Starting a local mesh of ${count} peer${count === 1 ? '' : 's'}...`)
  const first = await startPeer(signaling.url, [])
  const rest = await Promise.all(Array.from({ length: count - 1 }, () => startPeer(signaling.url, ['--bootstrap', first.addrs[0]])))
  const all = [first, ...rest]
  const deadline = Date.now() + 30_000
  while (true) {
    const degrees = await Promise.all(all.map(async (peer) => (await peersOf(peer.api)).length))
    if (degrees.every((degree) => degree >= Math.min(count - 1, 8))) break
    if (Date.now() > deadline) throw new Error(`the peers did not all find each other within 30 s (degrees: ${degrees.join(', ')})`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  console.log(`\nMesh is up: ${count} peer${count === 1 ? '' : 's'}, all connected.\n`)
  all.forEach((peer, i) => {
    console.log(`peer ${i + 1}  ${peer.peerId}`)
    console.log(`        address  ${peer.addrs[0]}`)
    console.log(`        admin    ${peer.api}/health   ${peer.api}/api/peers`)
  })
  console.log(`\nOpen in a browser to contribute it:  ${signaling.url}/?join=1${iceCandidates === 'loopback' ? '&ice=loopback' : ''}`)
  console.log(`Join another peer:  ./node/bin/noodlenet start --bootstrap ${first.addrs[0]} --api-port 0`)
  console.log('Ctrl-C stops the mesh.')
} catch (err) {
  console.error(`pnpm start: ${err.message}`)
  stopAll()
  process.exitCode = 1
}
