// `noodlenet keygen` and `noodlenet token issue|inspect|verify` as a user meets them, through the real CLI: keys
// written 0600 and never overwritten, tokens issued, delegated, inspected and verified, every refusal with its code,
// and bad input of any shape answered with one line and exit code 2 (or a refusal, 1), never a stack trace.

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decodeToken, encodeToken } from '@noodlenet/shared'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forgeToken } from '../../shared/test/capability-forge.js'
import { readKeyFile, writeNewKeyFile } from '../src/keyfile.js'
import { runCli } from './support/peer-process.js'

let dir: string
/** Key files and peer ids: root grants to bob, bob delegates to carol; mallory holds nothing; worker is a node. */
const keys = {} as Record<'root' | 'bob' | 'carol' | 'mallory' | 'worker', { file: string; id: string }>

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noodlenet-token-'))
  for (const name of ['root', 'bob', 'carol', 'mallory', 'worker'] as const) {
    const file = join(dir, `${name}.key`)
    keys[name] = { file, id: peerIdFromPrivateKey(await writeNewKeyFile(file)).toString() }
  }
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Runs the CLI and checks the contract every outcome keeps: at most one line on stderr, and no stack trace. */
async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const result = await runCli(args)
  expect(result.stderr, `stderr of ${args.join(' ')}`).not.toMatch(/\n\s+at /)
  expect(result.stderr.trim().split('\n').length, `stderr of ${args.join(' ')}`).toBeLessThanOrEqual(1)
  return result
}

async function issue(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await cli(['token', 'issue', ...args])
  expect(stderr).toBe('')
  expect(code).toBe(0)
  expect(stdout).toMatch(/^nnt1\.[A-Za-z0-9_-]+\n$/)
  return stdout.trim()
}

/** root → bob: /task with matmul and fft up to CONFIDENTIAL, cost 100, for two hours. */
function issueRoot(extra: string[] = []): Promise<string> {
  return issue([
    '--key',
    keys.root.file,
    '--to',
    keys.bob.id,
    '--can',
    '/task',
    '--kernel',
    'matmul',
    '--kernel',
    'fft',
    '--level',
    'CONFIDENTIAL',
    '--max-cost',
    '100',
    '--expires',
    '2h',
    ...extra,
  ])
}

function verifyArgs(token: string, audience: string, extra: string[] = []): string[] {
  return ['token', 'verify', token, '--audience', audience, '--can', '/task/run', '--root', keys.root.id, ...extra]
}

describe('help', () => {
  it('noodlenet --help lists keygen and token; token --help lists its commands', async () => {
    const [main, token] = await Promise.all([cli(['--help']), cli(['token', '--help'])])
    expect(main.stdout).toMatch(/^\s+keygen\s/m)
    expect(main.stdout).toMatch(/^\s+token\s/m)
    expect(token.code).toBe(0)
    for (const command of ['issue', 'inspect', 'verify']) expect(token.stdout).toMatch(new RegExp(`^\\s+${command}\\s`, 'm'))
  })

  it.each([
    [['keygen', '--help']],
    [['token', 'issue', '--help']],
    [['token', 'inspect', '-h']],
    [['token', 'verify', '--help']],
    [['token', 'help']],
  ])('noodlenet %j prints usage and exits 0', async (args) => {
    const { code, stdout } = await cli(args)
    expect(code).toBe(0)
    expect(stdout).toMatch(/^Usage: noodlenet/)
  })
})

describe('noodlenet keygen', () => {
  it('writes a key readable only by its owner and prints its peer id as JSON', async () => {
    const file = join(dir, 'new.key')
    const { code, stdout } = await cli(['keygen', '--out', file])
    expect(code).toBe(0)
    const { peerId } = JSON.parse(stdout) as { peerId: string }
    expect(peerId).toMatch(/^12D3KooW/)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(peerIdFromPrivateKey(await readKeyFile(file)).toString()).toBe(peerId)
  })

  it('refuses to overwrite an existing file, with one line and exit code 2', async () => {
    const before = await readFile(keys.root.file)
    const other = join(dir, 'notes.txt')
    await writeFile(other, 'keep me')
    for (const file of [keys.root.file, other]) {
      const { code, stdout, stderr } = await cli(['keygen', '--out', file])
      expect(code).toBe(2)
      expect(stdout).toBe('')
      expect(stderr).toMatch(/already exists; keygen never overwrites/)
    }
    expect(await readFile(keys.root.file)).toEqual(before)
    expect(await readFile(other, 'utf8')).toBe('keep me')
  })

  it('without --out, or into a missing directory, it is a one-line usage error', async () => {
    const [missing, nowhere] = await Promise.all([cli(['keygen']), cli(['keygen', '--out', join(dir, 'no', 'such', 'dir.key')])])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/missing --out/)
    expect(nowhere.code).toBe(2)
    expect(nowhere.stderr).toMatch(/cannot write key file/)
  })
})

describe('issue → inspect → verify', () => {
  it('a root token: inspect shows what was granted, verify accepts a request within it', async () => {
    const token = await issueRoot()
    const inspected = await cli(['token', 'inspect', token])
    expect(inspected.code).toBe(0)
    const chain = JSON.parse(inspected.stdout) as Array<Record<string, unknown>>
    expect(chain).toEqual([
      {
        id: expect.stringMatching(/^[0-9a-f]{64}$/),
        iss: keys.root.id,
        aud: keys.bob.id,
        sub: null,
        cmd: '/task',
        pol: { level: 'CONFIDENTIAL', kernels: ['matmul', 'fft'], maxCost: 100 },
        nbf: null,
        exp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
      },
    ])
    const hoursLeft = (Date.parse(chain[0].exp as string) - Date.now()) / 3_600_000
    expect(hoursLeft).toBeGreaterThan(1.9)
    expect(hoursLeft).toBeLessThanOrEqual(2)

    const verified = await cli(verifyArgs(token, keys.bob.id, ['--kernel', 'matmul', '--level', 'INTERNAL']))
    expect(verified.code).toBe(0)
    expect(JSON.parse(verified.stdout)).toEqual({
      valid: true,
      chain: [chain[0].id],
      root: keys.root.id,
      subject: null,
      expires: chain[0].exp,
    })
  })

  it('a delegation of depth 2 through --proof (inline and @FILE) narrows and inherits, and verifies', async () => {
    const root = await issueRoot()
    const proofFile = join(dir, 'root.token')
    await writeFile(proofFile, `${root}\n`)
    const leaf = await issue([
      '--key',
      keys.bob.file,
      '--to',
      keys.carol.id,
      '--can',
      '/task/run',
      '--kernel',
      'matmul',
      '--proof',
      `@${proofFile}`,
    ])
    const inline = await issue(['--key', keys.bob.file, '--to', keys.carol.id, '--can', '/task/run', '--proof', root])

    const leafFile = join(dir, 'leaf.token')
    await writeFile(leafFile, leaf)
    const { stdout } = await cli(['token', 'inspect', `@${leafFile}`])
    const chain = JSON.parse(stdout) as Array<{ id: string; iss: string; aud: string; cmd: string; pol: unknown; exp: string }>
    expect(chain.map((link) => [link.iss, link.aud, link.cmd])).toEqual([
      [keys.bob.id, keys.carol.id, '/task/run'],
      [keys.root.id, keys.bob.id, '/task'],
    ])
    // Left out, the level, cost and expiry come from the proof: the delegation can only narrow.
    expect(chain[0].pol).toEqual({ level: 'CONFIDENTIAL', kernels: ['matmul'], maxCost: 100 })
    expect(chain[0].exp).toBe(chain[1].exp)
    expect(JSON.parse((await cli(['token', 'inspect', inline])).stdout)[0].pol).toEqual({
      level: 'CONFIDENTIAL',
      kernels: ['matmul', 'fft'],
      maxCost: 100,
    })

    const verified = await cli(verifyArgs(`@${leafFile}`, keys.carol.id, ['--kernel', 'matmul']))
    expect(verified.code).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true, chain: chain.map((link) => link.id), root: keys.root.id })
  })
})

describe('kernels that run code the caller sends (wgsl, custom:<sha256>)', () => {
  it('are granted by --kernel wgsl and --kernel custom:*, never by a token for any kernel, nor by delegating from one', async () => {
    const base = ['--key', keys.root.file, '--to', keys.bob.id, '--can', '/task', '--level', 'INTERNAL', '--expires', '1h']
    const named = await issue([...base, '--kernel', 'wgsl', '--kernel', 'custom:*'])
    const anyKernel = await issue(base)
    const wasm = `custom:${'ab'.repeat(32)}`
    const verdicts = await Promise.all(
      [
        [named, 'wgsl'],
        [named, wasm],
        [anyKernel, 'matmul'],
        [anyKernel, 'wgsl'],
        [anyKernel, wasm],
      ].map(async ([token, kernel]) =>
        JSON.parse((await cli(verifyArgs(token, keys.bob.id, ['--kernel', kernel, '--level', 'INTERNAL']))).stdout),
      ),
    )
    expect(verdicts.map((verdict) => verdict.code ?? 'valid')).toEqual([
      'valid',
      'valid',
      'valid',
      'CAPABILITY_MISSING',
      'CAPABILITY_MISSING',
    ])
    expect(verdicts[3].reason).toBe(
      'wgsl runs code the caller sends, which a token for any kernel does not cover: issue a token with --kernel wgsl',
    )
    expect(verdicts[4].reason).toMatch(/issue a token with --kernel custom:\* \(any WebAssembly kernel\)/)

    const asBob = ['--key', keys.bob.file, '--to', keys.carol.id, '--can', '/task/run']
    const widening = await cli(['token', 'issue', ...asBob, '--kernel', 'wgsl', '--proof', anyKernel])
    expect(widening.code).toBe(2)
    expect(widening.stderr).toMatch(/kernel wgsl runs code the caller sends, which its proof \(any kernel\) does not grant/)
  })
})

describe('token verify refuses with the code that says why (exit code 1)', () => {
  it('wrong audience, expired, not yet valid, untrusted root, a request outside the grant, a forged escalation', async () => {
    const root = await issueRoot()
    const leaf = await issue([
      '--key',
      keys.bob.file,
      '--to',
      keys.carol.id,
      '--can',
      '/task/run',
      '--level',
      'INTERNAL',
      '--subject',
      keys.worker.id,
      '--proof',
      root,
    ])
    const later = await issue([
      '--key',
      keys.bob.file,
      '--to',
      keys.carol.id,
      '--can',
      '/task/run',
      '--not-before',
      '+10m',
      '--proof',
      root,
    ])
    // Bob signs a wider token than his proof by hand: issue refuses to, so an attacker would do it like this.
    const forged = await forgeToken(
      await readKeyFile(keys.bob.file),
      {
        ...decodeToken(leaf).payload,
        pol: { level: 'SECRET' },
        nonce: new Uint8Array(12),
      },
      decodeToken(root),
    )
    const cases: Array<[string, string[], string]> = [
      ['CAPABILITY_WRONG_AUDIENCE', verifyArgs(leaf, keys.bob.id), 'granted to'],
      ['CAPABILITY_WRONG_AUDIENCE', verifyArgs(leaf, keys.carol.id, ['--subject', keys.mallory.id]), `governs ${keys.worker.id}`],
      ['CAPABILITY_EXPIRED', verifyArgs(leaf, keys.carol.id, ['--at', '+3h']), 'expired at'],
      ['CAPABILITY_NOT_YET_VALID', verifyArgs(later, keys.carol.id), 'valid from'],
      ['CAPABILITY_UNTRUSTED_ROOT', [...verifyArgs(leaf, keys.carol.id).slice(0, -2), '--root', keys.bob.id], 'does not trust'],
      ['CAPABILITY_MISSING', verifyArgs(leaf, keys.carol.id, ['--level', 'SECRET']), 'grants up to INTERNAL'],
      ['CAPABILITY_ESCALATION', verifyArgs(forged, keys.carol.id), 'widens its proof'],
      ['CAPABILITY_MALFORMED', verifyArgs(`${leaf.slice(0, 40)}!`, keys.carol.id), 'malformed'],
    ]
    const results = await Promise.all(cases.map(([, args]) => cli(args)))
    for (const [i, [code, args, reason]] of cases.entries()) {
      const { code: exit, stdout, stderr } = results[i]
      expect({ exit, stderr, args }).toMatchObject({ exit: 1, stderr: '' })
      const verdict = JSON.parse(stdout) as { valid: boolean; code: string; reason: string }
      expect(verdict).toMatchObject({ valid: false, code })
      expect(verdict.reason).toContain(reason)
    }
  })
})

describe('bad input is one line on stderr and exit code 2', () => {
  it('token issue: missing flags, bad values, past expiry, an unreadable key, a garbage proof, a widening', async () => {
    const root = await issueRoot()
    const base = ['token', 'issue', '--key', keys.root.file, '--to', keys.bob.id, '--can', '/task']
    const cases: Array<[string[], RegExp]> = [
      [['token', 'issue', '--to', keys.bob.id, '--can', '/task'], /missing --key/],
      [['token', 'issue', '--key', keys.root.file, '--can', '/task'], /missing --to/],
      [['token', 'issue', '--key', keys.root.file, '--to', keys.bob.id], /missing --can/],
      [[...base.slice(0, 5), 'bob', '--can', '/task'], /--to "bob" is not a peer id/],
      [[...base.slice(0, -1), 'task'], /--can "task" is not a command/],
      [[...base, '--level', 'TOP'], /--level "TOP" is not a security level/],
      [[...base, '--max-cost', '-5'], /--max-cost/],
      [[...base, '--expires', 'soon'], /--expires "soon" is not a time/],
      [[...base, '--expires', '2020-01-01T00:00:00Z'], /is not in the future/],
      [[...base, '--not-before', 'tomorrow'], /--not-before "tomorrow" is not a time/],
      [[...base, '--not-before', '+3d', '--expires', '1d'], /would never be valid/],
      [[...base, '--frobnicate'], /--help/],
      [['token', 'issue', '--key', join(dir, 'absent.key'), '--to', keys.bob.id, '--can', '/task'], /cannot read key file .*ENOENT/],
      [
        ['token', 'issue', '--key', keys.bob.file, '--to', keys.carol.id, '--can', '/task', '--proof', 'nnt1.garbage'],
        /--proof: .*malformed/,
      ],
      [
        ['token', 'issue', '--key', keys.bob.file, '--to', keys.carol.id, '--can', '/task', '--proof', `@${join(dir, 'absent')}`],
        /cannot read --proof file/,
      ],
      [
        ['token', 'issue', '--key', keys.bob.file, '--to', keys.carol.id, '--can', '/task', '--level', 'SECRET', '--proof', root],
        /cannot delegate: level SECRET/,
      ],
      [
        ['token', 'issue', '--key', keys.bob.file, '--to', keys.carol.id, '--can', '/peer', '--proof', root],
        /cannot delegate: command \/peer/,
      ],
      [
        ['token', 'issue', '--key', keys.bob.file, '--to', keys.carol.id, '--can', '/task', '--expires', 'never', '--proof', root],
        /outlives its proof/,
      ],
      [
        ['token', 'issue', '--key', keys.mallory.file, '--to', keys.carol.id, '--can', '/task', '--proof', root],
        /granted to .*not to the issuing key/,
      ],
    ]
    const results = await Promise.all(cases.map(([args]) => cli(args)))
    for (const [i, [args, message]] of cases.entries()) {
      expect({ args, code: results[i].code, stdout: results[i].stdout }).toEqual({ args, code: 2, stdout: '' })
      expect(results[i].stderr).toMatch(/^noodlenet token issue: /)
      expect(results[i].stderr).toMatch(message)
    }
  })

  it('token inspect and verify: a missing or unreadable token, a bad peer id, a missing --root', async () => {
    const token = encodeToken(decodeToken(await issueRoot()))
    const cases: Array<[string[], RegExp]> = [
      [['token', 'inspect'], /missing TOKEN/],
      [['token', 'inspect', 'not-a-token'], /does not start with "nnt1\."/],
      [['token', 'inspect', `@${join(dir, 'absent')}`], /cannot read token file/],
      [['token', 'inspect', token, 'extra'], /unexpected argument/],
      [['token', 'verify', token, '--audience', 'bob', '--can', '/task', '--root', keys.root.id], /--audience "bob" is not a peer id/],
      [['token', 'verify', token, '--audience', keys.bob.id, '--can', '/task'], /missing --root/],
      [['token', 'verify', token, '--audience', keys.bob.id, '--root', keys.root.id], /missing --can/],
      [['token', 'verify', token, '--audience', keys.bob.id, '--can', '/task', '--root', keys.root.id, '--at', 'noon'], /--at "noon"/],
      [['token', 'frobnicate'], /unknown command "token frobnicate"/],
      [['token'], /missing command/],
    ]
    const results = await Promise.all(cases.map(([args]) => cli(args)))
    for (const [i, [args, message]] of cases.entries()) {
      expect({ args, code: results[i].code }).toEqual({ args, code: 2 })
      expect(results[i].stderr).toMatch(message)
    }
  })

  it('random strings as the token: inspect exits 2 and verify 1 or 2, always with one line and no stack trace', async () => {
    const root = await issueRoot()
    const base64url = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')
    const text = fc
      .oneof(
        fc.string({ maxLength: 60 }),
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.string({ unit: base64url, maxLength: 200 }).map((body) => `nnt1.${body}`),
        fc.tuple(fc.nat(root.length - 1), base64url).map(([at, c]) => root.slice(0, at) + c + root.slice(at + 1)),
        fc.nat(root.length - 1).map((at) => root.slice(0, at)),
      )
      // A NUL cannot be passed in argv; anything else can.
      .filter((s) => !s.includes('\0') && s !== root)
    // One CLI start per run (about a second each): the command is drawn too.
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('inspect', 'verify'), text, async (command, token) => {
        if (command === 'inspect') {
          const { code } = await cli(['token', 'inspect', '--', token])
          // A mutation that still decodes is printed: inspect checks no signature.
          expect([0, 2]).toContain(code)
        } else {
          const { code, stdout } = await cli([
            'token',
            'verify',
            '--audience',
            keys.bob.id,
            '--can',
            '/task',
            '--root',
            keys.root.id,
            '--',
            token,
          ])
          expect([1, 2]).toContain(code)
          if (code === 1) expect(JSON.parse(stdout)).toMatchObject({ valid: false, code: expect.stringMatching(/^CAPABILITY_/) })
        }
      }),
      { numRuns: 30 },
    )
  }, 180_000)
})
