// Resolving the configuration from its sources, later wins: defaults, a JSON file, the environment, CLI flags.
// Reading files and process.env is the caller's job (the Node entry); this module only merges, validates and
// explains. An invalid value becomes one CONFIG_INVALID error naming the field, the value, where it came from and
// what is allowed.

import * as v from 'valibot'
import { NoodleError } from '../errors.js'
import { ConfigSchema, type NoodleConfig } from './schema.js'

/** One source of settings: a partial config object and a name for messages ("file ./a.json", "--api-port"). */
export interface ConfigLayer {
  source: string
  values: Record<string, unknown>
  /** Per-field source names, when one layer gathers fields from several places (env variables, flags). */
  fieldSources?: Record<string, string>
}

/** The environment variables the seed names, mapped onto config fields. */
export const CONFIG_ENV = {
  NOODLE_NET_LOG_LEVEL: 'monitoring.logLevel',
  NOODLE_NET_SECURITY_LEVEL: 'security.level',
  NOODLE_NET_MONITORING_INTERVAL: 'monitoring.intervalSeconds',
} as const

const NUMERIC_ENV = new Set<string>(['NOODLE_NET_MONITORING_INTERVAL'])

/** The environment as a layer. Values that should be numbers and look like numbers become numbers; anything
 *  else is kept as given, so validation can name the bad value. */
export function envLayer(env: Record<string, string | undefined>): ConfigLayer {
  const values: Record<string, unknown> = {}
  const fieldSources: Record<string, string> = {}
  for (const [name, path] of Object.entries(CONFIG_ENV)) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    const numeric = NUMERIC_ENV.has(name) && raw.trim() !== '' && Number.isFinite(Number(raw))
    setPath(values, path, numeric ? Number(raw) : raw)
    fieldSources[path] = `environment variable ${name}`
  }
  return { source: 'the environment', values, fieldSources }
}

/** Parses the text of a config file; a syntax error or a non-object is CONFIG_INVALID naming the file. */
export function parseConfigJson(text: string, source: string): ConfigLayer {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new NoodleError(
      'CONFIG_INVALID',
      `config error: ${source} is not valid JSON (${(err as Error).message})`,
      'Fix the file or point --config / NOODLE_NET_CONFIG_PATH at another one.',
    )
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new NoodleError(
      'CONFIG_INVALID',
      `config error: ${source} holds ${describe(parsed)}, not a JSON object`,
      'A config file is an object with the sections network, security, scheduler, monitoring and health.',
    )
  }
  return { source, values: parsed as Record<string, unknown> }
}

/** Merges the layers (objects merge key by key, anything else is replaced) and validates the result. */
export function resolveConfig(layers: readonly ConfigLayer[]): NoodleConfig {
  const merged: Record<string, unknown> = {}
  for (const layer of layers) mergeInto(merged, layer.values)
  const result = v.safeParse(ConfigSchema, merged, { abortEarly: true })
  if (result.success) return result.output
  const issue = result.issues[0]
  const keys = (issue.path ?? []).map((item) => String(item.key))
  // Keys come from the user's file: quote any that is not a plain name, so a dot in one does not pass for a path
  // and a line break cannot split the message.
  const path = keys.map((key) => (/^[\w-]+$/.test(key) ? key : JSON.stringify(key))).join('.')
  const value = issue.path?.at(-1)?.value ?? issue.input
  const source = sourceOf(layers, keys)
  const allowed = issue.message.startsWith('nothing:') ? issue.message : `must be ${issue.message}`
  throw new NoodleError(
    'CONFIG_INVALID',
    `config error: ${path === '' ? '(root)' : path} = ${describe(value)} (from ${source}): ${allowed}`,
  )
}

/** Which layer last set `path` (or one of its parents): that is where the bad value came from. */
function sourceOf(layers: readonly ConfigLayer[], parts: readonly string[]): string {
  // The most specific match wins: a layer that set `network.x` outranks one that only set `network.y`.
  for (let n = parts.length; n > 0; n--) {
    const prefix = parts.slice(0, n)
    for (let i = layers.length - 1; i >= 0; i--) {
      if (hasPath(layers[i].values, prefix)) return layers[i].fieldSources?.[prefix.join('.')] ?? layers[i].source
    }
  }
  return 'defaults'
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  try {
    const text = JSON.stringify(value)
    return text.length > 80 ? `${text.slice(0, 77)}...` : text
  } catch {
    return String(value)
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue
    const existing = target[key]
    if (isPlainObject(value) && isPlainObject(existing)) mergeInto(existing, value)
    else target[key] = isPlainObject(value) ? cloneObject(value) : value
  }
}

function cloneObject(value: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {}
  mergeInto(copy, value)
  return copy
}

function hasPath(values: Record<string, unknown>, parts: readonly string[]): boolean {
  let node: unknown = values
  for (const part of parts) {
    if (!isPlainObject(node) || !Object.hasOwn(node, part)) return false
    node = node[part]
  }
  return true
}

/** Sets a dotted path in a nested object, creating objects on the way. */
export function setPath(values: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.')
  let node = values
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {}
    node = node[part] as Record<string, unknown>
  }
  node[parts[parts.length - 1]] = value
}
