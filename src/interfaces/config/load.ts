import { readFileSync } from 'node:fs'
import { parseWithSchema } from './parse-with-schema.ts'
import { resolveConfigPaths, resolveFromCwd } from './paths.ts'
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

/**
 * Reads a config file; flags (already parsed) and environment override its fields. Every command
 * that takes `-c` comes through here, so all of them agree on where the data directory is: a
 * relative path in the file is relative to the file, one from a flag or the environment to the
 * current directory (paths.ts).
 */
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
  if (env.CITYCODE_DATA_DIR !== undefined) fromEnv.dataDir = resolveFromCwd(env.CITYCODE_DATA_DIR)
  if (env.CITYCODE_HTTP !== undefined) fromEnv.http = env.CITYCODE_HTTP
  const defined: Record<string, unknown> = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined))
  if (typeof defined.dataDir === 'string') defined.dataDir = resolveFromCwd(defined.dataDir)
  // a file that is not one JSON object is refused as it is, by the schema, naming "(root)"
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return parseConfig(raw, path)
  return parseConfig({ ...resolveConfigPaths(raw as Record<string, unknown>, path), ...fromEnv, ...defined }, path)
}
