// `noodlenet keygen --out FILE`: writes a new Ed25519 identity key (mode 0600) and prints its peer id. It never
// overwrites a file: a key that is lost or replaced takes its peer id, and every token granted to it, with it.

import { lstat } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { parseCommandArgs, UsageError } from '../cli-args.js'
import { writeNewKeyFile } from '../keyfile.js'

export const KEYGEN_HELP = `Usage: noodlenet keygen --out FILE

Writes a new Ed25519 key to FILE (libp2p protobuf encoding, mode 0600) and prints
its peer id on stdout:
  {"peerId":"12D3KooW..."}
The key serves as a peer identity (noodlenet start --key FILE) and to sign
capability tokens (noodlenet token issue --key FILE). An existing FILE is never
overwritten.

Options:
  --out FILE   where to write the key (must not exist yet)
  -h, --help   show this help

Exit codes: 0 written, 2 for usage or a file that exists or cannot be written.`

export async function keygenCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { out: { type: 'string' } }, 'keygen')
  if (values.help === true) {
    process.stdout.write(`${KEYGEN_HELP}\n`)
    return 0
  }
  const out = values.out
  if (out === undefined || out === '')
    throw new UsageError('missing --out FILE: where to write the key. Run `noodlenet keygen --help` for the usage.')
  // writeNewKeyFile creates with O_EXCL, but hands back an existing key instead of failing; keygen must fail.
  const existing = await lstat(out).catch(() => undefined)
  if (existing !== undefined)
    throw new UsageError(`${JSON.stringify(out)} already exists; keygen never overwrites a key. Choose another --out path.`)
  const key = await writeNewKeyFile(out)
  process.stdout.write(`${JSON.stringify({ peerId: peerIdFromPrivateKey(key).toString() })}\n`)
  return 0
}
