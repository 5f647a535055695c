import { CitycodeError } from '../errors.ts'
import { CheckpointRollbackError, InconsistentTreeError, InvalidProofError, InvalidTileError } from './errors.ts'
import { verifyConsistency } from './proofs.ts'
import type { TreeHead } from './tree-head.ts'
import { LEAF_MAX_BYTES } from './log.ts'
import { HASH_BYTES, leafHash, nodeHash, rootAt } from './merkle.ts'
import type { LeafHashSource } from './merkle.ts'

/**
 * A log as tiles, after C2SP tlog-tiles (https://c2sp.org/tlog-tiles): the tree's hashes cut into
 * tiles of 256, so a reader fetches a handful of immutable, cacheable files instead of asking the
 * log's node for each proof, and rebuilds any inclusion or consistency proof itself.
 *
 * - A hash tile at level L, index N holds up to 256 consecutive hashes of complete subtrees of
 *   256^L leaves: the ones starting at leaf (N * 256 + j) * 256^L (level 0: leaf hashes). The tree
 *   is the RFC 9162 tree of docs/spec/ledger.md, so these are exactly the tlog-tiles hashes.
 * - Width: at tree size S the tile holds min(256, floor(S / 256^L) - N * 256) hashes. A full tile
 *   (256) never changes; a partial one (the right edge) grows with the log and is named by its width.
 * - An entry bundle N holds the leaves of level-0 tile N, each prefixed by its length as a big-endian
 *   uint16 (tlog-tiles' bundle framing; our leaves are at most 256 bytes).
 * - Paths: `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`, N in groups of three digits, all but
 *   the last prefixed by `x` (`x001/x234/067`), as tlog-tiles names them.
 *
 * Pure: fetching is the caller's (services/ledger/tiles.ts), which meets a missing tile as
 * MissingTileError from TileHashSource and fetches it.
 */
export const TILE_HEIGHT = 8
export const TILE_WIDTH = 256
/** Levels a tree below 2^53 leaves can have (tlog-tiles allows 0..63). */
export const MAX_TILE_LEVEL = 6

export type TileKind = 'hash' | 'entries'

export interface TileRef {
  readonly kind: TileKind
  /** Hash tiles: 0..MAX_TILE_LEVEL; entry bundles: 0 (they pair with level-0 tiles). */
  readonly level: number
  readonly index: number
  /** 1..256; 256 is a full tile. */
  readonly width: number
}

/** A tile a computation needs and was not given (the caller fetches it and tries again). */
export class MissingTileError extends CitycodeError {
  static override readonly code = 'ERR_MISSING_TILE'
  readonly tile: TileRef

  constructor (tile: TileRef) {
    super(`tile ${tilePath(tile)} is needed`, { kind: tile.kind, level: tile.level, index: tile.index, width: tile.width })
    this.tile = tile
  }
}

function pow256 (level: number): number {
  return TILE_WIDTH ** level
}

/** The width of a tile at tree size `size`: 0 when the tile holds nothing yet. */
export function tileWidth (level: number, index: number, size: number): number {
  return Math.max(0, Math.min(TILE_WIDTH, Math.floor(size / pow256(level)) - index * TILE_WIDTH))
}

function badPath (path: string, why: string): never {
  throw new InvalidTileError(`not a tile path (${why}): ${path.slice(0, 80)}`, { reason: 'path' })
}

function encodeIndex (n: number): string {
  const digits = String(n)
  const groups: string[] = []
  for (let end = digits.length; end > 0; end -= 3) groups.unshift(digits.slice(Math.max(0, end - 3), end).padStart(3, '0'))
  return groups.map((g, i) => i < groups.length - 1 ? `x${g}` : g).join('/')
}

export function tilePath (t: TileRef): string {
  const kind = t.kind === 'entries' ? 'entries' : String(t.level)
  return `tile/${kind}/${encodeIndex(t.index)}${t.width < TILE_WIDTH ? `.p/${t.width}` : ''}`
}

/** The tile a path names (`tile/...`, as tilePath writes it: the one spelling of each tile); InvalidTileError otherwise. */
export function parseTilePath (path: string): TileRef {
  if (path.length > 128) badPath(path, 'too long')
  const parts = path.split('/')
  if (parts[0] !== 'tile' || parts.length < 3) badPath(path, 'shape')
  const kindPart = parts[1] as string
  let kind: TileKind
  let level = 0
  if (kindPart === 'entries') kind = 'entries'
  else if (/^[0-9]$/.test(kindPart) && Number(kindPart) <= MAX_TILE_LEVEL) {
    kind = 'hash'
    level = Number(kindPart)
  } else return badPath(path, 'level')
  let rest = parts.slice(2)
  let width = TILE_WIDTH
  if (rest.length >= 2 && (rest.at(-2) as string).endsWith('.p')) {
    const w = rest.at(-1) as string
    if (!/^[1-9][0-9]{0,2}$/.test(w) || Number(w) >= TILE_WIDTH) badPath(path, 'width')
    width = Number(w)
    rest = [...rest.slice(0, -2), (rest.at(-2) as string).slice(0, -2)]
  }
  for (let i = 0; i < rest.length; i++) {
    const last = i === rest.length - 1
    if (!(last ? /^[0-9]{3}$/ : /^x[0-9]{3}$/).test(rest[i] as string)) badPath(path, 'index')
  }
  const index = Number(rest.map(g => g.replace('x', '')).join(''))
  if (!Number.isSafeInteger(index) || index * pow256(level + 1) > Number.MAX_SAFE_INTEGER) badPath(path, 'index')
  const ref: TileRef = { kind, level, index, width }
  if (tilePath(ref) !== path) badPath(path, 'not canonical')
  return ref
}

/**
 * The hashes of a hash tile, concatenated (width * 32 bytes), from a source that holds the tree up
 * to `size`. A partial tile narrower than its width at `size` is the tile of an earlier tree (its
 * hashes are a prefix of today's), so it can be served too.
 */
export function hashTile (source: LeafHashSource, ref: TileRef, size: number): Uint8Array {
  checkServable(ref, size)
  const out = new Uint8Array(ref.width * HASH_BYTES)
  const height = ref.level * TILE_HEIGHT
  for (let j = 0; j < ref.width; j++) {
    const at = ref.index * TILE_WIDTH + j
    out.set(height === 0 ? source.leafHash(at) : perfect(source, height, at), j * HASH_BYTES)
  }
  return out
}

function perfect (source: LeafHashSource, height: number, index: number): Uint8Array {
  if (source.perfectSubtreeHash !== undefined) return source.perfectSubtreeHash(height, index)
  const width = 2 ** height
  return rootAt({ size: (index + 1) * width, leafHash: (i) => source.leafHash(i + index * width) }, width)
}

/** InvalidTileError unless the tile, at this width, is part of the tree of `size` leaves or of an earlier one. */
export function checkServable (ref: TileRef, size: number): void {
  const w = tileWidth(ref.level, ref.index, size)
  if (ref.width < 1 || ref.width > w) throw new InvalidTileError(`tile ${tilePath(ref)} is not in a tree of ${size} (its width there is ${w})`, { reason: 'size', size, width: w })
}

/** InvalidTileError unless the tile exists at `size` with exactly this width (a full tile: at least 256 there). */
export function checkWidth (ref: TileRef, size: number): void {
  const w = tileWidth(ref.level, ref.index, size)
  if (ref.width !== w) {
    throw new InvalidTileError(`tile ${tilePath(ref)} does not exist in a tree of ${size} (its width there is ${w})`, { reason: w === 0 ? 'size' : 'width', size, width: w })
  }
}

/** An entry bundle: each leaf prefixed by its length (big-endian uint16). */
export function encodeEntryBundle (leaves: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(leaves.reduce((n, l) => n + 2 + l.length, 0))
  let at = 0
  for (const leaf of leaves) {
    out[at] = leaf.length >> 8
    out[at + 1] = leaf.length & 0xff
    out.set(leaf, at + 2)
    at += 2 + leaf.length
  }
  return out
}

/** The leaves of a bundle of `width` entries; InvalidTileError (`bundle`) for anything else. */
export function decodeEntryBundle (bytes: Uint8Array, width: number): Uint8Array[] {
  const leaves: Uint8Array[] = []
  let at = 0
  while (at < bytes.length) {
    if (at + 2 > bytes.length || leaves.length === width) throw new InvalidTileError('entry bundle is longer than its width', { reason: 'bundle' })
    const n = ((bytes[at] as number) << 8) | (bytes[at + 1] as number)
    if (n === 0 || n > LEAF_MAX_BYTES || at + 2 + n > bytes.length) throw new InvalidTileError('entry bundle holds a bad length', { reason: 'bundle', at })
    leaves.push(bytes.subarray(at + 2, at + 2 + n))
    at += 2 + n
  }
  if (leaves.length !== width) throw new InvalidTileError(`entry bundle holds ${leaves.length} entries, ${width} expected`, { reason: 'bundle' })
  return leaves
}

function tileHash (tile: Uint8Array, j: number): Uint8Array {
  return tile.subarray(j * HASH_BYTES, (j + 1) * HASH_BYTES)
}

/** MTH of `count` (a power of two) consecutive hashes of a tile from `from`. */
function foldTile (tile: Uint8Array, from: number, count: number): Uint8Array {
  if (count === 1) return tileHash(tile, from)
  const half = count / 2
  return nodeHash(foldTile(tile, from, half), foldTile(tile, from + half, half))
}

/** The root of a full tile: the hash of the complete subtree of 256^(L+1) leaves it covers. */
export function fullTileRoot (tile: Uint8Array): Uint8Array {
  if (tile.length !== TILE_WIDTH * HASH_BYTES) throw new InvalidTileError('only a full tile has a root', { reason: 'width' })
  return foldTile(tile, 0, TILE_WIDTH)
}

const key = (level: number, index: number): string => `${level}/${index}`

/**
 * The tree of `size` leaves seen through the hash tiles given so far: a LeafHashSource, so every
 * proof and root function of merkle.ts and proofs.ts runs on tiles unchanged. A subtree of height
 * h is the fold of 2^(h mod 8) hashes of one tile at level floor(h / 8); a tile not given yet is
 * a MissingTileError naming it (with its width at `size`).
 */
export class TileHashSource implements LeafHashSource {
  readonly size: number
  readonly #tiles = new Map<string, Uint8Array>()

  constructor (size: number) {
    this.size = size
  }

  /** Adds a hash tile, which must have its width at this size. */
  add (ref: TileRef, data: Uint8Array): void {
    checkWidth(ref, this.size)
    if (ref.kind !== 'hash' || data.length !== ref.width * HASH_BYTES) throw new InvalidTileError(`tile ${tilePath(ref)} must be ${ref.width * HASH_BYTES} bytes of hashes`, { reason: 'width' })
    this.#tiles.set(key(ref.level, ref.index), data)
  }

  tile (level: number, index: number): Uint8Array | undefined {
    return this.#tiles.get(key(level, index))
  }

  leafHash (index: number): Uint8Array {
    return this.perfectSubtreeHash(0, index)
  }

  perfectSubtreeHash (height: number, index: number): Uint8Array {
    const level = Math.floor(height / TILE_HEIGHT)
    const count = 2 ** (height % TILE_HEIGHT)
    const first = index * count
    const tileIndex = Math.floor(first / TILE_WIDTH)
    if ((first + count) * pow256(level) > this.size) throw new InvalidProofError(`no complete subtree ${index} of height ${height} in a tree of ${this.size}`, { reason: 'index-out-of-range' })
    const tile = this.#tiles.get(key(level, tileIndex))
    if (tile === undefined) throw new MissingTileError({ kind: 'hash', level, index: tileIndex, width: tileWidth(level, tileIndex, this.size) })
    return foldTile(tile, first % TILE_WIDTH, count)
  }
}

/**
 * Checks that a hash tile belongs to the tree of `size` leaves with `root`, from the tiles in
 * `source`: each full tile on the way up hashes to its entry in its parent tile, up to a partial
 * (right-edge) tile, and the root rebuilt from the tiles is the signed root (it folds every hash of
 * every right-edge tile, so the chain is anchored). Throws InvalidTileError (`parent-mismatch`,
 * `root-mismatch`) or MissingTileError for a tile still to fetch.
 */
export function verifyTile (source: TileHashSource, ref: TileRef, root: Uint8Array): void {
  checkWidth(ref, source.size)
  let level = ref.level
  let index = ref.index
  let tile = source.tile(level, index)
  if (tile === undefined) throw new MissingTileError({ ...ref, kind: 'hash' })
  while (tile.length === TILE_WIDTH * HASH_BYTES) {
    const parentIndex = Math.floor(index / TILE_WIDTH)
    const parent = source.tile(level + 1, parentIndex)
    if (parent === undefined) throw new MissingTileError({ kind: 'hash', level: level + 1, index: parentIndex, width: tileWidth(level + 1, parentIndex, source.size) })
    const expected = tileHash(parent, index % TILE_WIDTH)
    const got = fullTileRoot(tile)
    if (!equal(expected, got)) throw new InvalidTileError(`tile ${level}/${index} does not hash to its entry in tile ${level + 1}/${parentIndex}`, { reason: 'parent-mismatch', level, index })
    level++
    index = parentIndex
    tile = parent
  }
  const rebuilt = rootAt(source, source.size)
  if (!equal(rebuilt, root)) throw new InvalidTileError(`the tiles do not make the signed root of size ${source.size}`, { reason: 'root-mismatch', size: source.size })
}

/** InvalidTileError (`bundle`) unless the bundle's leaves hash to the level-0 tile of the same index. */
export function verifyEntryBundle (leaves: readonly Uint8Array[], levelZeroTile: Uint8Array): void {
  if (levelZeroTile.length !== leaves.length * HASH_BYTES) throw new InvalidTileError('entry bundle and its tile differ in width', { reason: 'bundle' })
  leaves.forEach((leaf, j) => {
    if (!equal(leafHash(leaf), tileHash(levelZeroTile, j))) throw new InvalidTileError(`entry ${j} of the bundle is not the leaf its tile holds`, { reason: 'bundle', position: j })
  })
}

function equal (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * A checkpoint (a verified signed head) that a reader following the log may take after the one it
 * holds: not smaller (CheckpointRollbackError: the log's node, or a cache in front of it, serves an
 * older tree than it already showed), of the same root at the same size (InconsistentTreeError: a
 * fork), and extending it by `proof` (built from tiles; InvalidProofError or InconsistentTreeError).
 * Both heads must already be verified under the log's key.
 */
export function checkCheckpoint (held: Pick<TreeHead, 'log' | 'size' | 'root'>, next: Pick<TreeHead, 'log' | 'size' | 'root'>, proof: readonly Uint8Array[]): void {
  if (held.log !== next.log) throw new InvalidProofError(`checkpoint of ${next.log}, the held one is of ${held.log}`, { reason: 'bad-query' })
  if (next.size < held.size) throw new CheckpointRollbackError(`checkpoint of ${next.size} entries, after one of ${held.size}`, { log: next.log, size: next.size, held: held.size })
  if (next.size === held.size) {
    if (!equal(held.root, next.root)) throw new InconsistentTreeError(`two checkpoints of ${next.size} entries with different roots`, { oldSize: held.size, newSize: next.size })
    return
  }
  verifyConsistency(held.size, next.size, held.root, next.root, proof)
}
