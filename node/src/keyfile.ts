// The peer's identity on disk: a libp2p Ed25519 private key in libp2p's protobuf encoding, readable only by its
// owner (mode 0600). `--key FILE` loads it, or creates it when missing, so a restarted peer keeps its peer id.

import { chmod, readFile, writeFile } from 'node:fs/promises'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { NoodleError } from '@noodlenet/shared'

export async function readKeyFile(path: string): Promise<PrivateKey> {
  const bytes = await readFile(path)
  try {
    return privateKeyFromProtobuf(new Uint8Array(bytes))
  } catch (err) {
    throw new NoodleError(
      'KEY_INVALID',
      `key file ${path} does not hold a libp2p private key (${(err as Error).message})`,
      'Point --key at a file written by `noodlenet keygen` or `noodlenet start --key`, or at a path that does not exist yet to create one.',
    )
  }
}

/** Writes a new Ed25519 key to `path` (mode 0600); refuses to overwrite an existing file. */
export async function writeNewKeyFile(path: string): Promise<PrivateKey> {
  const key = await generateKeyPair('Ed25519')
  try {
    await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readKeyFile(path)
    throw new NoodleError(
      'KEY_INVALID',
      `cannot write key file ${path}: ${(err as Error).message}`,
      'Check that the directory exists and is writable.',
    )
  }
  await chmod(path, 0o600)
  return key
}

export async function loadOrCreateKey(path: string): Promise<PrivateKey> {
  try {
    return await readKeyFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return writeNewKeyFile(path)
    if (err instanceof NoodleError) throw err
    throw new NoodleError('KEY_INVALID', `cannot read key file ${path}: ${(err as Error).message}`, 'Check the path and its permissions.')
  }
}
