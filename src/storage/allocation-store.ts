import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { decodeCanonical, encodeCbor, FieldReader } from '../core/codec/cbor.ts'
import { toHex } from '../core/crypto/hash.ts'

/** One allocated code as the authority keeps it. */
export interface Allocation {
  readonly code: string
  readonly subject: Uint8Array
  readonly name: string
  readonly officialCode: string | null
  readonly certificate: Uint8Array
  readonly allocatedAt: number
}

export interface PendingApplication {
  readonly id: string
  readonly application: Uint8Array
  readonly receivedAt: number
  /** The libp2p peer it came from (entries stored before pending bounds have none). */
  readonly peer?: string
}

const ENTRY_MAX_BYTES = 8192

/**
 * The authority's allocation table. The allocation entry and its by-key index are written in one
 * batch, so after a crash either both exist or neither: a code is never half-allocated.
 */
export class AllocationStore {
  private readonly datastore: Datastore

  constructor (datastore: Datastore) {
    this.datastore = datastore
  }

  /** `indexSubject: false` for codes the authority registers for itself (its key holds many). */
  async put (a: Allocation, indexSubject = true): Promise<void> {
    const batch = this.datastore.batch()
    batch.put(new Key(`/citycode/alloc/code/${a.code}`), encodeCbor({ ...a }))
    if (indexSubject) batch.put(new Key(`/citycode/alloc/key/${toHex(a.subject)}`), new TextEncoder().encode(a.code))
    await batch.commit()
  }

  /** A code re-certified to another key: the new allocation in place of `previous`, whose key no longer finds it. */
  async reassign (previous: Allocation, next: Allocation): Promise<void> {
    const batch = this.datastore.batch()
    batch.delete(new Key(`/citycode/alloc/key/${toHex(previous.subject)}`))
    batch.put(new Key(`/citycode/alloc/code/${next.code}`), encodeCbor({ ...next }))
    batch.put(new Key(`/citycode/alloc/key/${toHex(next.subject)}`), new TextEncoder().encode(next.code))
    await batch.commit()
  }

  /** Own sub-codes in one datastore batch (bulk registration): no by-key index, the city's key holds them all. */
  async putOwnMany (allocations: readonly Allocation[]): Promise<void> {
    const batch = this.datastore.batch()
    for (const a of allocations) batch.put(new Key(`/citycode/alloc/code/${a.code}`), encodeCbor({ ...a }))
    await batch.commit()
  }

  async get (code: string): Promise<Allocation | undefined> {
    const k = new Key(`/citycode/alloc/code/${code}`)
    if (!(await this.datastore.has(k))) return undefined
    return decodeAllocation(await this.datastore.get(k))
  }

  async bySubject (subject: Uint8Array): Promise<Allocation | undefined> {
    const k = new Key(`/citycode/alloc/key/${toHex(subject)}`)
    if (!(await this.datastore.has(k))) return undefined
    return await this.get(new TextDecoder().decode(await this.datastore.get(k)))
  }

  async * list (): AsyncGenerator<Allocation> {
    for await (const { value } of this.datastore.query({ prefix: '/citycode/alloc/code/' })) yield decodeAllocation(value)
  }

  async codes (): Promise<Set<string>> {
    const out = new Set<string>()
    for await (const key of this.datastore.queryKeys({ prefix: '/citycode/alloc/code/' })) out.add(key.toString().slice('/citycode/alloc/code/'.length))
    return out
  }

  async putPending (p: PendingApplication): Promise<void> {
    const entry = { id: p.id, application: p.application, receivedAt: p.receivedAt }
    await this.datastore.put(new Key(`/citycode/alloc/pending/${p.id}`), encodeCbor(p.peer === undefined ? entry : { ...entry, peer: p.peer }))
  }

  async getPending (id: string): Promise<PendingApplication | undefined> {
    const k = new Key(`/citycode/alloc/pending/${id}`)
    if (!(await this.datastore.has(k))) return undefined
    return decodePending(await this.datastore.get(k))
  }

  async deletePending (id: string): Promise<void> {
    await this.datastore.delete(new Key(`/citycode/alloc/pending/${id}`))
  }

  /**
   * Refuses a pending application for good: the pending entry goes and a rejection mark takes its
   * place in one batch, so an applicant still asking with the same application is refused rather
   * than queued again.
   */
  async rejectPending (id: string, rejectedAt: number): Promise<void> {
    const batch = this.datastore.batch()
    batch.delete(new Key(`/citycode/alloc/pending/${id}`))
    batch.put(new Key(`/citycode/alloc/rejected/${id}`), encodeCbor({ id, rejectedAt }))
    await batch.commit()
  }

  async isRejected (id: string): Promise<boolean> {
    return await this.datastore.has(new Key(`/citycode/alloc/rejected/${id}`))
  }

  async * listPending (): AsyncGenerator<PendingApplication> {
    for await (const { value } of this.datastore.query({ prefix: '/citycode/alloc/pending/' })) yield decodePending(value)
  }
}

function decodeAllocation (value: Uint8Array): Allocation {
  const r = new FieldReader(decodeCanonical(value, ENTRY_MAX_BYTES, 'allocation'), 'allocation', ['code', 'subject', 'name', 'officialCode', 'certificate', 'allocatedAt'])
  return {
    code: r.string('code', 64),
    subject: r.bytes('subject', 32),
    name: r.string('name', 256),
    officialCode: r.raw('officialCode') === null ? null : r.string('officialCode', 16),
    certificate: r.bytes('certificate'),
    allocatedAt: r.uint('allocatedAt')
  }
}

function decodePending (value: Uint8Array): PendingApplication {
  const r = new FieldReader(decodeCanonical(value, ENTRY_MAX_BYTES, 'pending application'), 'pending application', ['id', 'application', 'receivedAt', 'peer'])
  const entry = { id: r.string('id', 64), application: r.bytes('application'), receivedAt: r.uint('receivedAt') }
  return r.has('peer') ? { ...entry, peer: r.string('peer', 128) } : entry
}
