import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { decodeCanonical, encodeCbor } from '../core/codec/cbor.ts'
import { equalBytes, toHex } from '../core/crypto/hash.ts'
import { decodeLeaf, encodeLeaf, MerkleLog } from '../core/ledger/log.ts'
import type { LedgerEntry } from '../core/ledger/log.ts'
import { leafHash } from '../core/ledger/merkle.ts'
import type { LeafHashSource } from '../core/ledger/merkle.ts'
import { InvalidProofError } from '../core/ledger/errors.ts'
import { checkPageQuery } from '../core/ledger/page.ts'
import type { PageItem, PageQuery } from '../core/ledger/page.ts'
import { decodeHeadRecord } from '../core/record/head-record.ts'
import type { HeadRecord } from '../core/record/head-record.ts'
import { StorageError } from './errors.ts'

/**
 * An authority's append-only ledger in the node's datastore:
 *
 *   <prefix>/size              CBOR uint: how many entries the log holds
 *   <prefix>/entry/<index>     the entry's leaf bytes (canonical DAG-CBOR LedgerEntry)
 *   <prefix>/hash/<index>      its leaf hash (32 bytes)
 *   <prefix>/head              the latest signed head (HeadRecord bytes)
 *
 * Indices are zero-padded to 16 digits so keys sort in log order. An append writes its entries,
 * their hashes and the new size in one datastore batch (one LevelDB write batch): after a crash the
 * log holds all of it or none of it. Opening re-checks that anyway, for stores whose batches are
 * not atomic and for damage: the size counter and the contiguous run of valid entries must agree;
 * a torn tail that no signed head covers is dropped, a signed entry never is (StorageError instead).
 *
 * Leaf hashes (and every complete subtree hash) are also kept in memory in a MerkleLog, so roots and
 * proofs cost O(log n) hashes with no datastore reads: the store is itself a LeafHashSource.
 */
export const DEFAULT_LEDGER_PREFIX = '/citycode/ledger/own'
const INDEX_DIGITS = 16
/** Leaf reads in flight at once (an entry bundle's worth). */
const ENTRY_READS_AT_ONCE = 256

export interface LedgerRecovery {
  /** Entries (or a size counter) beyond the recovered size that were dropped. */
  readonly droppedTail: number
  /** Size of the latest signed head found (0 when none). */
  readonly signedSize: number
}

export class LedgerStore implements LeafHashSource {
  readonly prefix: string
  readonly recovery: LedgerRecovery
  private readonly datastore: Datastore
  private readonly tree: MerkleLog
  private latestHead: HeadRecord | undefined
  /** `type:code:object` of every entry, so callers can tell whether a signed object is logged. */
  private readonly logged = new Set<string>()
  /** Entry indices per code, for histories. */
  private readonly byCode = new Map<string, number[]>()
  /** Per code, the index of the first allocation of each code directly under it, for children listings. */
  private readonly childrenOf = new Map<string, number[]>()
  private readonly allocated = new Set<string>()
  /** Appends run one at a time: each batch writes the size the previous one left. */
  private queue: Promise<unknown> = Promise.resolve()

  private constructor (datastore: Datastore, prefix: string, tree: MerkleLog, head: HeadRecord | undefined, recovery: LedgerRecovery) {
    this.datastore = datastore
    this.prefix = prefix
    this.tree = tree
    this.latestHead = head
    this.recovery = recovery
  }

  /** Opens (and if needed recovers) the log under `prefix`. */
  static async open (datastore: Datastore, prefix: string = DEFAULT_LEDGER_PREFIX): Promise<LedgerStore> {
    const keys = keysOf(prefix)
    const counter = await datastore.has(keys.size) ? decodeSize(await datastore.get(keys.size)) : 0
    const head = await datastore.has(keys.head) ? decodeStoredHead(await datastore.get(keys.head)) : undefined
    const signedSize = head?.sth.head.size ?? 0

    const leaves = new Map<number, Uint8Array>()
    const hashes = new Map<number, Uint8Array>()
    for await (const { key, value } of datastore.query({ prefix: `${prefix}/entry/` })) leaves.set(indexOf(key), value)
    for await (const { key, value } of datastore.query({ prefix: `${prefix}/hash/` })) hashes.set(indexOf(key), value)

    // the contiguous run of whole, matching entries from index 0
    const tree = new MerkleLog()
    const entries: LedgerEntry[] = []
    for (let i = 0; ; i++) {
      const leaf = leaves.get(i)
      const hash = hashes.get(i)
      if (leaf === undefined || hash === undefined) break
      let entry: LedgerEntry
      try {
        entry = decodeLeaf(leaf)
      } catch {
        break
      }
      if (!equalBytes(leafHash(leaf), hash)) break
      if (i >= counter && i >= signedSize) break
      tree.append(hash)
      entries.push(entry)
    }
    if (tree.size < signedSize) {
      throw new StorageError(`ledger ${prefix}: entry ${tree.size} is missing or damaged, but the signed head of size ${signedSize} covers it`, { prefix, index: tree.size, signedSize })
    }
    if (head !== undefined && !equalBytes(tree.root(signedSize), head.sth.head.root)) {
      throw new StorageError(`ledger ${prefix}: the stored entries do not match the signed head of size ${signedSize}`, { prefix, signedSize })
    }
    const size = tree.size
    // drop whatever lies beyond: entries of an append that never completed, or a counter ahead of them
    const stale = new Set<number>([...leaves.keys(), ...hashes.keys()].filter(i => i >= size))
    const droppedTail = Math.max(stale.size === 0 ? 0 : Math.max(...stale) + 1 - size, counter - size, 0)
    if (stale.size > 0 || counter !== size) {
      const batch = datastore.batch()
      for (const i of stale) {
        batch.delete(keys.entry(i))
        batch.delete(keys.hash(i))
      }
      batch.put(keys.size, encodeCbor(size))
      await batch.commit()
    }
    const store = new LedgerStore(datastore, prefix, tree, head, { droppedTail, signedSize })
    entries.forEach((e, i) => { store.index(e, i) })
    return store
  }

  get size (): number {
    return this.tree.size
  }

  leafHash (index: number): Uint8Array {
    return this.tree.leafHash(index)
  }

  perfectSubtreeHash (level: number, index: number): Uint8Array {
    return this.tree.perfectSubtreeHash(level, index)
  }

  root (size: number = this.size): Uint8Array {
    return this.tree.root(size)
  }

  inclusionProof (index: number, size: number = this.size): Uint8Array[] {
    return this.tree.inclusionProof(index, size)
  }

  consistencyProof (oldSize: number, newSize: number = this.size): Uint8Array[] {
    return this.tree.consistencyProof(oldSize, newSize)
  }

  /** The latest signed head stored by `saveHead`. */
  get head (): HeadRecord | undefined {
    return this.latestHead
  }

  /** Appends entries in one batch; returns the index of the first. */
  async append (entries: readonly LedgerEntry[]): Promise<number> {
    const leaves = entries.map(encodeLeaf)
    return await this.serialised(async () => {
      const first = this.size
      const keys = keysOf(this.prefix)
      const hashes = leaves.map(leafHash)
      const batch = this.datastore.batch()
      leaves.forEach((leaf, j) => {
        batch.put(keys.entry(first + j), leaf)
        batch.put(keys.hash(first + j), hashes[j] as Uint8Array)
      })
      batch.put(keys.size, encodeCbor(first + leaves.length))
      await batch.commit()
      // memory follows only a committed batch
      hashes.forEach((h, j) => {
        this.tree.append(h)
        this.index(entries[j] as LedgerEntry, first + j)
      })
      return first
    })
  }

  /** Stores the latest signed head; it must be of this log's current tree at its size. */
  async saveHead (bytes: Uint8Array): Promise<HeadRecord> {
    const head = decodeHeadRecord(bytes)
    const size = head.sth.head.size
    if (size > this.size || !equalBytes(this.root(size), head.sth.head.root)) {
      throw new StorageError(`ledger ${this.prefix}: refusing to store a head of size ${size} that does not match the log`, { prefix: this.prefix, size })
    }
    if (this.latestHead !== undefined && size < this.latestHead.sth.head.size) {
      throw new StorageError(`ledger ${this.prefix}: refusing to store a head of size ${size} older than the stored one (${this.latestHead.sth.head.size})`, { prefix: this.prefix, size })
    }
    await this.datastore.put(keysOf(this.prefix).head, bytes)
    this.latestHead = head
    return head
  }

  /** Leaf bytes of entries [from, to). */
  async entries (from: number, to: number): Promise<Uint8Array[]> {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to || to > this.size) {
      throw new InvalidProofError(`no entries ${from}..${to} in a log of ${this.size}`, { reason: 'index-out-of-range', from, to, size: this.size })
    }
    const keys = keysOf(this.prefix)
    // 256 reads at a time, as in `page`; a whole (small) log in as many rounds
    const out: Uint8Array[] = []
    for (let at = from; at < to; at += ENTRY_READS_AT_ONCE) {
      const end = Math.min(to, at + ENTRY_READS_AT_ONCE)
      out.push(...await Promise.all(Array.from({ length: end - at }, async (_, j) => await this.datastore.get(keys.entry(at + j)))))
    }
    return out
  }

  async entry (index: number): Promise<LedgerEntry> {
    const [leaf] = await this.entries(index, index + 1)
    return decodeLeaf(leaf as Uint8Array)
  }

  /** Whether an entry of this type, code and object is in the log. */
  has (entry: Pick<LedgerEntry, 'type' | 'code' | 'object'>): boolean {
    return this.logged.has(loggedKey(entry))
  }

  /** Indices of the entries about `code`, in log order. */
  indicesOf (code: string): readonly number[] {
    return this.byCode.get(code) ?? []
  }

  /**
   * One page of a listing (core/ledger/page.ts), every item proven under the tree of `proofSize`
   * leaves (the signed head the caller serves with it). Found through the in-memory indices, by
   * binary search: a page costs O(limit log n) whatever the log's size, never a scan.
   */
  async page (query: PageQuery, proofSize: number): Promise<{ items: PageItem[], next?: number }> {
    checkPageQuery(query)
    if (query.bound > proofSize || proofSize > this.size) {
      throw new InvalidProofError(`no page bound to ${query.bound} leaves under a tree of ${proofSize} (log has ${this.size})`, { reason: 'size-out-of-range', bound: query.bound, size: proofSize })
    }
    let indices: number[]
    let next: number | undefined
    if (query.of === 'range') {
      const to = Math.min(query.bound, query.from + query.limit)
      indices = Array.from({ length: to - query.from }, (_, j) => query.from + j)
      next = to < query.bound ? to : undefined
    } else {
      const all = (query.of === 'code' ? this.byCode : this.childrenOf).get(query.code as string) ?? []
      let lo = 0
      let hi = all.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if ((all[mid] as number) < query.from) lo = mid + 1
        else hi = mid
      }
      indices = []
      for (let j = lo; j < all.length && (all[j] as number) < query.bound; j++) {
        if (indices.length === query.limit) {
          next = all[j]
          break
        }
        indices.push(all[j] as number)
      }
    }
    const keys = keysOf(this.prefix)
    // all reads at once: one after the other, each a round trip to LevelDB's threads, they were
    // most of a page's time (p50 9.8 ms for 100 on a 20,000-entry log)
    const leaves = await Promise.all(indices.map(async i => await this.datastore.get(keys.entry(i))))
    const items: PageItem[] = indices.map((i, j) => ({ index: i, leaf: leaves[j] as Uint8Array, proof: this.tree.inclusionProof(i, proofSize) }))
    return next === undefined ? { items } : { items, next }
  }

  private index (entry: LedgerEntry, i: number): void {
    this.logged.add(loggedKey(entry))
    const list = this.byCode.get(entry.code)
    if (list === undefined) this.byCode.set(entry.code, [i])
    else list.push(i)
    if (entry.type === 'allocation' && !this.allocated.has(entry.code)) {
      this.allocated.add(entry.code)
      const dot = entry.code.lastIndexOf('.')
      if (dot > 0) {
        const parent = entry.code.slice(0, dot)
        const children = this.childrenOf.get(parent)
        if (children === undefined) this.childrenOf.set(parent, [i])
        else children.push(i)
      }
    }
  }

  private async serialised<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => undefined)
    return await run
  }
}

function loggedKey (entry: Pick<LedgerEntry, 'type' | 'code' | 'object'>): string {
  return `${entry.type}:${entry.code}:${toHex(entry.object)}`
}

function keysOf (prefix: string): { size: Key, head: Key, entry: (i: number) => Key, hash: (i: number) => Key } {
  const pad = (i: number): string => String(i).padStart(INDEX_DIGITS, '0')
  return {
    size: new Key(`${prefix}/size`),
    head: new Key(`${prefix}/head`),
    entry: (i) => new Key(`${prefix}/entry/${pad(i)}`),
    hash: (i) => new Key(`${prefix}/hash/${pad(i)}`)
  }
}

function indexOf (key: Key): number {
  const text = key.toString()
  const n = Number(text.slice(text.lastIndexOf('/') + 1))
  return Number.isSafeInteger(n) ? n : -1
}

function decodeSize (bytes: Uint8Array): number {
  const v = decodeCanonical(bytes, 16, 'ledger size')
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new StorageError('ledger size counter is damaged', {})
  return v
}

function decodeStoredHead (bytes: Uint8Array): HeadRecord {
  try {
    return decodeHeadRecord(bytes)
  } catch (err) {
    throw new StorageError(`the stored ledger head is damaged: ${(err as Error).message}`, {})
  }
}
