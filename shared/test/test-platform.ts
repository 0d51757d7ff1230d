// A Platform for tests: libp2p's in-memory transport, which works in Node and in Chromium alike, a fixed
// hardware profile, and logs kept in memory so tests can assert on them.

import { generateKeyPair } from '@libp2p/crypto/keys'
import { memory } from '@libp2p/memory'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  encodeToken,
  issueToken,
  type LogSink,
  type NoodleConfig,
  type NoodleConfigInput,
  NoodleNode,
  type Platform,
  resolveConfig,
} from '../src/index.js'

let counter = 0

/** A unique memory address: memory transports share one registry per JS realm. */
export function memoryAddr(): string {
  return `/memory/noodle-test-${Date.now().toString(36)}-${(counter++).toString(36)}`
}

export class MemorySink implements LogSink {
  readonly lines: string[] = []
  write(line: string): void {
    this.lines.push(line)
  }
  records(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  }
}

export function testPlatform(sink = new MemorySink()): Platform & { logSink: MemorySink } {
  return {
    name: 'node',
    transports: () => [memory()],
    defaultListen: () => [memoryAddr()],
    probeHardware: async () => ({ cpu: { cores: 2, model: 'test' }, memory: { totalMB: 1024, freeMB: 512 }, gpus: [], npus: [] }),
    logSink: sink,
  }
}

export function testConfig(overrides: NoodleConfigInput = {}): NoodleConfig {
  return resolveConfig([
    { source: 'test defaults', values: { network: { mdns: false, presenceIntervalMs: 200 }, monitoring: { logLevel: 'WARNING' } } },
    { source: 'test', values: overrides as Record<string, unknown> },
  ])
}

/** Starts `count` nodes on the memory transport; each after the first bootstraps from the first. */
export async function startMesh(count: number, overrides: NoodleConfigInput = {}): Promise<NoodleNode[]> {
  const first = await NoodleNode.create({ config: testConfig(overrides), platform: testPlatform() })
  await first.start()
  const nodes = [first]
  for (let i = 1; i < count; i++) {
    const node = await NoodleNode.create({
      config: testConfig({ ...overrides, network: { ...overrides.network, bootstrap: [first.addrs()[0]] } }),
      platform: testPlatform(),
    })
    await node.start()
    nodes.push(node)
  }
  return nodes
}

/** Resolves when `check` holds, polling on a short timer; rejects after `timeoutMs`. For state that has no event. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A root key for executors to trust (`root`), and `grant(node)`: a token from it for `node` to run tasks. */
export async function taskAuthority(): Promise<{ root: string; grant: (node: NoodleNode, kernels?: string[]) => Promise<string> }> {
  const key = await generateKeyPair('Ed25519')
  const grant = async (node: NoodleNode, kernels?: string[]): Promise<string> =>
    encodeToken(
      await issueToken({
        key,
        audience: node.peerId.toString(),
        command: '/task/run',
        policy: { level: 'PUBLIC', kernels },
        expires: Math.floor(Date.now() / 1000) + 600,
      }),
    )
  return { root: peerIdFromPrivateKey(key).toString(), grant }
}
