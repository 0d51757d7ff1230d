// `noodlenet audit verify FILE`: checks a peer's hash-chained audit log and prints one JSON line saying whether
// it holds, or the first line where it breaks.

import { verifyAuditFile } from '../audit-file.js'
import { parseCommandArgs, UsageError } from '../cli-args.js'

export const AUDIT_HELP = `Usage: noodlenet audit verify FILE

Checks an audit log written by a peer: one JSON record per line, each carrying its own
sha256 and the sha256 of the line before it, so a changed, removed, inserted or
reordered line breaks the chain. Prints one line on stdout:
  {"valid":true,"records":N}                 the chain holds over all N records
  {"valid":false,"line":N,"reason":"..."}    N is the first line where it breaks
Lines cut from the end of a log leave a shorter valid chain; compare the record count
(or the last line's hash) with one kept elsewhere, see docs/SECURITY.md.

Options:
  -h, --help   show this help

Exit codes: 0 valid, 1 invalid, 2 usage or a file that cannot be read.`

export async function auditCommand(argv: string[]): Promise<number> {
  const [subcommand, ...rest] = argv
  if (subcommand === '--help' || subcommand === '-h' || subcommand === 'help') {
    process.stdout.write(`${AUDIT_HELP}\n`)
    return 0
  }
  if (subcommand === undefined)
    throw new UsageError('missing subcommand: try `noodlenet audit verify FILE`. Run `noodlenet audit --help` for the usage.')
  if (subcommand !== 'verify') throw new UsageError(`unknown subcommand "${subcommand}". Run \`noodlenet audit --help\` for the usage.`)
  const { values, positionals } = parseCommandArgs(rest, {}, 'audit verify', 1)
  if (values.help === true) {
    process.stdout.write(`${AUDIT_HELP}\n`)
    return 0
  }
  const file = positionals[0]
  if (file === undefined) throw new UsageError('missing FILE: the audit log to check. Run `noodlenet audit --help` for the usage.')
  let result: Awaited<ReturnType<typeof verifyAuditFile>>
  try {
    result = await verifyAuditFile(file)
  } catch (err) {
    process.stderr.write(`noodlenet audit verify: cannot read ${file}: ${describeReadError(err)}\n`)
    return 2
  }
  const output = result.ok ? { valid: true, records: result.count } : { valid: false, line: result.line, reason: result.reason }
  process.stdout.write(`${JSON.stringify(output)}\n`)
  return result.ok ? 0 : 1
}

function describeReadError(err: unknown): string {
  switch ((err as NodeJS.ErrnoException)?.code) {
    case 'ENOENT':
      return 'no such file. Check the path (a peer writes its audit log where its config says).'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied. The log is readable only by the user the peer runs as (mode 0600).'
    case 'EISDIR':
      return 'it is a directory. Name the log file itself.'
    default:
      return (err as Error)?.message ?? String(err)
  }
}
