import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import type { Datastore } from 'interface-datastore'
import { DataDirLockedError, StorageError } from './errors.ts'

/**
 * The node's one datastore: LevelDB on disk for a real node (DHT records, own records, caches,
 * allocations, ledger, encrypted keys all under distinct prefixes), or memory for tests and
 * simulations.
 */
export async function openDatastore (path: string | undefined): Promise<Datastore & { close?: () => Promise<void> }> {
  if (path === undefined) return new MemoryDatastore()
  const store = new LevelDatastore(path)
  try {
    // the level instance itself (with LevelDatastore's own defaults), not LevelDatastore.open, which
    // keeps only the message and so loses the cause that tells a held lock from a damaged directory
    await store.db.open({ createIfMissing: true, compression: false })
  } catch (err) {
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
