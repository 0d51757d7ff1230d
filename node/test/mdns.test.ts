// mDNS discovery on a LAN, in a network namespace the test creates (its own loopback with multicast on), so no
// packet leaves the machine: two peers with no bootstrap list find and connect to each other.

import { execFileSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { PeerProcess } from './support/peer-process.js'

const ns = `noodlenet-mdns-${process.pid}`

function sh(...args: string[]): void {
  execFileSync(args[0], args.slice(1), { stdio: 'pipe' })
}

/** Why namespaces cannot be made here, or undefined when they can. */
function namespaceUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces are Linux-only'
  if (process.getuid?.() !== 0) return 'creating a network namespace needs root'
  try {
    sh('ip', 'netns', 'add', ns)
    sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up')
    sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'multicast', 'on')
    sh('ip', 'netns', 'exec', ns, 'ip', 'route', 'add', '224.0.0.0/4', 'dev', 'lo')
    return undefined
  } catch (err) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
    } catch {
      // it was never created
    }
    return `ip netns failed: ${(err as Error).message.split('\n')[0]}`
  }
}

const skipReason = namespaceUnavailable()
if (skipReason !== undefined) console.warn(`mDNS test skipped: ${skipReason}`)

describe.skipIf(skipReason !== undefined)('mDNS discovery (in a private network namespace)', () => {
  const peers: PeerProcess[] = []
  afterAll(async () => {
    await Promise.all(peers.map((peer) => peer.kill()))
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
  })

  it('two peers with no bootstrap list find each other on the LAN', async () => {
    const start = (): PeerProcess =>
      new PeerProcess(['--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0'], { NOODLE_NET_LOG_LEVEL: 'INFO' }, [
        'ip',
        'netns',
        'exec',
        ns,
      ])
    const a = start()
    const b = start()
    peers.push(a, b)
    const [readyA, readyB] = await Promise.all([a.ready, b.ready])
    const connected = (peer: PeerProcess, other: string) =>
      peer.logRecord((record) => record.msg === 'peer connected' && record.remotePeer === other, 30_000)
    const [seenByA, seenByB] = await Promise.all([connected(a, readyB.peerId), connected(b, readyA.peerId)])
    expect(seenByA.component).toBe('mesh')
    expect(seenByB.component).toBe('mesh')
  })
})
