// Revocations persisted on disk: one JSON line per revocation, appended, mode 0600. Read back at start-up so a
// restarted peer keeps refusing what was revoked.

import { appendFile, readFile } from 'node:fs/promises'
import { NoodleError, type Revocation, RevocationSchema, type RevocationStore } from '@noodlenet/shared'
import * as v from 'valibot'

export class FileRevocationStore implements RevocationStore {
  constructor(private readonly path: string) {}

  async load(): Promise<Revocation[]> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw new NoodleError(
        'CONFIG_INVALID',
        `cannot read revocations file ${this.path}: ${(err as Error).message}`,
        'Check security.revocationsFile.',
      )
    }
    const records: Revocation[] = []
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue
      try {
        const raw = JSON.parse(line) as Record<string, unknown>
        records.push(v.parse(RevocationSchema, { ...raw, sig: Uint8Array.from(Buffer.from(String(raw.sig), 'base64')) }))
      } catch {
        // A torn last line from a crash: the revocation will arrive again by gossip or be re-sent.
      }
    }
    return records
  }

  async save(record: Revocation): Promise<void> {
    const line = JSON.stringify({ ...record, sig: Buffer.from(record.sig).toString('base64') })
    await appendFile(this.path, `${line}\n`, { mode: 0o600 })
  }
}
