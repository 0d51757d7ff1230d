// Argument parsing shared by the commands: node:util's parseArgs, with usage errors turned into one line and
// exit code 2 (the same contract as config errors).

import { type ParseArgsConfig, parseArgs } from 'node:util'

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export type Options = NonNullable<ParseArgsConfig['options']>

export function parseCommandArgs<O extends Options>(argv: string[], options: O, command: string, maxPositionals = 0) {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: O & { help: { type: 'boolean'; short: 'h' } }; allowPositionals: true; strict: true }>
  >
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  } catch (err) {
    // node's messages run on with advice about positionals; the first sentence is the useful part.
    throw new UsageError(`${(err as Error).message.split(/\.\s/)[0]}. Run \`noodlenet ${command} --help\` for the options.`)
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument "${parsed.positionals[maxPositionals]}". Run \`noodlenet ${command} --help\` for the usage.`)
  }
  return parsed
}
