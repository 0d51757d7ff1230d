// `noodlenet token revoke TOKEN --key FILE --api URL`: signs a revocation of the token with the key (its issuer's,
// or the issuer's of a token above it in the chain) and hands it to a running peer's admin API, which keeps it and
// gossips it to the mesh.

import { signRevocation } from '@noodlenet/shared'
import { parseCommandArgs, UsageError } from '../cli-args.js'
import { decodeArgument, loadKey, readTokenText, required } from './token-input.js'

export const TOKEN_REVOKE_HELP = `Usage: noodlenet token revoke TOKEN|@FILE --key FILE --api URL

Revokes a capability token: signs a revocation of its id with --key and sends it to the
running peer at --api (its admin API, e.g. http://127.0.0.1:7420), which keeps it and
gossips it to the mesh. It takes effect where the key issued the token or a token above
it in its chain (or is a trusted root). Prints {"revoked":ID,"by":PEERID}.

Options:
  --key FILE   the revoking key (Ed25519, as written by noodlenet keygen)
  --api URL    admin API of a running peer
  -h, --help   show this help`

const OPTIONS = { key: { type: 'string' }, api: { type: 'string' } } as const

export async function tokenRevokeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS, 'token revoke', 1)
  if (values.help === true) {
    process.stdout.write(`${TOKEN_REVOKE_HELP}\n`)
    return 0
  }
  const tokenArgument = positionals[0]
  if (tokenArgument === undefined) throw new UsageError('missing TOKEN. Run `noodlenet token revoke --help` for the usage.')
  const token = decodeArgument(await readTokenText(tokenArgument, 'TOKEN'), 'TOKEN')
  const key = await loadKey(required(values.key, '--key', 'token revoke'))
  const api = required(values.api, '--api', 'token revoke')
  let url: URL
  try {
    url = new URL('/api/revocations', api)
  } catch {
    throw new UsageError(`--api ${JSON.stringify(api)} is not a URL such as http://127.0.0.1:7420`)
  }
  const revocation = await signRevocation(token.id, key)
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: revocation.id,
        by: revocation.by,
        at: revocation.at,
        sig: Buffer.from(revocation.sig).toString('base64'),
      }),
      signal: AbortSignal.timeout(10_000),
    })
  } catch (err) {
    process.stderr.write(`noodlenet token revoke: cannot reach ${url.origin}: ${(err as Error).message}. Is the peer running?\n`)
    return 1
  }
  const body = await res.text()
  if (!res.ok) {
    process.stderr.write(`noodlenet token revoke: the peer refused the revocation: ${body}\n`)
    return 1
  }
  process.stdout.write(`${body}\n`)
  return 0
}
