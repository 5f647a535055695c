import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import type { Datastore } from 'interface-datastore'
import { StorageError } from './errors.ts'

/**
 * The node's one datastore: LevelDB on disk for a real node (DHT records, own records, caches,
 * allocations, ledger, encrypted keys all under distinct prefixes), or memory for tests and
 * simulations.
 */
export async function openDatastore (path: string | undefined): Promise<Datastore & { close?: () => Promise<void> }> {
  if (path === undefined) return new MemoryDatastore()
  const store = new LevelDatastore(path)
  try {
    await store.open()
  } catch (err) {
    // LevelDB allows one process per directory: the usual cause is a node still running on it
    throw new StorageError(`cannot open the data directory ${path}: it is in use by a running node, or not a citycode data directory (${(err as Error).message})`, { path })
  }
  return store
}

export async function closeDatastore (store: Datastore): Promise<void> {
  const closable = store as Datastore & { close?: () => Promise<void> }
  if (typeof closable.close === 'function') await closable.close()
}
