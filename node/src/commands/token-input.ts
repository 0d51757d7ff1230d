// What the token commands read from their arguments: times and durations, peer ids, levels, commands, key files
// and tokens given inline or as @FILE. Every mistake is a UsageError (one line, exit code 2) that names the flag.

import { readFile } from 'node:fs/promises'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type CapabilityToken, decodeToken, isNoodleError, NoodleError, SECURITY_LEVELS, type SecurityLevel } from '@noodlenet/shared'
import { UsageError } from '../cli-args.js'
import { readKeyFile } from '../keyfile.js'

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }
const DURATION = /^(\d{1,9})([smhd])$/
/** An ISO 8601 date, optionally with a time and offset: what `new Date` parses the same way everywhere. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/
/** The command paths a token can name (the same rule as the token schema). */
const COMMAND_PATH = /^\/([a-z0-9_-]+(\/[a-z0-9_-]+)*)?$/

/** A user's value inside a one-line message: quoted, escaped (no raw newline can split the line) and cut short. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

/** `30m`, `1h`, `2d`, `90s` in seconds; undefined when `text` is not a duration. */
function durationSeconds(text: string): number | undefined {
  const match = DURATION.exec(text)
  return match === null ? undefined : Number(match[1]) * UNIT_SECONDS[match[2]]
}

function isoSeconds(text: string): number | undefined {
  if (!ISO_DATE.test(text)) return undefined
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000)
}

/** `--expires`: a duration from now, an ISO date, or `never` (null). */
export function parseExpiry(text: string, now: number, command: string): number | null {
  if (text === 'never') return null
  const duration = durationSeconds(text)
  const at = duration !== undefined ? now + duration : isoSeconds(text)
  if (at === undefined) {
    throw new UsageError(
      `--expires ${quote(text)} is not a time: use a duration (30m, 1h, 2d), an ISO date or never. Run \`noodlenet ${command} --help\`.`,
    )
  }
  if (at <= now) throw new UsageError(`--expires ${quote(text)} is not in the future: the token would never be valid.`)
  return at
}

/** `--not-before` and `--at`: an ISO date, or `+DURATION` / `-DURATION` from now. */
export function parseTime(text: string, now: number, flag: string, command: string): number {
  const sign = text.startsWith('+') ? 1 : text.startsWith('-') ? -1 : 0
  const duration = sign === 0 ? undefined : durationSeconds(text.slice(1))
  const at = duration !== undefined ? now + sign * duration : isoSeconds(text)
  if (at === undefined || at < 0) {
    throw new UsageError(
      `${flag} ${quote(text)} is not a time: use an ISO date (2026-05-01T12:00:00Z) or +10m, -1h. Run \`noodlenet ${command} --help\`.`,
    )
  }
  return at
}

export function parsePeerId(text: string, flag: string): string {
  try {
    return peerIdFromString(text).toString()
  } catch {
    throw new UsageError(`${flag} ${quote(text)} is not a peer id (they look like 12D3KooW…; \`noodlenet keygen\` prints one).`)
  }
}

export function parseLevel(text: string, flag: string): SecurityLevel {
  const level = text.toUpperCase() as SecurityLevel
  if (!SECURITY_LEVELS.includes(level))
    throw new UsageError(`${flag} ${quote(text)} is not a security level: use one of ${SECURITY_LEVELS.join(', ')}.`)
  return level
}

export function parseCommandPath(text: string, flag: string): string {
  if (!COMMAND_PATH.test(text) || text.length > 256) {
    throw new UsageError(
      `${flag} ${quote(text)} is not a command: use a path of lower-case words such as /task/run (or / for every command).`,
    )
  }
  return text
}

export function parseAmount(text: string, flag: string): number {
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN
  if (!(value <= Number.MAX_SAFE_INTEGER)) throw new UsageError(`${flag} ${quote(text)} is not a non-negative number.`)
  return value
}

export function parseKernel(text: string, flag: string): string {
  if (text === '' || text.length > 128) throw new UsageError(`${flag} ${quote(text)} is not a kernel name (1 to 128 characters).`)
  return text
}

export function required(value: string | undefined, flag: string, command: string): string {
  if (value === undefined) throw new UsageError(`missing ${flag}. Run \`noodlenet ${command} --help\` for the usage.`)
  return value
}

/** A token given inline, or as @FILE holding one. A file that cannot be read is a usage error. */
export async function readTokenText(argument: string, what: string): Promise<string> {
  if (!argument.startsWith('@')) return argument
  const path = argument.slice(1)
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch (err) {
    throw new UsageError(`cannot read ${what} file ${quote(path)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`)
  }
}

/** Decodes a token the user gave; a malformed one is a usage error naming `what`. */
export function decodeArgument(text: string, what: string): CapabilityToken {
  try {
    return decodeToken(text)
  } catch (err) {
    throw new UsageError(`${what}: ${isNoodleError(err) ? err.message : 'not a capability token'}. Tokens look like nnt1.…`)
  }
}

/** Loads a key file; a missing or unreadable one is KEY_INVALID (exit code 2), never a stack trace. */
export async function loadKey(path: string): Promise<PrivateKey> {
  try {
    return await readKeyFile(path)
  } catch (err) {
    if (err instanceof NoodleError) throw err
    throw new NoodleError(
      'KEY_INVALID',
      `cannot read key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      'Check the path, or write a key with `noodlenet keygen --out FILE`.',
    )
  }
}

export function isoTime(seconds: number | null | undefined): string | null {
  return seconds === null || seconds === undefined ? null : new Date(seconds * 1000).toISOString()
}
