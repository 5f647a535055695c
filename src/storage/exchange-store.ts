import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import type { CID } from 'multiformats/cid'
import { CATALOGUE_MAX_BYTES, decodeCatalogue } from '../core/catalogue/catalogue.ts'
import type { SignedCatalogue } from '../core/catalogue/catalogue.ts'
import { parseContentId } from '../core/catalogue/content-id.ts'
import { decodeLogEntry, encodeLogEntry } from '../core/catalogue/exchange-log.ts'
import type { ExchangeLogEntry, ExchangeLogFields } from '../core/catalogue/exchange-log.ts'
import { decodeCanonical, encodeCbor, FieldReader } from '../core/codec/cbor.ts'

const CATALOGUE_PREFIX = '/citycode/exchange/catalogue/'
const SHARE_PREFIX = '/citycode/exchange/share/'
const LOG_PREFIX = '/citycode/exchange/log/'
/** Blocks a share may list: a 1 TiB file in 256 KiB chunks. */
const MAX_SHARE_BLOCKS = 4_300_000
const SHARE_MAX_BYTES = MAX_SHARE_BLOCKS * 40

/** A dataset this node serves: its DAG's root and every block of it (what a request may ask for). */
export interface StoredShare {
  readonly code: string
  readonly name: string
  readonly root: CID
  readonly blocks: readonly CID[]
}

/** The catalogues this node signs (one per code it holds or registered) and the shares they list. */
export class ShareStore {
  private readonly datastore: Datastore

  constructor (datastore: Datastore) {
    this.datastore = datastore
  }

  async putCatalogue (catalogue: SignedCatalogue): Promise<void> {
    await this.datastore.put(new Key(CATALOGUE_PREFIX + catalogue.body.code), catalogue.bytes)
  }

  async catalogues (): Promise<SignedCatalogue[]> {
    const out: SignedCatalogue[] = []
    for await (const { value } of this.datastore.query({ prefix: CATALOGUE_PREFIX })) {
      if (value.length <= CATALOGUE_MAX_BYTES) out.push(decodeCatalogue(value))
    }
    return out
  }

  async putShare (share: StoredShare): Promise<void> {
    await this.datastore.put(shareKey(share.code, share.name), encodeCbor({ root: share.root.bytes, blocks: share.blocks.map(c => c.bytes) }))
  }

  async deleteShare (code: string, name: string): Promise<void> {
    await this.datastore.delete(shareKey(code, name))
  }

  async shares (): Promise<StoredShare[]> {
    const out: StoredShare[] = []
    for await (const { key, value } of this.datastore.query({ prefix: SHARE_PREFIX })) {
      const [code, name] = key.toString().slice(SHARE_PREFIX.length).split('/') as [string, string]
      const r = new FieldReader(decodeCanonical(value, SHARE_MAX_BYTES, 'share'), 'share', ['root', 'blocks'])
      out.push({ code, name, root: parseContentId(r.bytes('root')), blocks: r.bytesArray('blocks', MAX_SHARE_BLOCKS).map(b => parseContentId(b)) })
    }
    return out
  }
}

function shareKey (code: string, name: string): Key {
  return new Key(`${SHARE_PREFIX}${code}/${name}`)
}

/**
 * The exchange log's entries, in order; appends are serialised here so two transfers ending at once
 * cannot take the same seq or link to the same previous entry.
 */
export class ExchangeLogStore {
  private readonly datastore: Datastore
  private tail: Promise<unknown> = Promise.resolve()
  private last: { seq: number, hash: Uint8Array } | null | undefined

  constructor (datastore: Datastore) {
    this.datastore = datastore
  }

  async append (fields: ExchangeLogFields): Promise<ExchangeLogEntry> {
    const next = this.tail.then(async () => {
      const last = await this.lastEntry()
      const entry = encodeLogEntry(fields, last === null ? 0 : last.seq + 1, last?.hash ?? null)
      await this.datastore.put(logKey(entry.seq), entry.bytesOfEntry)
      this.last = { seq: entry.seq, hash: entry.hash }
      return entry
    })
    this.tail = next.catch(() => undefined)
    return await next
  }

  /** Entry bytes from `from` on, at most `limit`, oldest first. */
  async read (from = 0, limit = Number.MAX_SAFE_INTEGER): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    for (let seq = from; out.length < limit; seq++) {
      const key = logKey(seq)
      if (!await this.datastore.has(key)) break
      out.push(await this.datastore.get(key))
    }
    return out
  }

  async size (): Promise<number> {
    const last = await this.lastEntry()
    return last === null ? 0 : last.seq + 1
  }

  private async lastEntry (): Promise<{ seq: number, hash: Uint8Array } | null> {
    if (this.last !== undefined) return this.last
    // keys sort by their zero-padded seq: the last one is the newest entry
    let found: Uint8Array | undefined
    for await (const { value } of this.datastore.query({ prefix: LOG_PREFIX, orders: [(a, b) => a.key.toString() < b.key.toString() ? 1 : -1], limit: 1 })) found = value
    if (found === undefined) {
      this.last = null
      return null
    }
    const entry = decodeLogEntry(found)
    this.last = { seq: entry.seq, hash: entry.hash }
    return this.last
  }
}

function logKey (seq: number): Key {
  return new Key(LOG_PREFIX + String(seq).padStart(12, '0'))
}
