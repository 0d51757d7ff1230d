// noodlenet-signaling as an operator meets it, as real processes: --help and one-line usage errors, the ready line,
// /health and the web app at /, a graceful stop on SIGTERM/SIGINT, and two servers side by side on one machine.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { signSignalingChallenge } from '@noodlenet/shared'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runSignalingCli, SignalingProcess } from './support/signaling-process.js'
import { TestClient } from './support/test-client.js'

let dir: string
let servers: SignalingProcess[] = []
let clients: TestClient[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noodlenet-signaling-'))
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>NoodleNet</title>')
  await writeFile(join(dir, 'app.js'), 'console.log("noodle")')
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})
afterEach(async () => {
  for (const client of clients) client.close()
  clients = []
  await Promise.all(servers.map((server) => server.kill()))
  servers = []
})

function start(args: string[] = ['--port', '0']): SignalingProcess {
  const server = new SignalingProcess(args)
  servers.push(server)
  return server
}

function connect(url: string): TestClient {
  const client = new TestClient(url)
  clients.push(client)
  return client
}

describe('usage', () => {
  it.each([[['--help']], [['-h']]])('%j prints usage and exits 0', async (args) => {
    const { code, stdout } = await runSignalingCli(args)
    expect(code).toBe(0)
    expect(stdout).toMatch(/^Usage: noodlenet-signaling/)
    expect(stdout).toMatch(/--port N/)
  })

  it('an unknown flag, a bad port or a stray argument is one line on stderr and exit code 2', async () => {
    const cases = [['--bogus'], ['--port', 'many'], ['--port', '70000'], ['extra'], ['--log-level', 'LOUD']]
    const results = await Promise.all(cases.map((args) => runSignalingCli(args)))
    for (const [i, { code, stdout, stderr }] of results.entries()) {
      expect(code, cases[i].join(' ')).toBe(2)
      expect(stdout).toBe('')
      expect(stderr.trim().split('\n'), cases[i].join(' ')).toHaveLength(1)
      expect(stderr).toMatch(/^noodlenet-signaling: /)
    }
  })
})

describe('a running server', () => {
  it('prints exactly one ready line, answers /health, and exits 0 on SIGTERM', async () => {
    const server = start(['--port', '0', '--static', join(dir, 'missing')])
    const { url } = await server.ready
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(server.output).toBe(`${JSON.stringify({ event: 'ready', url })}\n`)
    const res = await fetch(`${url}/health`)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(await res.json()).toEqual({ status: 'ok', service: 'noodlenet-signaling', peers: 0, rooms: 0 })
    // Without a built web app, / says how to get one.
    const page = await fetch(`${url}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toMatch(/web app is not built/)
    expect(await server.stop()).toBe(0)
    expect(server.output.trim().split('\n')).toHaveLength(1)
  })

  it('exits 0 on SIGINT too, with registered peers connected', async () => {
    const server = start()
    const url = await server.url()
    const client = connect(url)
    expect(await client.register(await generateKeyPair('Ed25519'))).toEqual({ ok: true })
    server.child.kill('SIGINT')
    expect(await server.exited).toBe(0)
    expect(await client.disconnected).toBe('transport close')
  })

  it('serves the built web app at / from --static, and nothing outside it', async () => {
    const server = start(['--port', '0', '--static', dir])
    const url = await server.url()
    const index = await fetch(`${url}/`)
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await index.text()).toMatch(/<title>NoodleNet<\/title>/)
    // The join link of issue 3 is the same page.
    expect(await (await fetch(`${url}/?join=1`)).text()).toMatch(/NoodleNet/)
    const script = await fetch(`${url}/app.js`)
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await script.text()).toBe('console.log("noodle")')
    expect((await fetch(`${url}/nope.js`)).status).toBe(404)
    expect((await fetch(`${url}/%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404)
    expect((await fetch(`${url}/..%2f..%2fetc%2fpasswd`)).status).toBe(404)
    expect((await fetch(`${url}/`, { method: 'POST' })).status).toBe(405)
  })

  it('a port in use stops start-up with one line and exit code 1', async () => {
    const first = start()
    const port = new URL(await first.url()).port
    const { code, stdout, stderr } = await runSignalingCli(['--port', port])
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr.trim()).toBe(`noodlenet-signaling: port ${port} is in use: pick another with --port, or --port 0 for a free one`)
  })
})

describe('several servers side by side', () => {
  it('each knows only its own peers; one key registers on both; a signature for one is refused by the other', async () => {
    const [one, two] = [start(), start()]
    const [urlOne, urlTwo] = await Promise.all([one.url(), two.url()])
    expect(urlOne).not.toBe(urlTwo)
    const key = await generateKeyPair('Ed25519')

    const onOne = connect(urlOne)
    const onTwo = connect(urlTwo)
    expect(await onOne.register(key)).toEqual({ ok: true })
    // The same identity on a second server is no takeover: each server holds its own registration.
    expect(await onTwo.register(key)).toEqual({ ok: true })
    const challengeOne = await onOne.challenge
    const challengeTwo = await onTwo.challenge
    expect(challengeOne.server).not.toBe(challengeTwo.server)

    // A signature made for server one's challenge does not register anywhere else.
    const other = await generateKeyPair('Ed25519')
    const forOne = await signSignalingChallenge(other, challengeOne)
    const thief = connect(urlTwo)
    await thief.challenge
    expect(await thief.ack('register', forOne)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' })

    // Peers of server two are not reachable through server one.
    const lonely = connect(urlOne)
    expect(await lonely.register(other)).toEqual({ ok: true })
    const onlyOnTwo = connect(urlTwo)
    const third = await generateKeyPair('Ed25519')
    expect(await onlyOnTwo.register(third)).toEqual({ ok: true })
    lonely.socket.emit('signal', { to: onlyOnTwo.peerId, data: 'hi' })
    expect(await lonely.next('error')).toMatchObject({ code: 'PEER_NOT_FOUND' })
    expect(await (await fetch(`${urlOne}/health`)).json()).toMatchObject({ peers: 2 })
    expect(await (await fetch(`${urlTwo}/health`)).json()).toMatchObject({ peers: 2 })

    expect(await one.stop()).toBe(0)
    // Server two did not notice.
    onTwo.socket.emit('signal', { to: onlyOnTwo.peerId, data: 'still up' })
    expect(await onlyOnTwo.next('signal')).toEqual({ from: onTwo.peerId, data: 'still up' })
  })
})
