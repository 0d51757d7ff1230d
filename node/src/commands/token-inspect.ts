// `noodlenet token inspect TOKEN|@FILE`: a token's delegation chain as JSON, leaf first. Decodes only; checks no
// signature, so that a token can be read (and a refusal understood) without the keys it names.

import { chainOf } from '@noodlenet/shared'
import { parseCommandArgs } from '../cli-args.js'
import { decodeArgument, isoTime, readTokenText, required } from './token-input.js'

export const TOKEN_INSPECT_HELP = `Usage: noodlenet token inspect TOKEN|@FILE

Prints a capability token's delegation chain as JSON, leaf first, one object per link:
  id    sha256 of the link's payload and signature (what revocations name)
  iss   issuer peer id      aud   audience peer id      sub   subject peer id or null (any node)
  cmd   the command granted  pol   the policy (level, kernels, maxCost, resources)
  nbf   valid from (ISO time, or null)                 exp   expiry (ISO time, or null: never)
Inspect decodes only; it checks no signature. Use \`noodlenet token verify\` for that.

Arguments:
  TOKEN    the token (nnt1.…), or @FILE to read it from FILE

Options:
  -h, --help   show this help

Exit codes: 0 printed, 2 for usage or a token that cannot be decoded.`

export async function tokenInspectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {}, 'token inspect', 1)
  if (values.help === true) {
    process.stdout.write(`${TOKEN_INSPECT_HELP}\n`)
    return 0
  }
  const text = await readTokenText(required(positionals[0], 'TOKEN', 'token inspect'), 'token')
  const chain = chainOf(decodeArgument(text, 'TOKEN')).map((link) => ({
    id: link.id,
    iss: link.payload.iss,
    aud: link.payload.aud,
    sub: link.payload.sub,
    cmd: link.payload.cmd,
    pol: link.payload.pol,
    nbf: isoTime(link.payload.nbf),
    exp: isoTime(link.payload.exp),
  }))
  process.stdout.write(`${JSON.stringify(chain, null, 2)}\n`)
  return 0
}
