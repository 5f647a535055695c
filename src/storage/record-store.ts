import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { encodeCbor, decodeCanonical, FieldReader } from '../core/codec/cbor.ts'

/**
 * Records this node keeps, by role:
 * - `own`: records this node signs as holder (the source of truth for republishing);
 * - `held`: verified records of others this node serves (its children's, gossip-learned);
 * Entries are written only after verification by the caller; a write is one datastore put, so a
 * crash leaves either the old or the new entry, never half of one.
 */
export type RecordRole = 'own' | 'held'

export interface StoredRecord {
  readonly bytes: Uint8Array
  /** When this node stored it (ms). */
  readonly storedAt: number
}

const ENTRY_MAX_BYTES = 16 * 1024

export class RecordStore {
  private readonly datastore: Datastore

  constructor (datastore: Datastore) {
    this.datastore = datastore
  }

  private key (role: RecordRole, code: string): Key {
    return new Key(`/citycode/records/${role}/${code}`)
  }

  async put (role: RecordRole, code: string, bytes: Uint8Array, storedAt: number): Promise<void> {
    await this.datastore.put(this.key(role, code), encodeCbor({ bytes, storedAt }))
  }

  /** Many records in one datastore batch (bulk registration): all written or none. */
  async putMany (role: RecordRole, items: ReadonlyArray<{ code: string, bytes: Uint8Array }>, storedAt: number): Promise<void> {
    const batch = this.datastore.batch()
    for (const item of items) batch.put(this.key(role, item.code), encodeCbor({ bytes: item.bytes, storedAt }))
    await batch.commit()
  }

  async get (role: RecordRole, code: string): Promise<StoredRecord | undefined> {
    const k = this.key(role, code)
    if (!(await this.datastore.has(k))) return undefined
    return decodeEntry(await this.datastore.get(k))
  }

  async delete (role: RecordRole, code: string): Promise<void> {
    await this.datastore.delete(this.key(role, code))
  }

  async * list (role: RecordRole): AsyncGenerator<{ code: string } & StoredRecord> {
    const prefix = `/citycode/records/${role}/`
    for await (const { key, value } of this.datastore.query({ prefix })) {
      yield { code: key.toString().slice(prefix.length), ...decodeEntry(value) }
    }
  }
}

function decodeEntry (value: Uint8Array): StoredRecord {
  const r = new FieldReader(decodeCanonical(value, ENTRY_MAX_BYTES, 'stored record'), 'stored record', ['bytes', 'storedAt'])
  return { bytes: r.bytes('bytes'), storedAt: r.uint('storedAt') }
}
