// `noodlenet token issue`: signs a capability token. Without --proof the key is a root; with one, the token is a
// delegation, and what the flags leave out is inherited from the proof, so that the result only narrows it.

import { type CapabilityPolicy, encodeToken, isNoodleError, issueToken } from '@noodlenet/shared'
import { parseCommandArgs, UsageError } from '../cli-args.js'
import {
  decodeArgument,
  loadKey,
  nowSeconds,
  parseAmount,
  parseCommandPath,
  parseExpiry,
  parseKernel,
  parseLevel,
  parsePeerId,
  parseTime,
  readTokenText,
  required,
} from './token-input.js'

/** A token with no --expires lives a day (or as long as its proof, when that is shorter). */
const DEFAULT_LIFETIME_SECONDS = 86_400

export const TOKEN_ISSUE_HELP = `Usage: noodlenet token issue --key FILE --to PEERID --can COMMAND [options]

Signs a capability token with the key in FILE and prints it (nnt1.…) on stdout.
Without --proof the key is a root: nodes that trust its peer id accept the token.
With --proof the token is a delegation: FILE must hold the key the proof was granted
to, and the token may only narrow the proof; a flag left out is inherited from it.

Options:
  --key FILE             the issuer's key (written by \`noodlenet keygen\`)
  --to PEERID            the audience: the peer that may use the token
  --can COMMAND          the command granted, a path such as /task/run; / grants all
                         (a command also grants those below it: /task grants /task/run)
  --kernel K             a kernel the token allows (repeatable; default: any kernel,
                         or the proof's kernels)
  --level L              highest security level granted: PUBLIC, INTERNAL, CONFIDENTIAL,
                         SECRET or CRITICAL (default PUBLIC, or the proof's level)
  --max-cost N           highest cost of one request (default: no limit, or the proof's)
  --expires WHEN         30m, 1h, 2d (from now), an ISO date, or never
                         (default 1d, or the proof's expiry when sooner)
  --not-before WHEN      valid only from then: an ISO date or +10m (default: at once,
                         or the proof's not-before)
  --subject PEERID       the one node where the token is valid (default: any node that
                         trusts its root, or the proof's subject)
  --proof TOKEN|@FILE    delegate under this token
  -h, --help             show this help

Exit codes: 0 printed, 2 for usage, an unreadable key or a token the proof does not allow.`

const OPTIONS = {
  key: { type: 'string' },
  to: { type: 'string' },
  can: { type: 'string' },
  kernel: { type: 'string', multiple: true },
  level: { type: 'string' },
  'max-cost': { type: 'string' },
  expires: { type: 'string' },
  'not-before': { type: 'string' },
  subject: { type: 'string' },
  proof: { type: 'string' },
} as const

const COMMAND = 'token issue'

export async function tokenIssueCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, OPTIONS, COMMAND)
  if (values.help === true) {
    process.stdout.write(`${TOKEN_ISSUE_HELP}\n`)
    return 0
  }
  const now = nowSeconds()
  const keyPath = required(values.key, '--key FILE', COMMAND)
  const audience = parsePeerId(required(values.to, '--to PEERID', COMMAND), '--to')
  const command = parseCommandPath(required(values.can, '--can COMMAND', COMMAND), '--can')
  const proof = values.proof === undefined ? undefined : decodeArgument(await readTokenText(values.proof, '--proof'), '--proof')
  const granted = proof?.payload

  const policy: CapabilityPolicy = {
    level: values.level === undefined ? (granted?.pol.level ?? 'PUBLIC') : parseLevel(values.level, '--level'),
  }
  const kernels = values.kernel?.map((kernel) => parseKernel(kernel, '--kernel')) ?? granted?.pol.kernels
  if (kernels !== undefined) policy.kernels = [...new Set(kernels)]
  const maxCost = values['max-cost'] === undefined ? granted?.pol.maxCost : parseAmount(values['max-cost'], '--max-cost')
  if (maxCost !== undefined) policy.maxCost = maxCost
  if (granted?.pol.resources !== undefined) policy.resources = granted.pol.resources

  let expires: number | null
  if (values.expires !== undefined) expires = parseExpiry(values.expires, now, COMMAND)
  else if (granted !== undefined && granted.exp !== null) expires = Math.min(now + DEFAULT_LIFETIME_SECONDS, granted.exp)
  else expires = now + DEFAULT_LIFETIME_SECONDS
  const notBefore = values['not-before'] === undefined ? granted?.nbf : parseTime(values['not-before'], now, '--not-before', COMMAND)
  if (expires !== null && notBefore !== undefined && notBefore >= expires) {
    throw new UsageError('--not-before is not before the expiry: the token would never be valid.')
  }
  const subject = values.subject === undefined ? undefined : parsePeerId(values.subject, '--subject')

  const key = await loadKey(keyPath)
  let token: Awaited<ReturnType<typeof issueToken>>
  try {
    token = await issueToken({ key, audience, command, policy, subject, notBefore, expires, proof })
  } catch (err) {
    // An escalation or a key of the wrong type: the flags ask for what the key or the proof cannot give.
    if (isNoodleError(err)) throw new UsageError(err.sentence)
    throw new UsageError(`cannot issue this token: ${(err as Error).message}`)
  }
  process.stdout.write(`${encodeToken(token)}\n`)
  return 0
}
