// Encryption on the wire (issue 8): tcpdump captures the loopback traffic of two peer processes while a task whose
// input is a random marker string runs from one to the other, and the marker appears nowhere in the libp2p traffic
// (noise encrypts every link). The same capture holds a control: the admin API's plain HTTP, where the marker is
// sent in clear, so a capture that saw nothing cannot pass for encryption. Needs root and tcpdump (pnpm test installs
// it on Debian when run as root); otherwise the test says why it skipped.

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { eventually, type PeerProcess, startPeer } from './support/peer-process.js'
import { taskToken } from './support/task-token.js'

const TCPDUMP = '/usr/bin/tcpdump'
const skip =
  process.platform !== 'linux'
    ? 'capturing loopback traffic is set up for Linux only'
    : process.getuid?.() !== 0
      ? 'capturing loopback traffic needs root'
      : !existsSync(TCPDUMP)
        ? `no tcpdump at ${TCPDUMP} (apt-get install -y tcpdump)`
        : undefined
if (skip !== undefined) console.warn(`wire-encryption test skipped: ${skip}`)

let peers: PeerProcess[] = []
let captures: ChildProcess[] = []
let dir: string | undefined
afterEach(async () => {
  for (const capture of captures) capture.kill('SIGKILL')
  captures = []
  await Promise.all(peers.map((peer) => peer.kill()))
  peers = []
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

function tcpPort(addr: string): number {
  return Number(
    multiaddr(addr)
      .getComponents()
      .find((component) => component.name === 'tcp')?.value,
  )
}

/** Starts tcpdump on loopback for these TCP ports, writing packets as they come (-U); resolves once it listens. */
async function capture(file: string, ports: number[]): Promise<ChildProcess> {
  const filter = ports.map((port) => `tcp port ${port}`).join(' or ')
  const child = spawn(TCPDUMP, ['-i', 'lo', '-U', '-n', '-s', '0', '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] })
  captures.push(child)
  let stderr = ''
  await new Promise<void>((resolve, reject) => {
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      if (stderr.includes('listening on')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${stderr}`)))
  })
  return child
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  child.kill('SIGINT')
  await once(child, 'exit')
}

describe.skipIf(skip !== undefined)('encryption on the wire', () => {
  it('a task input marker crosses the libp2p link only encrypted; the plain HTTP control shows it in clear', async () => {
    dir = mkdtempSync(join(tmpdir(), 'noodlenet-wire-'))
    const root = await generateKeyPair('Ed25519')
    const worker = startPeer(['--trusted-root', peerIdFromPrivateKey(root).toString()])
    peers.push(worker)
    const readyWorker = await worker.ready
    const submitter = startPeer(['--bootstrap', readyWorker.addrs[0]])
    peers.push(submitter)
    const readySubmitter = await submitter.ready
    await eventually(
      async () => (await submitter.api<Array<{ peerId: string }>>('/api/peers')).some((p) => p.peerId === readyWorker.peerId),
      30_000,
      'the peers to connect',
    )
    const token = await taskToken(root, readySubmitter.peerId, ['echo'], 600)

    const libp2pFile = join(dir, 'libp2p.pcap')
    const apiFile = join(dir, 'api.pcap')
    const libp2pPorts = [tcpPort(readyWorker.addrs[0]), tcpPort(readySubmitter.addrs[0])]
    const apiPort = Number(new URL(readySubmitter.api).port)
    const onLibp2p = await capture(libp2pFile, libp2pPorts)
    const onApi = await capture(apiFile, [apiPort])

    const marker = `noodle-marker-${crypto.randomUUID()}`
    const { id } = await submitter.api<{ id: string }>('/api/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kernel: 'echo', input: marker, peer: readyWorker.peerId, token }),
    })
    const done = await submitter.api<{ status: string; peer: string; result: unknown }>(`/api/tasks/${id}?wait=30`)
    expect(done).toMatchObject({ status: 'done', peer: readyWorker.peerId, result: marker })
    await stop(onLibp2p)
    await stop(onApi)

    const libp2pBytes = readFileSync(libp2pFile)
    const apiBytes = readFileSync(apiFile)
    // The task went out and came back over the link: the capture holds its packets, well beyond the handshake.
    expect(libp2pBytes.byteLength).toBeGreaterThan(1000)
    expect(apiBytes.includes(marker), 'the control: the plain HTTP request to the API carries the marker in clear').toBe(true)
    expect(libp2pBytes.includes(marker), 'the marker crossed the libp2p link in clear').toBe(false)
    // Nor any 12-byte stretch of it: a marker split across two packets would not match whole.
    for (let at = 0; at + 12 <= marker.length; at += 6) expect(libp2pBytes.includes(marker.slice(at, at + 12))).toBe(false)
  }, 120_000)
})
