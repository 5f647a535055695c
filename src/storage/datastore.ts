import { lstatSync, mkdirSync, readdirSync } from 'node:fs'
import type { Stats } from 'node:fs'
import { join } from 'node:path'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import type { Datastore } from 'interface-datastore'
import { DataDirLockedError, DataDirPermissionError, StorageError } from './errors.ts'

/** Group and other permission bits: any of them on the data directory or a file in it is refused. */
const OPEN_TO_OTHERS = 0o077
/** The data directory's mode; its files get 0600 from the umask below. */
export const DATA_DIR_MODE = 0o700

/** Windows has no POSIX modes (Node reports 0666/0777 whatever the ACL says): not a target, not checked. */
const POSIX = process.platform !== 'win32'

const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`

/**
 * Refuses a data directory that other local users can read, write or enter, or that holds such a
 * file: they could copy the encrypted keys and try passphrases offline at their leisure. Checked
 * before anything is opened or created; a directory that does not exist yet passes (it is made 0700).
 */
export function assertPrivateDataDir (path: string): void {
  if (!POSIX) return
  let dir: Stats
  try {
    dir = lstatSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new StorageError(`cannot check the data directory ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path })
  }
  if (!dir.isDirectory()) return
  const open: Array<{ path: string, mode: number }> = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      const s = lstatSync(p)
      // the admin socket is bound 0600 by its server and replaced at each start; links are not followed
      if (!s.isFile() && !s.isDirectory()) continue
      if ((s.mode & OPEN_TO_OTHERS) !== 0) open.push({ path: p, mode: s.mode })
      if (s.isDirectory()) walk(p)
    }
  }
  walk(path)
  const first = open[0]
  if (first !== undefined) {
    const more = open.length > 1 ? ` and ${open.length - 1} more` : ''
    const fix = `chmod -R go= ${path}`
    throw new DataDirPermissionError(`the data directory ${path} holds files other users can read or write (${first.path} is ${octal(first.mode)}${more}): run ${fix}`, { path: first.path, mode: octal(first.mode), fix })
  }
  if ((dir.mode & OPEN_TO_OTHERS) !== 0) {
    const fix = `chmod 700 ${path}`
    throw new DataDirPermissionError(`the data directory ${path} is open to other users (mode ${octal(dir.mode)}): run ${fix}`, { path, mode: octal(dir.mode), fix })
  }
}

/**
 * LevelDB creates its files (tables at every compaction, logs at every rotation) with the process
 * umask, from its own threads, for as long as the database is open; so the umask is 077 for exactly
 * that long, counted over the persistent datastores this process holds open.
 */
let privateHolders = 0
let savedUmask = 0
function holdPrivateUmask (): void {
  if (!POSIX) return
  if (privateHolders++ === 0) savedUmask = process.umask(OPEN_TO_OTHERS)
}
function releasePrivateUmask (): void {
  if (!POSIX) return
  if (--privateHolders === 0) process.umask(savedUmask)
}

/** LevelDB whose close gives back the restrictive umask it was opened under. */
class PrivateLevelDatastore extends LevelDatastore {
  private released = false

  override async close (): Promise<void> {
    try {
      await super.close()
    } finally {
      if (!this.released) {
        this.released = true
        releasePrivateUmask()
      }
    }
  }
}

/**
 * The node's one datastore: LevelDB on disk for a real node (DHT records, own records, caches,
 * allocations, ledger, encrypted keys all under distinct prefixes), or memory for tests and
 * simulations. On disk the directory is 0700 and every file in it 0600; an existing directory open
 * to others is refused (DataDirPermissionError) before anything is touched.
 */
export async function openDatastore (path: string | undefined): Promise<Datastore & { close?: () => Promise<void> }> {
  if (path === undefined) return new MemoryDatastore()
  assertPrivateDataDir(path)
  holdPrivateUmask()
  let store: PrivateLevelDatastore
  try {
    mkdirSync(path, { recursive: true, mode: DATA_DIR_MODE })
    store = new PrivateLevelDatastore(path)
  } catch (err) {
    releasePrivateUmask()
    throw new StorageError(`cannot create the data directory ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path })
  }
  try {
    // the level instance itself (with LevelDatastore's own defaults), not LevelDatastore.open, which
    // keeps only the message and so loses the cause that tells a held lock from a damaged directory
    await store.db.open({ createIfMissing: true, compression: false })
  } catch (err) {
    releasePrivateUmask()
    const cause = (err as { cause?: { code?: string } }).cause
    // LevelDB allows one process per directory: the usual holder is the node itself, running
    if (cause?.code === 'LEVEL_LOCKED') throw new DataDirLockedError(`the data directory ${path} is in use by another process (a running node)`, { path })
    throw new StorageError(`cannot open the data directory ${path}: not a citycode data directory, or unreadable (${(err as Error).message})`, { path })
  }
  return store
}

export async function closeDatastore (store: Datastore): Promise<void> {
  const closable = store as Datastore & { close?: () => Promise<void> }
  if (typeof closable.close === 'function') await closable.close()
}
