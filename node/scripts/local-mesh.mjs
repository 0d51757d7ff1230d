// `pnpm start`: a local mesh in one command. Starts N headless peers (default 2) on loopback, the later ones
// bootstrapping from the first, waits until they have found each other, and prints how to reach them.
// Ctrl-C stops them all gracefully.

import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const HELP = `Usage: pnpm start [-- --peers N] [-- --host IP]

Starts a local NoodleNet mesh of N headless peers (default 2) that find each other,
and prints each peer's id, address and admin API. Ctrl-C stops them.

Options:
  --peers N    number of peers (1-32, default 2)
  --host IP    address the peers listen on (default 127.0.0.1; 0.0.0.0 lets other
               machines join)
  -h, --help   show this help`

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '2' },
    host: { type: 'string', default: '127.0.0.1' },
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

const cli = join(dirname(fileURLToPath(import.meta.url)), '../bin/noodlenet')
const children = []

function startPeer(extra) {
  const child = spawn(process.execPath, [cli, 'start', '--listen', `/ip4/${values.host}/tcp/0`, '--api-port', '0', '--no-mdns', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { NOODLE_NET_LOG_LEVEL: 'WARNING', ...process.env },
  })
  children.push(child)
  child.stderr.pipe(process.stderr)
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk
      const line = out.split('\n').find((l) => l.startsWith('{"event":"ready"'))
      if (line) resolve(JSON.parse(line))
    })
    child.once('exit', (code) => reject(new Error(`a peer exited with code ${code} before it was ready`)))
  })
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
  console.log(`Starting a local mesh of ${count} peer${count === 1 ? '' : 's'}...`)
  const first = await startPeer([])
  const rest = await Promise.all(Array.from({ length: count - 1 }, () => startPeer(['--bootstrap', first.addrs[0]])))
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
  console.log(`\nJoin another peer:  ./node/bin/noodlenet start --bootstrap ${first.addrs[0]} --api-port 0`)
  console.log('Ctrl-C stops the mesh.')
} catch (err) {
  console.error(`pnpm start: ${err.message}`)
  stopAll()
  process.exitCode = 1
}
