// The one authorization gate. Every protocol handler is registered with the command it serves (net/rpc.ts), and
// the gate decides about every request before the handler sees it: the capability token (if any) is verified for
// this exact request, then the operator's policy rules are applied, and the decision — allow or deny, with a
// reason a person can read — goes to the audit log. A denial is a NoodleError with its code.
//
// How token and policy combine: an explicit policy rule decides first (a deny rule beats any token); when no rule
// matches, a verified token allows what it grants, and without one the default applies (PUBLIC allowed, above
// PUBLIC denied). Commands that require a capability refuse requests without one: CAPABILITY_MISSING.

import { NoodleError, type NoodleErrorCode } from '../errors.js'
import { LIMITS } from '../limits.js'
import type { Logger } from '../monitoring/logger.js'
import type { NodeMetrics } from '../monitoring/node-metrics.js'
import type { AuditEntry, AuditLog } from './audit.js'
import { type CapabilityRequest, type CapabilityToken, VerifiedChainCache, verifyCapability } from './capability.js'
import type { SecurityLevel } from './levels.js'
import type { PolicyEngine } from './policy.js'
import type { RevocationList } from './revocation.js'

/** What a registered handler serves, as the gate sees it. */
export interface GatedCommand {
  /** Command path, e.g. `/task/run`. */
  command: string
  /** Level of the command when the request names none; the node's default (security.level) when absent. */
  level?: SecurityLevel
  /** 'required': refuse requests without a token; 'optional': a token may raise what is allowed. */
  capability: 'required' | 'optional'
}

/** One request, as far as authorization goes. */
export interface AuthorizationRequest {
  /** The remote peer (authenticated by noise). */
  peer: string
  kernel?: string
  level?: SecurityLevel
  cost?: number
  resources?: { cpu?: number; memoryMB?: number; gpu?: boolean }
  /** Compact capability token, when the request carries one. */
  token?: string
  traceId: string
  /** Tasks this one request carries (a task batch, all of one kernel and level under one token): rate rules count
   *  each. 1 when absent. */
  count?: number
}

export interface SecurityGateComponents {
  /** This node's peer id: the subject of the capabilities it honours. */
  self: string
  trustedRoots: ReadonlySet<string>
  revocations: RevocationList
  policy: PolicyEngine
  audit?: AuditLog
  logger: Logger
  /** The node's default level (security.level / NOODLE_NET_SECURITY_LEVEL) for commands that name none. */
  defaultLevel: SecurityLevel
  /** Milliseconds since the epoch. */
  now?: () => number
  /** Counts every decision (noodlenet_auth_decisions_total). */
  metrics?: Pick<NodeMetrics, 'authDecision'>
}

const HINTS: Partial<Record<NoodleErrorCode, string>> = {
  CAPABILITY_MISSING: 'Present a capability token for this command (noodlenet token issue) with --token.',
  CAPABILITY_EXPIRED: 'Ask the issuer for a fresh token.',
  CAPABILITY_NOT_YET_VALID: 'Wait until the token is valid, or ask for one without a later start.',
  CAPABILITY_WRONG_AUDIENCE: 'The token was issued to another peer: ask for one issued to your peer id.',
  CAPABILITY_BAD_SIGNATURE: 'The token was altered or forged: ask its issuer for a new one.',
  CAPABILITY_REVOKED: 'The token was revoked: ask its issuer for a new one.',
  CAPABILITY_ESCALATION: 'A delegation in the chain grants more than its proof: re-delegate within the proof.',
  CAPABILITY_UNTRUSTED_ROOT: 'Use a chain rooted in a key this node trusts (its security.trustedRoots / --trusted-root).',
  CAPABILITY_MALFORMED: 'Pass the token exactly as `noodlenet token issue` printed it.',
  POLICY_DENIED: "Ask the node's operator to allow it in security.rules.",
  RATE_LIMITED: 'Slow down and retry later.',
}

export class SecurityGate {
  private readonly c: SecurityGateComponents
  /** Bounded: keys are whole token strings (up to 16 KiB), so 2,000 entries stay under about 32 MiB. */
  private readonly cache = new VerifiedChainCache(2_000)
  /** Made once: a closure made per request costs a defineProperty under tsx, which runs the CLI. */
  private readonly isRevoked = (id: string, chain: readonly CapabilityToken[]): boolean => this.c.revocations.isRevoked(id, chain)
  private readonly now: () => number
  private readonly pending: AuditEntry[] = []
  private flushing: Promise<void> | undefined
  private auditFailure: unknown

  constructor(components: SecurityGateComponents) {
    this.c = components
    this.now = components.now ?? Date.now
  }

  /** Resolves when the request may proceed; otherwise throws the denial. Every decision is audited. */
  async authorize(command: GatedCommand, request: AuthorizationRequest): Promise<void> {
    const level = request.level ?? command.level ?? this.c.defaultLevel
    let issuer: string | undefined
    let tokenId: string | undefined
    if (request.token !== undefined) {
      const capabilityRequest: CapabilityRequest = {
        requester: request.peer,
        subject: this.c.self,
        command: command.command,
        kernel: request.kernel,
        level,
        cost: request.cost,
        resources: request.resources,
      }
      const result = await verifyCapability(request.token, capabilityRequest, {
        trustedRoots: this.c.trustedRoots,
        now: Math.floor(this.now() / 1000),
        isRevoked: this.isRevoked,
        cache: this.cache,
      })
      if (!result.ok) return this.deny(command, request, level, result.code, result.reason)
      issuer = result.chain[result.chain.length - 1].payload.iss
      tokenId = result.chain[0].id
    } else if (command.capability === 'required') {
      return this.deny(
        command,
        request,
        level,
        'CAPABILITY_MISSING',
        `${command.command} needs a capability token and the request carries none`,
      )
    }

    const decision = this.c.policy.evaluate({
      peer: request.peer,
      command: command.command,
      kernel: request.kernel,
      level,
      issuer,
      resources: request.resources,
      count: request.count,
    })
    if (decision.effect === 'deny' && (decision.rule !== undefined || tokenId === undefined)) {
      return this.deny(command, request, level, decision.code ?? 'POLICY_DENIED', decision.reason)
    }
    const reason =
      decision.rule === undefined && tokenId !== undefined
        ? `allowed by capability ${tokenId.slice(0, 16)}… rooted at ${issuer}`
        : decision.reason
    await this.record(
      command,
      request,
      level,
      'allow',
      undefined,
      request.count === undefined ? reason : `${reason} (${request.count} tasks)`,
    )
  }

  private async deny(
    command: GatedCommand,
    request: AuthorizationRequest,
    level: SecurityLevel,
    code: NoodleErrorCode,
    reason: string,
  ): Promise<never> {
    // With the audit closed by a failed write the request is refused either way, with its own code.
    await this.record(command, request, level, 'deny', code, reason).catch(() => {})
    throw new NoodleError(code, `${command.command} refused: ${reason}`, HINTS[code] ?? '')
  }

  private async record(
    command: GatedCommand,
    request: AuthorizationRequest,
    level: SecurityLevel,
    outcome: 'allow' | 'deny',
    code: string | undefined,
    reason: string,
  ): Promise<void> {
    this.c.logger.debug({ traceId: request.traceId, peer: request.peer, command: command.command, outcome, code, reason }, 'authorization')
    this.c.metrics?.authDecision(outcome, code, command.command)
    if (this.c.audit === undefined) return
    if (this.auditFailure !== undefined) {
      // An audit that cannot be written must not let requests through unrecorded: the gate stays closed.
      throw new NoodleError('POLICY_DENIED', `${command.command} refused: the audit log cannot be written`, "Tell the node's operator.")
    }
    this.pending.push({
      peer: request.peer,
      command: command.command,
      kernel: request.kernel,
      level,
      outcome,
      code,
      reason,
      traceId: request.traceId,
    })
    this.scheduleFlush()
  }

  /** Audit records are hashed and written in batches, LIMITS.auditFlushMs after the first decision of a batch, in
   *  order, so the hash chain is not on every request's critical path and a batch's records are hashed while the code
   *  is warm (~5 µs a record, against ~15 µs for a lone record after each request). A failed write closes the gate
   *  for every later request (fail closed) and is logged; `flushAudit()` waits for what is queued. */
  private scheduleFlush(): void {
    if (this.flushing !== undefined) return
    this.flushing = new Promise<void>(afterAuditDelay).then(async () => {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.pending.length)
        // AuditLog writes them one at a time, in this order; each is awaited together, not one turn each.
        await Promise.all(batch.map((entry) => this.appendAudit(entry)))
      }
      this.flushing = undefined
    })
  }

  private async appendAudit(entry: AuditEntry): Promise<void> {
    try {
      await this.c.audit?.append(entry)
    } catch (err) {
      this.auditFailure = err
      this.c.logger.error({ err, traceId: entry.traceId }, 'audit append failed; refusing requests until it can be written')
    }
  }

  /** Resolves when every decision made so far is in the audit log. */
  async flushAudit(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing
  }
}

function afterAuditDelay(then: () => void): void {
  setTimeout(then, LIMITS.auditFlushMs)
}
