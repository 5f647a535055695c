import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** What a data directory was before this process touched it; only a fresh one may be undone. */
export interface DataDirBefore {
  path: string
  existed: boolean
  empty: boolean
}

export function dataDirBefore (path: string): DataDirBefore {
  const existed = existsSync(path)
  return { path, existed, empty: !existed || (statSync(path).isDirectory() && readdirSync(path).length === 0) }
}

/**
 * A start that failed (a port in use, a bad address) must not leave a new identity and authority
 * key behind: the next start would then come up as a node nobody approved, under another peer id
 * than the one printed. Only what this process made is removed: a directory it created, or the
 * contents of one the operator made empty beforehand (kept, with its mode). Never an existing node's.
 */
export function discardIfFresh (before: DataDirBefore): void {
  if (!before.empty || !existsSync(before.path)) return
  if (!before.existed) {
    rmSync(before.path, { recursive: true, force: true })
    return
  }
  for (const name of readdirSync(before.path)) rmSync(join(before.path, name), { recursive: true, force: true })
}
