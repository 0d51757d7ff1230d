// A capability token for `/task/run` (PUBLIC level, the kernels named), issued by a test's root key to the peer that
// submits: what the multi-process tests hand to `noodlenet run --token` or POST /api/tasks.

import type { PrivateKey } from '@libp2p/interface'
import { encodeToken, issueToken } from '@noodlenet/shared'

export async function taskToken(root: PrivateKey, audience: string, kernels: string[], validSeconds = 3600): Promise<string> {
  const token = await issueToken({
    key: root,
    audience,
    command: '/task/run',
    policy: { level: 'PUBLIC', kernels },
    expires: Math.floor(Date.now() / 1000) + validSeconds,
  })
  return encodeToken(token)
}
