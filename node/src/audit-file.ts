// The audit log on disk: one JSON line per record, appended to a file only its owner can read (mode 0600). A
// restarted node continues the chain from the file's last line; a last line cut off by a crash is an error to
// look at, never something to chain over. One writer per file: two processes appending would fork the chain.

import { type FileHandle, open } from 'node:fs/promises'
import {
  AuditChainVerifier,
  type AuditHead,
  type AuditStore,
  type AuditVerifyResult,
  auditHeadOf,
  LIMITS,
  NoodleError,
} from '@noodlenet/shared'

const NEWLINE = 0x0a

export interface FileAuditStoreOptions {
  /** fdatasync after every line, so a record survives a power loss, not only a crash of this process. Costs a
   *  disk flush per record. */
  sync?: boolean
}

export class FileAuditStore implements AuditStore {
  private handle: FileHandle | undefined

  constructor(
    readonly path: string,
    private readonly options: FileAuditStoreOptions = {},
  ) {}

  async open(): Promise<AuditHead | undefined> {
    await this.close()
    // 'a+': every write goes to the end (O_APPEND), whatever else has the file open; reads are positioned.
    this.handle = await open(this.path, 'a+', 0o600)
    const { size } = await this.handle.stat()
    if (size === 0) return undefined
    const length = Math.min(size, LIMITS.auditLineMaxBytes + 1)
    const tail = new Uint8Array(length)
    await this.handle.read(tail, 0, length, size - length)
    if (tail[length - 1] !== NEWLINE) {
      throw new NoodleError(
        'AUDIT_CORRUPT',
        `the last line of the audit log ${this.path} is incomplete (no line end): a write was cut off, e.g. by a crash`,
        'Keep the file as evidence and point the node at a new audit log, or remove the partial last line after checking the rest with `noodlenet audit verify`.',
      )
    }
    const start = tail.lastIndexOf(NEWLINE, length - 2) + 1
    if (start === 0 && length < size) {
      throw new NoodleError(
        'AUDIT_CORRUPT',
        `the last line of the audit log ${this.path} is longer than ${LIMITS.auditLineMaxBytes} bytes`,
        'Check the file with `noodlenet audit verify`.',
      )
    }
    return auditHeadOf(new TextDecoder().decode(tail.subarray(start, length - 1)), `the audit log ${this.path}`)
  }

  async append(line: string): Promise<void> {
    if (this.handle === undefined) throw new NoodleError('NOT_STARTED', `the audit log ${this.path} is not open`, 'Call open() first.')
    await this.handle.appendFile(`${line}\n`, 'utf8')
    if (this.options.sync === true) await this.handle.datasync()
  }

  async close(): Promise<void> {
    const handle = this.handle
    this.handle = undefined
    await handle?.close()
  }
}

/** Verifies an audit log file as it streams past, so its size does not matter. Errors reading it (a missing
 *  file) are thrown; a broken chain is the result. */
export async function verifyAuditFile(path: string): Promise<AuditVerifyResult> {
  const handle = await open(path, 'r')
  const verifier = new AuditChainVerifier()
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  let line = 0
  const take = (bytes: Uint8Array): AuditVerifyResult | undefined => {
    line++
    let text: string
    try {
      text = decoder.decode(bytes)
    } catch {
      return { ok: false, line, reason: 'the line is not valid UTF-8' }
    }
    return verifier.push(text)
  }
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false })) {
      const bytes = chunk as Uint8Array
      let from = 0
      for (let end = bytes.indexOf(NEWLINE); end !== -1; end = bytes.indexOf(NEWLINE, from)) {
        const piece = bytes.subarray(from, end)
        const whole = pending.length === 0 ? piece : Buffer.concat([...pending, piece])
        pending = []
        pendingBytes = 0
        from = end + 1
        const failure = take(whole)
        if (failure !== undefined) return failure
      }
      if (from < bytes.length) {
        pending.push(bytes.subarray(from))
        pendingBytes += bytes.length - from
        if (pendingBytes > LIMITS.auditLineMaxBytes)
          return { ok: false, line: line + 1, reason: `the line is longer than ${LIMITS.auditLineMaxBytes} bytes` }
      }
    }
  } finally {
    await handle.close()
  }
  if (pendingBytes > 0)
    return { ok: false, line: line + 1, reason: 'the last line is incomplete (no line end): a write was cut off, e.g. by a crash' }
  return verifier.finish()
}
