// `noodlenet token issue|inspect|verify|revoke`: capability tokens from the command line. A root key issues a token to a
// peer, that peer may delegate a narrower one under it (--proof), and any node checks one as it would a request.

import { isNoodleError } from '@noodlenet/shared'
import { UsageError } from '../cli-args.js'
import { tokenInspectCommand } from './token-inspect.js'
import { tokenIssueCommand } from './token-issue.js'
import { tokenRevokeCommand } from './token-revoke.js'
import { tokenVerifyCommand } from './token-verify.js'

export const TOKEN_HELP = `Usage: noodlenet token <command> [options]

Capability tokens: signed grants of a command (and kernels, a security level, a cost)
from one peer to another, delegated in chains that only ever narrow. Format and
rules: docs/SECURITY.md#capability-tokens.

Commands:
  issue     sign a token with a key, or delegate one under a proof (see: noodlenet token issue --help)
  inspect   print a token's delegation chain as JSON, without checking it
  verify    check a token against a request and trusted roots; exit 0 valid, 1 refused
  revoke    sign a revocation of a token and gossip it through a running peer's API

Options:
  -h, --help   show this help (also after a command)

Example:
  noodlenet keygen --out root.key                       # prints {"peerId":"12D3KooW...root"}
  noodlenet token issue --key root.key --to 12D3KooW...bob --can /task/run --level INTERNAL --expires 2h
  noodlenet token verify nnt1.... --audience 12D3KooW...bob --can /task/run --root 12D3KooW...root`

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  issue: tokenIssueCommand,
  inspect: tokenInspectCommand,
  verify: tokenVerifyCommand,
  revoke: tokenRevokeCommand,
}

export async function tokenCommand(argv: string[]): Promise<number> {
  const [subcommand, ...rest] = argv
  if (subcommand === '--help' || subcommand === '-h' || subcommand === 'help') {
    process.stdout.write(`${TOKEN_HELP}\n`)
    return 0
  }
  if (subcommand === undefined)
    throw new UsageError('missing command: issue, inspect, verify or revoke. Run `noodlenet token --help` for the usage.')
  const run = SUBCOMMANDS[subcommand]
  if (run === undefined) throw new UsageError(`unknown command "token ${subcommand}". Run \`noodlenet token --help\` for the commands.`)
  try {
    return await run(rest)
  } catch (err) {
    // Name the subcommand in the one line (main would say only "noodlenet token:").
    if (!(err instanceof UsageError) && !isNoodleError(err, 'KEY_INVALID')) throw err
    process.stderr.write(`noodlenet token ${subcommand}: ${err instanceof UsageError ? err.message : err.sentence}\n`)
    return 2
  }
}
