// The security gate's decisions: token and policy together, every decision audited, denials typed.

import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  AuditLog,
  type AuditStore,
  createLogger,
  encodeToken,
  type GatedCommand,
  issueToken,
  MemoryAuditStore,
  MemoryRevocationStore,
  PolicyEngine,
  type PolicyRule,
  RevocationList,
  SecurityGate,
  signRevocation,
  verifyAuditLines,
} from '../src/index.js'

const logger = createLogger({ level: 'CRITICAL', component: 'test', sink: { write: () => {} } })
const TASK: GatedCommand = { command: '/task/run', level: 'PUBLIC', capability: 'required' }
const INFO: GatedCommand = { command: '/node/profile', level: 'PUBLIC', capability: 'optional' }

let rootKey: Awaited<ReturnType<typeof generateKeyPair>>
let root: string
let requester: string
let self: string

beforeAll(async () => {
  rootKey = await generateKeyPair('Ed25519')
  root = peerIdFromPrivateKey(rootKey).toString()
  requester = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  self = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
})

function gate(rules: PolicyRule[] = [], store: AuditStore = new MemoryAuditStore()) {
  const revocations = new RevocationList(new MemoryRevocationStore(), new Set([root]))
  const audit = new AuditLog(store)
  return {
    gate: new SecurityGate({
      self,
      trustedRoots: new Set([root]),
      revocations,
      policy: new PolicyEngine(rules),
      audit,
      logger,
      defaultLevel: 'PUBLIC',
    }),
    revocations,
    store,
  }
}

async function token(command = '/task', kernels?: string[]) {
  return issueToken({
    key: rootKey,
    audience: requester,
    command,
    policy: { level: 'INTERNAL', kernels },
    expires: Math.floor(Date.now() / 1000) + 600,
  })
}

describe('SecurityGate', () => {
  it('a command that requires a capability refuses a request without one: CAPABILITY_MISSING, audited', async () => {
    const { gate: g, store } = gate()
    await expect(g.authorize(TASK, { peer: requester, traceId: 't1' })).rejects.toMatchObject({ code: 'CAPABILITY_MISSING' })
    await g.flushAudit()
    const lines = (store as MemoryAuditStore).lines()
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0])).toMatchObject({ outcome: 'deny', code: 'CAPABILITY_MISSING', traceId: 't1', command: '/task/run' })
  })

  it('a valid token allows what it grants, above PUBLIC too, and says which token in the audit', async () => {
    const { gate: g, store } = gate()
    const t = await token('/task', ['echo'])
    await g.authorize(TASK, { peer: requester, token: encodeToken(t), kernel: 'echo', level: 'INTERNAL', traceId: 't2' })
    await expect(g.authorize(TASK, { peer: requester, token: encodeToken(t), kernel: 'matmul', traceId: 't3' })).rejects.toMatchObject({
      code: 'CAPABILITY_MISSING',
    })
    await expect(
      g.authorize(TASK, { peer: requester, token: encodeToken(t), kernel: 'echo', level: 'SECRET', traceId: 't4' }),
    ).rejects.toMatchObject({
      code: 'CAPABILITY_MISSING',
    })
    await g.flushAudit()
    const records = (store as MemoryAuditStore).lines().map((line) => JSON.parse(line))
    expect(records.map((r) => r.outcome)).toEqual(['allow', 'deny', 'deny'])
    expect(records[0].reason).toMatch(/allowed by capability [0-9a-f]{16}/)
    expect(verifyAuditLines((store as MemoryAuditStore).lines())).toMatchObject({ ok: true })
  })

  it('a token for any kernel does not run code the caller sends: wgsl needs one that names it (CAPABILITY_MISSING)', async () => {
    const { gate: g } = gate()
    const any = encodeToken(await token('/task'))
    await expect(g.authorize(TASK, { peer: requester, token: any, kernel: 'wgsl', level: 'INTERNAL', traceId: 't' })).rejects.toMatchObject(
      {
        code: 'CAPABILITY_MISSING',
        message: expect.stringMatching(/wgsl runs code the caller sends.*issue a token with --kernel wgsl/),
      },
    )
    const named = encodeToken(await token('/task', ['wgsl']))
    await g.authorize(TASK, { peer: requester, token: named, kernel: 'wgsl', level: 'INTERNAL', traceId: 't' })
  })

  it('an explicit deny rule beats a valid token; an allow rule admits a request without one above PUBLIC', async () => {
    const { gate: g } = gate([
      { effect: 'deny', name: 'no-matmul', kernels: ['matmul'], reason: 'matmul is off on this node' },
      { effect: 'allow', name: 'internal-info', commands: ['/node'], maxLevel: 'INTERNAL' },
    ] as PolicyRule[])
    const t = await token('/task')
    await expect(g.authorize(TASK, { peer: requester, token: encodeToken(t), kernel: 'matmul', traceId: 't' })).rejects.toMatchObject({
      code: 'POLICY_DENIED',
      message: expect.stringMatching(/matmul is off/),
    })
    await g.authorize(INFO, { peer: requester, level: 'INTERNAL', traceId: 't' })
  })

  it('without a rule or token, PUBLIC is allowed and anything above is denied by default', async () => {
    const { gate: g } = gate()
    await g.authorize(INFO, { peer: requester, traceId: 't' })
    await expect(g.authorize(INFO, { peer: requester, level: 'CONFIDENTIAL', traceId: 't' })).rejects.toMatchObject({
      code: 'POLICY_DENIED',
    })
  })

  it('a revoked token is refused with CAPABILITY_REVOKED', async () => {
    const { gate: g, revocations } = gate()
    const t = await token()
    await g.authorize(TASK, { peer: requester, token: encodeToken(t), traceId: 't' })
    await revocations.add(await signRevocation(t.id, rootKey))
    await expect(g.authorize(TASK, { peer: requester, token: encodeToken(t), traceId: 't' })).rejects.toMatchObject({
      code: 'CAPABILITY_REVOKED',
    })
  })

  it("a command that names no level takes the node's default level", async () => {
    const revocations = new RevocationList(new MemoryRevocationStore(), new Set([root]))
    const strict = new SecurityGate({
      self,
      trustedRoots: new Set([root]),
      revocations,
      policy: new PolicyEngine([]),
      audit: new AuditLog(new MemoryAuditStore()),
      logger,
      defaultLevel: 'CONFIDENTIAL',
    })
    const unlevelled: GatedCommand = { command: '/node/echo', capability: 'optional' }
    await expect(strict.authorize(unlevelled, { peer: requester, traceId: 't' })).rejects.toMatchObject({
      code: 'POLICY_DENIED',
      message: expect.stringMatching(/CONFIDENTIAL/),
    })
  })

  it('a revocation by someone outside the chain has no effect', async () => {
    const { gate: g, revocations } = gate()
    const t = await token()
    const outsider = await generateKeyPair('Ed25519')
    await revocations.add(await signRevocation(t.id, outsider))
    await g.authorize(TASK, { peer: requester, token: encodeToken(t), traceId: 't' })
  })

  it('when the audit log cannot be written, the gate closes: later requests are refused (fail closed)', async () => {
    const broken: AuditStore = { open: async () => undefined, append: async () => Promise.reject(new Error('disk full')) }
    const { gate: g } = gate([], broken)
    await g.authorize(INFO, { peer: requester, traceId: 't' })
    await g.flushAudit()
    await expect(g.authorize(INFO, { peer: requester, traceId: 't' })).rejects.toMatchObject({ code: 'POLICY_DENIED' })
  })
})
