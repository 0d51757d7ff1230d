// The noodlenet CLI as a user meets it: --help everywhere, one-line configuration errors with exit code 2,
// precedence of config sources, key files, the admin API, the probe, and a graceful stop on SIGINT.

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type PeerProcess, runCli, startPeer } from './support/peer-process.js'

let dir: string
let peers: PeerProcess[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noodlenet-cli-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})
afterEach(async () => {
  await Promise.all(peers.map((peer) => peer.kill()))
  peers = []
})

function track(peer: PeerProcess): PeerProcess {
  peers.push(peer)
  return peer
}

describe('help', () => {
  it.each([[['--help']], [['help']], [['start', '--help']], [['probe', '--help']], [['start', '-h']]])(
    'noodlenet %j prints usage and exits 0',
    async (args) => {
      const { code, stdout } = await runCli(args)
      expect(code).toBe(0)
      expect(stdout).toMatch(/^Usage: noodlenet/)
    },
  )

  it('an unknown command or flag is one line on stderr and exit code 2', async () => {
    for (const args of [['frobnicate'], ['start', '--bogus'], ['start', 'extra-argument']]) {
      const { code, stderr } = await runCli(args)
      expect(code).toBe(2)
      expect(stderr.trim().split('\n')).toHaveLength(1)
      expect(stderr).toMatch(/--help/)
    }
  })
})

describe('configuration errors stop start-up with one line and exit code 2', () => {
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    [
      'a flag out of range',
      ['--api-port', '70000'],
      {},
      /network\.apiPort = 70000 \(from --api-port\): must be an integer from 0 to 65535/,
    ],
    ['a flag of the wrong type', ['--target-degree', 'many'], {}, /network\.targetDegree = "many" \(from --target-degree\)/],
    ['a bad listen address', ['--listen', 'tcp:1234'], {}, /network\.listen\.\d = "tcp:1234" \(from --listen\): must be a multiaddr/],
    ['a bootstrap address without a peer id', ['--bootstrap', '/ip4/127.0.0.1/tcp/1'], {}, /network\.bootstrap\.0 .*\/p2p\//],
    [
      'a denied peer that is not a peer id',
      ['--deny-peer', 'nope'],
      {},
      /network\.denyPeers\.0 = "nope" \(from --deny-peer\): must be a peer id/,
    ],
    [
      'a bad log level in the environment',
      [],
      { NOODLE_NET_LOG_LEVEL: 'LOUD' },
      /monitoring\.logLevel = "LOUD" \(from environment variable NOODLE_NET_LOG_LEVEL\): must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL/,
    ],
    [
      'a bad security level in the environment',
      [],
      { NOODLE_NET_SECURITY_LEVEL: 'TOP' },
      /security\.level = "TOP" \(from environment variable NOODLE_NET_SECURITY_LEVEL\)/,
    ],
    [
      'a bad monitoring interval in the environment',
      [],
      { NOODLE_NET_MONITORING_INTERVAL: 'soon' },
      /monitoring\.intervalSeconds = "soon" \(from environment variable NOODLE_NET_MONITORING_INTERVAL\)/,
    ],
    [
      'a missing config file',
      ['--config', '/nonexistent/noodle.json'],
      {},
      /cannot read config file \/nonexistent\/noodle\.json \(from --config\): ENOENT/,
    ],
  ]
  it.each(cases)('%s', async (_what, args, env, message) => {
    const { code, stderr, stdout } = await runCli(
      ['start', '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--no-mdns', ...args],
      env,
    )
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toMatch(message)
  })

  it('a config file with invalid JSON, an unknown key or a bad value names the file and the field', async () => {
    const broken = join(dir, 'broken.json')
    await writeFile(broken, '{"network": {')
    const unknown = join(dir, 'unknown.json')
    await writeFile(unknown, JSON.stringify({ network: { targetDgree: 3 } }))
    const bad = join(dir, 'bad.json')
    await writeFile(bad, JSON.stringify({ monitoring: { intervalSeconds: -1 } }))
    const expectations: Array<[string[], Record<string, string>, RegExp]> = [
      [['--config', broken], {}, /broken\.json is not valid JSON/],
      [['--config', unknown], {}, /network\.targetDgree = 3 \(from file .*unknown\.json\): nothing: this is not a known setting/],
      [[], { NOODLE_NET_CONFIG_PATH: bad }, /monitoring\.intervalSeconds = -1 \(from file .*bad\.json\): must be a number of seconds/],
    ]
    for (const [args, env, message] of expectations) {
      const { code, stderr } = await runCli(['start', '--api-port', '0', '--no-mdns', ...args], env)
      expect(code).toBe(2)
      expect(stderr.trim().split('\n')).toHaveLength(1)
      expect(stderr).toMatch(message)
    }
  })
})

describe('precedence: defaults < file < environment < flags', () => {
  it('the file sets the log level, the environment overrides it, a flag overrides both', async () => {
    const file = join(dir, 'levels.json')
    await writeFile(
      file,
      JSON.stringify({ monitoring: { logLevel: 'ERROR' }, network: { mdns: false, listen: ['/ip4/127.0.0.1/tcp/0'], apiPort: 0 } }),
    )

    const fromFile = track(startPeer(['--config', file]))
    await fromFile.ready
    expect(await fromFile.stop()).toBe(0)
    expect(fromFile.stderr.join('')).not.toMatch(/"level":"INFO"/)

    const fromEnv = track(startPeer(['--config', file], { NOODLE_NET_LOG_LEVEL: 'debug' }))
    await fromEnv.ready
    expect(await fromEnv.stop()).toBe(0)
    expect(fromEnv.stderr.join('')).toMatch(/"level":"DEBUG"/)

    const fromFlag = track(startPeer(['--config', file, '--log-level', 'WARNING'], { NOODLE_NET_LOG_LEVEL: 'DEBUG' }))
    await fromFlag.ready
    expect(await fromFlag.stop()).toBe(0)
    const lines = fromFlag.stderr.join('')
    expect(lines).not.toMatch(/"level":"(DEBUG|INFO)"/)
  })
})

describe('noodlenet start', () => {
  it('prints exactly one ready line on stdout, logs JSON lines with a component on stderr, and exits 0 on SIGINT', async () => {
    const peer = track(startPeer([], { NOODLE_NET_LOG_LEVEL: 'INFO' }))
    const ready = await peer.ready
    expect(ready.peerId).toMatch(/^12D3KooW/)
    expect(ready.addrs.every((addr) => addr.startsWith('/ip4/127.0.0.1/tcp/') && addr.endsWith(`/p2p/${ready.peerId}`))).toBe(true)
    expect(ready.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(peer.output.trim().split('\n')).toHaveLength(1)

    expect(await peer.api('/health')).toMatchObject({ status: 'ok', peerId: ready.peerId, peers: 0 })
    expect(await peer.api('/api/peers')).toEqual([])
    const missing = await fetch(`${ready.api}/api/nothing`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ code: 'NOT_FOUND' })
    const wrongMethod = await fetch(`${ready.api}/health`, { method: 'POST' })
    expect(wrongMethod.status).toBe(405)

    peer.child.kill('SIGINT')
    expect(await peer.exited).toBe(0)
    const records = peer.stderr
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(records.length).toBeGreaterThan(0)
    for (const record of records) {
      expect(record.component).toEqual(expect.any(String))
      expect(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']).toContain(record.level)
    }
  })

  it('--key creates the identity with mode 0600 and a restart keeps the peer id', async () => {
    const key = join(dir, 'peer.key')
    const first = track(startPeer(['--key', key]))
    const { peerId } = await first.ready
    expect(await first.stop()).toBe(0)
    expect((await stat(key)).mode & 0o777).toBe(0o600)
    const second = track(startPeer(['--key', key]))
    expect((await second.ready).peerId).toBe(peerId)
  })

  it('a key file that is not a key is refused with one line and exit code 2', async () => {
    const key = join(dir, 'not-a.key')
    await writeFile(key, 'hello')
    const { code, stderr } = await runCli(['start', '--api-port', '0', '--no-mdns', '--key', key])
    expect(code).toBe(2)
    expect(stderr).toMatch(/does not hold a libp2p private key/)
    expect(await readFile(key, 'utf8')).toBe('hello')
  })

  it('an API port in use is reported, not a crash trace', async () => {
    const first = track(startPeer())
    const port = new URL((await first.ready).api).port
    const { code, stderr } = await runCli(['start', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--api-port', port])
    expect(code).toBe(1)
    expect(stderr).toMatch(/EADDRINUSE/)
  })
})

describe('noodlenet probe', () => {
  it('prints the hardware as JSON', async () => {
    const { code, stdout } = await runCli(['probe'])
    expect(code).toBe(0)
    const hardware = JSON.parse(stdout)
    expect(hardware.cpu.cores).toBeGreaterThan(0)
    expect(hardware.memory.totalMB).toBeGreaterThan(0)
    expect(Array.isArray(hardware.gpus)).toBe(true)
    expect(Array.isArray(hardware.npus)).toBe(true)
  })
})
