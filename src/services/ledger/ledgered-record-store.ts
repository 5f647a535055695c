import type { Datastore } from 'interface-datastore'
import { RecordStore } from '../../storage/record-store.ts'
import type { RecordRole } from '../../storage/record-store.ts'

/**
 * The publisher's record store with the ledger in front: every own record version is logged before
 * it is stored (a version logged but never stored was still signed; one stored but never logged
 * would be a hole in the history). Versions missed by a crash in between are appended when the
 * ledger starts (reconcile).
 */
export class LedgeredRecordStore extends RecordStore {
  private readonly onOwn: (bytes: Uint8Array) => Promise<unknown>

  constructor (datastore: Datastore, onOwn: (bytes: Uint8Array) => Promise<unknown>) {
    super(datastore)
    this.onOwn = onOwn
  }

  override async put (role: RecordRole, code: string, bytes: Uint8Array, storedAt: number): Promise<void> {
    if (role === 'own') await this.onOwn(bytes)
    await super.put(role, code, bytes, storedAt)
  }
}
