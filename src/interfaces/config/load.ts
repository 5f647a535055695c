import { readFileSync } from 'node:fs'
import { parseWithSchema } from './parse-with-schema.ts'
import { CitycodeError } from '../../core/errors.ts'
import { configSchema } from './schema.ts'
import type { NodeConfig } from './schema.ts'

/** A config file that cannot be read or does not match the schema; `details.field` names the field. */
export class ConfigError extends CitycodeError {
  static override readonly code = 'ERR_CONFIG'
}

export function parseConfig (raw: unknown, source: string): NodeConfig {
  return parseWithSchema(configSchema, raw, source, ConfigError)
}

/** Reads a config file; flags (already parsed) and environment override its fields. */
export function loadConfig (path: string, overrides: Partial<NodeConfig> = {}, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { field: '(file)', source: path })
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`${path} is not valid JSON: ${(err as Error).message}`, { field: '(file)', source: path })
  }
  const fromEnv: Record<string, unknown> = {}
  if (env.CITYCODE_DATA_DIR !== undefined) fromEnv.dataDir = env.CITYCODE_DATA_DIR
  if (env.CITYCODE_HTTP !== undefined) fromEnv.http = env.CITYCODE_HTTP
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined))
  return parseConfig({ ...(raw as object), ...fromEnv, ...defined }, path)
}
