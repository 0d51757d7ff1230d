// Identities and task tokens for apps that embed a node: a peer only runs another peer's tasks when it presents a
// capability token from a root the executing peer trusts (security.trustedRoots; docs/SECURITY.md). These two
// helpers cover the common case; `issueToken` (also exported) takes every field of a token.

import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { encodeToken, issueToken, type SecurityLevel } from '@noodlenet/shared'

/** A new Ed25519 identity: the key (a node's `privateKey`, or a root that signs tokens) and its peer id. */
export async function generateIdentity(): Promise<{ privateKey: PrivateKey; peerId: string }> {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() }
}

export interface TaskTokenOptions {
  /** Kernels the holder may run; any when absent. */
  kernels?: string[]
  /** The highest security level granted (default PUBLIC). */
  level?: SecurityLevel
  /** How long the token is good for (default one hour). */
  ttlSeconds?: number
}

/** A token (`nnt1.…`) signed by `issuer` that lets the peer `holder` run tasks (`/task/run`) on peers that trust
 *  `issuer` as a root. The holder presents it with `node.addCapability(token)` or `run(…, { token })`. */
export async function issueTaskToken(issuer: PrivateKey, holder: string, options: TaskTokenOptions = {}): Promise<string> {
  const token = await issueToken({
    key: issuer,
    audience: holder,
    command: '/task/run',
    policy: { level: options.level ?? 'PUBLIC', kernels: options.kernels },
    expires: Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 3600),
  })
  return encodeToken(token)
}
