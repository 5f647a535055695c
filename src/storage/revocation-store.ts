import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { decodeCanonical, encodeCbor, FieldReader } from '../core/codec/cbor.ts'
import { fromHex, toHex } from '../core/crypto/hash.ts'
import { decodeRevocationAnnouncement, REVOCATION_ANNOUNCEMENT_MAX_BYTES } from '../core/trust/revocation-announcement.ts'
import type { RevocationAnnouncement } from '../core/trust/revocation-announcement.ts'
import { keepsRevocation } from '../core/trust/revocation.ts'

/**
 * Every certificate a node can be told about may be revoked once, so a legitimate authority could
 * still fill a store without limit by minting and revoking certificates: past this many the store
 * takes no new ones (those already kept are never pushed out by newcomers).
 */
export const DEFAULT_MAX_STORED_REVOCATIONS = 4096

export interface StoredRevocation {
  /** The announcement's bytes (SPEC 4.4): revocation, certificate and chain. */
  readonly bytes: Uint8Array
  readonly announcement: RevocationAnnouncement
  /** When this node stored it (ms). */
  readonly storedAt: number
}

export type PutOutcome = 'stored' | 'kept-earlier' | 'full'

const PREFIX = '/citycode/revocations/'
const ENTRY_MAX_BYTES = REVOCATION_ANNOUNCEMENT_MAX_BYTES + 64

/**
 * The revocation announcements a node honours, one per revoked certificate (keyed by its hash), so a
 * restarted node still refuses what it refused before. Callers store only announcements they have
 * verified; the store itself keeps, for each certificate, the issuer's revocation over the holder's,
 * then the one in force earliest (keepsRevocation, as the validator's RevocationSet does), so a later
 * announcement never replaces or removes one kept.
 */
export class RevocationStore {
  private readonly datastore: Datastore
  private readonly maxEntries: number
  private count: number | undefined

  constructor (datastore: Datastore, options: { maxEntries?: number } = {}) {
    this.datastore = datastore
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_STORED_REVOCATIONS
  }

  async put (bytes: Uint8Array, storedAt: number): Promise<PutOutcome> {
    const announcement = decodeRevocationAnnouncement(bytes)
    const key = keyOf(announcement.revocation.target)
    const existing = await this.read(key)
    if (existing !== undefined && !keepsRevocation(announcement.revocation, existing.announcement.revocation, announcement.certificate)) return 'kept-earlier'
    if (existing === undefined && await this.size() >= this.maxEntries) return 'full'
    await this.datastore.put(key, encodeCbor({ bytes, storedAt }))
    if (existing === undefined && this.count !== undefined) this.count++
    return 'stored'
  }

  async get (target: Uint8Array): Promise<StoredRevocation | undefined> {
    return await this.read(keyOf(target))
  }

  async delete (target: Uint8Array): Promise<void> {
    const key = keyOf(target)
    if (!(await this.datastore.has(key))) return
    await this.datastore.delete(key)
    if (this.count !== undefined) this.count--
  }

  /** Every entry; one that no longer decodes (a damaged store) is skipped, not fatal. */
  async * list (): AsyncGenerator<StoredRevocation> {
    for await (const { value } of this.datastore.query({ prefix: PREFIX })) {
      const entry = decodeEntry(value)
      if (entry !== undefined) yield entry
    }
  }

  /**
   * Entries in the order of their certificate hashes, starting after `after`, until their
   * announcements add up to `maxBytes` (the first one always fits) or `maxItems`; `next` when more
   * follow. Only keys are read beyond the page, so a page costs the same however often it is asked.
   */
  async page (after: Uint8Array | undefined, options: { maxBytes: number, maxItems: number }): Promise<{ entries: StoredRevocation[], next?: Uint8Array }> {
    const from = after === undefined ? '' : toHex(after)
    const keys: string[] = []
    for await (const key of this.datastore.queryKeys({ prefix: PREFIX })) {
      const hex = key.toString().slice(PREFIX.length)
      if (hex > from) keys.push(hex)
    }
    keys.sort()
    const entries: StoredRevocation[] = []
    let bytes = 0
    for (const [i, hex] of keys.entries()) {
      const entry = await this.read(new Key(`${PREFIX}${hex}`))
      if (entry === undefined) continue
      if (entries.length > 0 && (bytes + entry.bytes.byteLength > options.maxBytes || entries.length >= options.maxItems)) {
        return { entries, next: fromHex(keys[i - 1] as string) }
      }
      entries.push(entry)
      bytes += entry.bytes.byteLength
    }
    return { entries }
  }

  async size (): Promise<number> {
    if (this.count === undefined) {
      let n = 0
      for await (const _ of this.datastore.queryKeys({ prefix: PREFIX })) n++
      this.count = n
    }
    return this.count
  }

  private async read (key: Key): Promise<StoredRevocation | undefined> {
    if (!(await this.datastore.has(key))) return undefined
    return decodeEntry(await this.datastore.get(key))
  }
}

const keyOf = (target: Uint8Array): Key => new Key(`${PREFIX}${toHex(target)}`)

function decodeEntry (value: Uint8Array): StoredRevocation | undefined {
  try {
    const r = new FieldReader(decodeCanonical(value, ENTRY_MAX_BYTES, 'stored revocation'), 'stored revocation', ['bytes', 'storedAt'])
    const bytes = r.bytes('bytes')
    return { bytes, announcement: decodeRevocationAnnouncement(bytes), storedAt: r.uint('storedAt') }
  } catch {
    return undefined
  }
}
