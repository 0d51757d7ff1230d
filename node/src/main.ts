// The noodlenet CLI entry. Installs the Node 20 shims first, then dispatches to a command. Every error a user can
// cause becomes one line on stderr and an exit code: 2 for usage and configuration, 1 for everything else.

import './shims.js'
import { isNoodleError, NOODLENET_VERSION } from '@noodlenet/shared'
import { UsageError } from './cli-args.js'
import { auditCommand } from './commands/audit.js'
import { keygenCommand } from './commands/keygen.js'
import { probeCommand } from './commands/probe.js'
import { runCommand } from './commands/run.js'
import { startCommand } from './commands/start.js'
import { tokenCommand } from './commands/token.js'

const HELP = `Usage: noodlenet <command> [options]

NoodleNet: pool compute across browsers and servers in one libp2p mesh.

Commands:
  start    run a headless peer (see: noodlenet start --help)
  run      run a task (or a map of tasks) through a peer (see: noodlenet run --help)
  probe    print this machine's hardware as JSON
  audit    check an audit log's hash chain (noodlenet audit verify FILE)
  keygen   write a new identity key and print its peer id (noodlenet keygen --out FILE)
  token    issue, inspect and verify capability tokens (see: noodlenet token --help)
  help     show this help

Options:
  -h, --help      show help (also after a command)
  -v, --version   print the version`

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  start: startCommand,
  run: runCommand,
  probe: probeCommand,
  audit: auditCommand,
  keygen: keygenCommand,
  token: tokenCommand,
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${HELP}\n`)
    return command === undefined ? 2 : 0
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${NOODLENET_VERSION}\n`)
    return 0
  }
  const run = COMMANDS[command]
  if (run === undefined) {
    process.stderr.write(`noodlenet: unknown command "${command}". Run \`noodlenet --help\` for the commands.\n`)
    return 2
  }
  try {
    return await run(rest)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`noodlenet ${command}: ${err.message}\n`)
      return 2
    }
    if (isNoodleError(err)) {
      process.stderr.write(`noodlenet ${command}: ${err.sentence}\n`)
      return err.code === 'CONFIG_INVALID' || err.code === 'KEY_INVALID' ? 2 : 1
    }
    process.stderr.write(`noodlenet ${command}: ${(err as Error)?.stack ?? String(err)}\n`)
    return 1
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
    // Commands that return have released what they hold; a lingering handle must not keep the process alive.
    setTimeout(() => process.exit(code), 2_000).unref()
  },
  (err) => {
    process.stderr.write(`noodlenet: ${(err as Error)?.stack ?? String(err)}\n`)
    process.exit(1)
  },
)
