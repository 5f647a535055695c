import { sha256 } from '../crypto/hash.ts'
import { MalformedRecordError } from '../errors.ts'
import { InvalidProofError } from './errors.ts'

/**
 * RFC 9162 section 2.1 Merkle Tree Hash (MTH):
 *   MTH({})        = SHA-256()
 *   MTH({d0})      = SHA-256(0x00 || d0)                          (leaf hash)
 *   MTH(D[0:n])    = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))  (node hash), k = largest power of 2 < n
 * The 0x00 / 0x01 prefixes keep a leaf from ever being mistaken for a node (second preimages).
 *
 * Sizes and indices are plain numbers up to Number.MAX_SAFE_INTEGER, so the arithmetic here never
 * uses 32-bit bit operators.
 */
export const HASH_BYTES = 32
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER

const EMPTY = sha256(new Uint8Array(0))

/** MTH of the empty list: SHA-256 of the empty string (a fresh copy). */
export function emptyRoot (): Uint8Array {
  return EMPTY.slice()
}

export function leafHash (leaf: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + leaf.length)
  buf[0] = 0x00
  buf.set(leaf, 1)
  return sha256(buf)
}

// One buffer for every node hash: the core is synchronous, so it can never be used re-entrantly.
const nodeBuf = new Uint8Array(1 + 2 * HASH_BYTES)
nodeBuf[0] = 0x01

export function nodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeBuf.set(left, 1)
  nodeBuf.set(right, 1 + HASH_BYTES)
  return sha256(nodeBuf)
}

/**
 * Read access to a log's leaf hashes, so proofs can be generated from memory or from a store.
 * `perfectSubtreeHash(level, index)`, when present, returns the hash of the complete subtree of
 * 2^level leaves starting at leaf index * 2^level (it must lie within `size`); a source that stores
 * interior nodes makes proof generation O(log n) instead of O(n).
 */
export interface LeafHashSource {
  readonly size: number
  leafHash(index: number): Uint8Array
  perfectSubtreeHash?(level: number, index: number): Uint8Array
}

export function isPowerOfTwo (n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 1) return false
  let p = 1
  while (p < n) p *= 2
  return p === n
}

/** Largest power of two strictly below n (n >= 2): the split point k of the MTH definition. */
export function splitPoint (n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** Largest power of two <= n (n >= 1). */
function largestPowerOfTwoAtMost (n: number): number {
  let k = 1
  while (k * 2 <= n) k *= 2
  return k
}

function log2 (powerOfTwo: number): number {
  let level = 0
  for (let p = 1; p < powerOfTwo; p *= 2) level++
  return level
}

export function checkHash (hash: Uint8Array, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_BYTES) {
    throw new MalformedRecordError(`${what} must be ${HASH_BYTES} bytes`, { what })
  }
}

function checkRange (source: LeafHashSource, start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end > source.size) {
    throw new InvalidProofError(`leaf range ${start}..${end} is not within a log of ${source.size} leaves`, { reason: 'size-out-of-range', start, end, size: source.size })
  }
}

/** MTH of leaf hashes [start, end) read one by one: a stack of complete subtrees, folded right to left. */
function hashLeafRange (source: LeafHashSource, start: number, end: number): Uint8Array {
  const stack: Uint8Array[] = []
  for (let j = 0; j < end - start; j++) {
    stack.push(source.leafHash(start + j))
    for (let c = j + 1; c % 2 === 0; c /= 2) {
      const right = stack.pop() as Uint8Array
      const left = stack.pop() as Uint8Array
      stack.push(nodeHash(left, right))
    }
  }
  let acc = stack.pop()
  if (acc === undefined) return emptyRoot()
  for (let left = stack.pop(); left !== undefined; left = stack.pop()) acc = nodeHash(left, acc)
  return acc
}

/** Hash of the complete subtree of `width` (a power of two) leaves starting at `start` (a multiple of width). */
function perfectHash (source: LeafHashSource, start: number, width: number): Uint8Array {
  if (width === 1) return source.leafHash(start)
  if (source.perfectSubtreeHash !== undefined) return source.perfectSubtreeHash(log2(width), start / width)
  return hashLeafRange(source, start, start + width)
}

/**
 * The complete subtrees that make up leaves [start, end), largest first, when `start` is aligned to
 * the smallest power of two >= end - start (every subtree RFC 9162 proofs refer to is): then
 * MTH(D[start:end]) is the right fold of their hashes. Returns undefined for an unaligned range.
 */
function alignedDecomposition (start: number, end: number): Array<[number, number]> | undefined {
  const n = end - start
  let p = 1
  while (p < n) p *= 2
  if (start % p !== 0) return undefined
  const out: Array<[number, number]> = []
  let pos = start
  while (pos < end) {
    const width = largestPowerOfTwoAtMost(end - pos)
    out.push([pos, width])
    pos += width
  }
  return out
}

/** MTH(D[start:end]) over the leaf hashes of `source`. */
export function rangeHash (source: LeafHashSource, start: number, end: number): Uint8Array {
  checkRange(source, start, end)
  if (start === end) return emptyRoot()
  const parts = alignedDecomposition(start, end)
  if (parts === undefined) return hashLeafRange(source, start, end)
  let i = parts.length - 1
  const [lastStart, lastWidth] = parts[i] as [number, number]
  let acc = perfectHash(source, lastStart, lastWidth)
  for (i--; i >= 0; i--) {
    const [s, w] = parts[i] as [number, number]
    acc = nodeHash(perfectHash(source, s, w), acc)
  }
  return acc
}

/** The root of the tree of the first `size` leaves of `source` (any earlier size of a growing log). */
export function rootAt (source: LeafHashSource, size: number): Uint8Array {
  return rangeHash(source, 0, size)
}

/** MTH of raw leaves (hashes each leaf first). For tests and small lists; a log uses MerkleFrontier or MerkleLog. */
export function merkleTreeHash (leaves: readonly Uint8Array[]): Uint8Array {
  const hashes = leaves.map(leafHash)
  return hashLeafRange({ size: hashes.length, leafHash: i => hashes[i] as Uint8Array }, 0, hashes.length)
}

/**
 * The compact range [0, size) of a growing log: the roots of its complete subtrees, one per set bit
 * of `size`, largest (leftmost) first. Appending is O(log n) hashes and memory is O(log n), so a
 * writer or a monitor can follow a log and compute its root without keeping the leaves.
 */
export class MerkleFrontier {
  #hashes: Uint8Array[]
  #size: number

  constructor () {
    this.#hashes = []
    this.#size = 0
  }

  /** The frontier of the first `size` leaves of `source`: O(log n) with perfectSubtreeHash, O(n) without. */
  static at (source: LeafHashSource, size: number): MerkleFrontier {
    checkRange(source, 0, size)
    const f = new MerkleFrontier()
    for (const [start, width] of alignedDecomposition(0, size) ?? []) f.#hashes.push(perfectHash(source, start, width))
    f.#size = size
    return f
  }

  /**
   * A frontier saved earlier (`size` and `hashes`): one hash per set bit of `size`, as `hashes`
   * returns them. MalformedRecordError for any other shape (a damaged or forged saved state).
   */
  static restore (size: number, hashes: readonly Uint8Array[]): MerkleFrontier {
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_TREE_SIZE) throw new MalformedRecordError('frontier size must be a non-negative integer', { what: 'frontier' })
    let bits = 0
    for (let s = size; s > 0; s = Math.floor(s / 2)) bits += s % 2
    if (hashes.length !== bits) throw new MalformedRecordError(`a frontier of ${size} leaves has ${bits} hashes, not ${hashes.length}`, { what: 'frontier' })
    hashes.forEach(h => { checkHash(h, 'frontier hash') })
    const f = new MerkleFrontier()
    f.#hashes = hashes.map(h => h.slice())
    f.#size = size
    return f
  }

  get size (): number {
    return this.#size
  }

  /** The subtree roots, largest first (references: do not mutate). */
  get hashes (): readonly Uint8Array[] {
    return this.#hashes
  }

  append (hash: Uint8Array): void {
    checkHash(hash, 'leaf hash')
    if (this.#size >= MAX_TREE_SIZE) throw new InvalidProofError('the log is full', { reason: 'size-out-of-range', size: this.#size })
    this.#hashes.push(hash)
    // Each trailing 1 bit of the old size is a complete subtree that the new leaf now pairs with.
    for (let s = this.#size; s % 2 === 1; s = (s - 1) / 2) {
      const right = this.#hashes.pop() as Uint8Array
      const left = this.#hashes.pop() as Uint8Array
      this.#hashes.push(nodeHash(left, right))
    }
    this.#size++
  }

  appendLeaf (leaf: Uint8Array): void {
    this.append(leafHash(leaf))
  }

  root (): Uint8Array {
    let i = this.#hashes.length - 1
    if (i < 0) return emptyRoot()
    let acc = this.#hashes[i] as Uint8Array
    for (i--; i >= 0; i--) acc = nodeHash(this.#hashes[i] as Uint8Array, acc)
    return acc
  }

  clone (): MerkleFrontier {
    const f = new MerkleFrontier()
    f.#hashes = [...this.#hashes]
    f.#size = this.#size
    return f
  }
}
