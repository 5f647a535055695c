import { dirname, resolve } from 'node:path'

/**
 * The config fields that name files or directories. A relative path written in a config file means
 * "next to this file": an operator who runs `citycode approve -c /srv/cc/root.json` from another
 * directory must reach the same data directory (and admin socket, and invitation) as the node that
 * `node start` runs, or `approve` finds no applications and `init` makes a second identity.
 * Paths from the command line or the environment stay relative to the current directory, as a
 * shell user expects.
 */
const TOP_LEVEL_PATHS = ['dataDir', 'adminSocket'] as const
const AUTHORITY_PATHS = ['invitation'] as const

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function resolved (value: unknown, base: string): unknown {
  // anything but a non-empty string is left for the schema to refuse with its field name
  return typeof value === 'string' && value.length > 0 ? resolve(base, value) : value
}

/** Returns the parsed JSON of `configFile` with its path fields made absolute against the file's directory. */
export function resolveConfigPaths (raw: Record<string, unknown>, configFile: string): Record<string, unknown> {
  const base = dirname(resolve(configFile))
  const out: Record<string, unknown> = { ...raw }
  for (const field of TOP_LEVEL_PATHS) {
    if (field in out) out[field] = resolved(out[field], base)
  }
  const authority = out.authority
  if (isRecord(authority)) {
    const a: Record<string, unknown> = { ...authority }
    for (const field of AUTHORITY_PATHS) {
      if (field in a) a[field] = resolved(a[field], base)
    }
    out.authority = a
  }
  return out
}

/** A path given on the command line or in the environment: relative to the current directory. */
export function resolveFromCwd (path: string | undefined): string | undefined {
  return path === undefined || path.length === 0 ? path : resolve(path)
}
