// Resolving a Node peer's configuration from its four sources, later wins: defaults, the JSON file named by
// --config or NOODLE_NET_CONFIG_PATH, the environment, and CLI flags. Reading is done here; merging, validation
// and the one-line error live in shared/src/config.

import { readFile } from 'node:fs/promises'
import { type ConfigLayer, envLayer, type NoodleConfig, NoodleError, parseConfigJson, resolveConfig, setPath } from '@noodlenet/shared'

/** A flag that sets a config field: its value (as typed) and the field it sets. */
export interface ConfigFlag {
  flag: string
  path: string
  value: unknown
}

export interface LoadConfigOptions {
  configPath?: string
  env: Record<string, string | undefined>
  flags: ConfigFlag[]
}

export async function loadConfig(options: LoadConfigOptions): Promise<NoodleConfig> {
  const layers: ConfigLayer[] = []
  const path = options.configPath ?? options.env.NOODLE_NET_CONFIG_PATH
  if (path !== undefined && path !== '') {
    const origin = options.configPath !== undefined ? '--config' : 'NOODLE_NET_CONFIG_PATH'
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      throw new NoodleError(
        'CONFIG_INVALID',
        `config error: cannot read config file ${path} (from ${origin}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        'Check the path, or leave it out to run on defaults.',
      )
    }
    layers.push(parseConfigJson(text, `file ${path}`))
  }
  layers.push(envLayer(options.env))
  const values: Record<string, unknown> = {}
  const fieldSources: Record<string, string> = {}
  for (const { flag, path: field, value } of options.flags) {
    setPath(values, field, value)
    fieldSources[field] = flag
  }
  layers.push({ source: 'command-line flags', values, fieldSources })
  return resolveConfig(layers)
}

/** A numeric flag's value: a number when it looks like one, else the text, so validation can name it. */
export function numericFlag(text: string): number | string {
  return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text
}
