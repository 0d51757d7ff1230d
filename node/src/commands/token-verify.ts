// `noodlenet token verify`: checks a token as a node checks one before serving a request (signatures, delegation,
// time, revocation-free, the request itself) and prints the verdict as one JSON line. A token that cannot be decoded
// is a verdict too (CAPABILITY_MALFORMED, exit 1): checking untrusted tokens is what this command is for.

import { type CapabilityCode, type CapabilityToken, chainOf, decodeToken, isNoodleError, verifyCapability } from '@noodlenet/shared'
import { parseCommandArgs, UsageError } from '../cli-args.js'
import {
  isoTime,
  nowSeconds,
  parseAmount,
  parseCommandPath,
  parseKernel,
  parseLevel,
  parsePeerId,
  parseTime,
  readTokenText,
  required,
} from './token-input.js'

export const TOKEN_VERIFY_HELP = `Usage: noodlenet token verify TOKEN|@FILE --audience PEERID --can COMMAND --root PEERID [options]

Checks a capability token as a node does before serving a request: every signature,
that each delegation only narrows its proof, that the chain ends at a trusted root,
that it is valid now, and that it covers the request. Prints one line on stdout:
  {"valid":true,"chain":[ids, leaf first],"root":"...","subject":...,"expires":"..."}
  {"valid":false,"code":"CAPABILITY_...","reason":"..."}
Codes: CAPABILITY_MALFORMED, _BAD_SIGNATURE, _ESCALATION, _UNTRUSTED_ROOT, _EXPIRED,
_NOT_YET_VALID, _WRONG_AUDIENCE, _MISSING (see docs/SECURITY.md#capability-tokens).
Revocations are a node's own list; this command knows none.

Arguments:
  TOKEN    the token (nnt1.…), or @FILE to read it from FILE

Options:
  --audience PEERID   the peer presenting the token (the requester)
  --can COMMAND       the command requested, e.g. /task/run
  --root PEERID       a root key trusted to grant (repeatable)
  --kernel K          the kernel requested
  --level L           the security level requested (default PUBLIC)
  --cost N            the cost of the request
  --subject PEERID    the node the request is made to; without it, a subject the token
                      names is not checked (and is printed)
  --at WHEN           check at another time: an ISO date, or +2h / -1d from now
  -h, --help          show this help

Exit codes: 0 valid, 1 refused (the JSON says why), 2 for usage.`

const OPTIONS = {
  audience: { type: 'string' },
  can: { type: 'string' },
  root: { type: 'string', multiple: true },
  kernel: { type: 'string' },
  level: { type: 'string' },
  cost: { type: 'string' },
  subject: { type: 'string' },
  at: { type: 'string' },
} as const

const COMMAND = 'token verify'

export async function tokenVerifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS, COMMAND, 1)
  if (values.help === true) {
    process.stdout.write(`${TOKEN_VERIFY_HELP}\n`)
    return 0
  }
  const argument = required(positionals[0], 'TOKEN', COMMAND)
  const requester = parsePeerId(required(values.audience, '--audience PEERID', COMMAND), '--audience')
  const command = parseCommandPath(required(values.can, '--can COMMAND', COMMAND), '--can')
  if (values.root === undefined)
    throw new UsageError(`missing --root PEERID: the root key this node trusts. Run \`noodlenet ${COMMAND} --help\`.`)
  const roots = values.root.map((root) => parsePeerId(root, '--root'))
  const kernel = values.kernel === undefined ? undefined : parseKernel(values.kernel, '--kernel')
  const level = values.level === undefined ? 'PUBLIC' : parseLevel(values.level, '--level')
  const cost = values.cost === undefined ? undefined : parseAmount(values.cost, '--cost')
  const subject = values.subject === undefined ? undefined : parsePeerId(values.subject, '--subject')
  const now = values.at === undefined ? nowSeconds() : parseTime(values.at, nowSeconds(), '--at', COMMAND)
  const text = await readTokenText(argument, 'token')

  let token: CapabilityToken
  try {
    token = decodeToken(text)
  } catch (err) {
    return verdict({ valid: false, code: 'CAPABILITY_MALFORMED', reason: isNoodleError(err) ? err.message : 'not a capability token' })
  }
  const chain = chainOf(token)
  const named = chain.find((link) => link.payload.sub !== null)?.payload.sub ?? null
  const result = await verifyCapability(
    token,
    { requester, subject: subject ?? named ?? '', command, kernel, level, cost },
    { trustedRoots: new Set(roots), now, isRevoked: () => false },
  )
  if (!result.ok) return verdict({ valid: false, code: result.code, reason: result.reason })
  const expiries = chain.map((link) => link.payload.exp).filter((exp): exp is number => exp !== null)
  return verdict({
    valid: true,
    chain: chain.map((link) => link.id),
    root: chain[chain.length - 1].payload.iss,
    subject: named,
    expires: expiries.length === 0 ? null : isoTime(Math.min(...expiries)),
  })
}

type Verdict =
  | { valid: true; chain: string[]; root: string; subject: string | null; expires: string | null }
  | { valid: false; code: CapabilityCode; reason: string }

function verdict(output: Verdict): number {
  process.stdout.write(`${JSON.stringify(output)}\n`)
  return output.valid ? 0 : 1
}
