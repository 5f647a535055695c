import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import type { Datastore } from 'interface-datastore'

/**
 * The node's one datastore: LevelDB on disk for a real node (DHT records, own records, caches,
 * allocations, ledger, encrypted keys all under distinct prefixes), or memory for tests and
 * simulations.
 */
export async function openDatastore (path: string | undefined): Promise<Datastore & { close?: () => Promise<void> }> {
  if (path === undefined) return new MemoryDatastore()
  const store = new LevelDatastore(path)
  await store.open()
  return store
}

export async function closeDatastore (store: Datastore): Promise<void> {
  const closable = store as Datastore & { close?: () => Promise<void> }
  if (typeof closable.close === 'function') await closable.close()
}
