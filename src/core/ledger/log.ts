import { isCode } from '../code/grammar.ts'
import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import type { CborMap } from '../codec/cbor.ts'
import { MalformedRecordError } from '../errors.ts'
import { InvalidProofError } from './errors.ts'
import { checkHash, HASH_BYTES, leafHash, nodeHash, rangeHash } from './merkle.ts'
import type { LeafHashSource } from './merkle.ts'
import { consistencyProof, inclusionProof } from './proofs.ts'
import type { ConsistencyProofOptions } from './proofs.ts'

/**
 * What an authority's ledger records, one leaf per signed object it issues:
 *   LedgerEntry = { v: 1, type: "allocation" | "record" | "rotation" | "revocation",
 *                   code: code, seq?: uint, time: uint, object: bytes(32) }
 * `object` is the SHA-256 of the signed object's bytes (the record, certificate or revocation), so
 * the log commits to exactly what was signed without carrying it. `seq` is required for records
 * (a record version is code + seq) and optional otherwise.
 */
export const LEDGER_ENTRY_TYPES = ['allocation', 'record', 'rotation', 'revocation'] as const
export type LedgerEntryType = typeof LEDGER_ENTRY_TYPES[number]
export const LEAF_MAX_BYTES = 256

export interface LedgerEntry {
  readonly type: LedgerEntryType
  readonly code: string
  readonly seq?: number
  readonly time: number
  readonly object: Uint8Array
}

function bad (field: string, why: string): never {
  throw new MalformedRecordError(`ledger entry.${field} ${why}`, { what: 'ledger entry', field })
}

function checkEntry (e: LedgerEntry): void {
  if (!(LEDGER_ENTRY_TYPES as readonly string[]).includes(e.type)) bad('type', `must be one of ${LEDGER_ENTRY_TYPES.join(', ')}`)
  if (typeof e.code !== 'string' || !isCode(e.code)) bad('code', 'must be a canonical code')
  if (e.seq !== undefined && (!Number.isSafeInteger(e.seq) || e.seq < 0)) bad('seq', 'must be a non-negative integer')
  if (e.type === 'record' && e.seq === undefined) bad('seq', 'is required for a record entry')
  if (!Number.isSafeInteger(e.time) || e.time < 0) bad('time', 'must be a non-negative integer')
  if (!(e.object instanceof Uint8Array) || e.object.length !== HASH_BYTES) bad('object', `must be ${HASH_BYTES} bytes`)
}

/** The leaf bytes of a ledger entry (canonical DAG-CBOR); its leaf hash is leafHash(encodeLeaf(entry)). */
export function encodeLeaf (entry: LedgerEntry): Uint8Array {
  checkEntry(entry)
  const map: CborMap = { v: 1, type: entry.type, code: entry.code, time: entry.time, object: entry.object }
  if (entry.seq !== undefined) map.seq = entry.seq
  return encodeCbor(map)
}

export function decodeLeaf (bytes: Uint8Array): LedgerEntry {
  const r = new FieldReader(decodeCanonical(bytes, LEAF_MAX_BYTES, 'ledger entry'), 'ledger entry', ['v', 'type', 'code', 'seq', 'time', 'object'])
  r.literal('v', 1)
  const type = r.string('type', 16) as LedgerEntryType
  const base = { type, code: r.string('code', 64), time: r.uint('time'), object: r.bytes('object', HASH_BYTES) }
  const entry: LedgerEntry = r.has('seq') ? { ...base, seq: r.uint('seq') } : base
  checkEntry(entry)
  return entry
}

export function entryLeafHash (entry: LedgerEntry): Uint8Array {
  return leafHash(encodeLeaf(entry))
}

/**
 * An in-memory append-only Merkle log. It keeps every complete subtree hash (level 0 = leaf hashes,
 * level h = subtrees of 2^h leaves, about 2n hashes in all), so appending costs amortized one node
 * hash and roots and proofs of any size cost O(log n) hashes. It implements LeafHashSource, so the
 * proof functions and a storage-backed log share one code path.
 */
export class MerkleLog implements LeafHashSource {
  readonly #levels: Uint8Array[][] = [[]]

  get size (): number {
    return (this.#levels[0] as Uint8Array[]).length
  }

  /** Appends a leaf hash; returns its index. */
  append (hash: Uint8Array): number {
    checkHash(hash, 'leaf hash')
    const leaves = this.#levels[0] as Uint8Array[]
    const index = leaves.length
    leaves.push(hash)
    // Every level where this append completes a pair gains the pair's parent.
    let i = index
    for (let level = 0; i % 2 === 1; level++) {
      const row = this.#levels[level] as Uint8Array[]
      const parent = nodeHash(row[i - 1] as Uint8Array, row[i] as Uint8Array)
      let up = this.#levels[level + 1]
      if (up === undefined) {
        up = []
        this.#levels.push(up)
      }
      up.push(parent)
      i = (i - 1) / 2
    }
    return index
  }

  /** Appends raw leaf bytes (hashed with the 0x00 prefix); returns the index. */
  appendLeaf (leaf: Uint8Array): number {
    return this.append(leafHash(leaf))
  }

  appendEntry (entry: LedgerEntry): number {
    return this.appendLeaf(encodeLeaf(entry))
  }

  leafHash (index: number): Uint8Array {
    const h = (this.#levels[0] as Uint8Array[])[index]
    if (h === undefined) throw new InvalidProofError(`no leaf ${index} in a log of ${this.size}`, { reason: 'index-out-of-range', index, size: this.size })
    return h
  }

  perfectSubtreeHash (level: number, index: number): Uint8Array {
    const h = this.#levels[level]?.[index]
    if (h === undefined) throw new InvalidProofError(`no complete subtree ${index} at level ${level} in a log of ${this.size}`, { reason: 'index-out-of-range', level, index, size: this.size })
    return h
  }

  root (size: number = this.size): Uint8Array {
    return rangeHash(this, 0, size)
  }

  inclusionProof (index: number, size: number = this.size): Uint8Array[] {
    return inclusionProof(this, index, size)
  }

  consistencyProof (oldSize: number, newSize: number = this.size, options?: ConsistencyProofOptions): Uint8Array[] {
    return consistencyProof(this, oldSize, newSize, options)
  }
}
