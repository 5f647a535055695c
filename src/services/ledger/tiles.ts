import type { AbortOptions } from '@libp2p/interface'
import { InvalidTileError } from '../../core/ledger/errors.ts'
import { HASH_BYTES } from '../../core/ledger/merkle.ts'
import { consistencyProof, inclusionProof, verifyInclusion } from '../../core/ledger/proofs.ts'
import {
  checkServable, decodeEntryBundle, MissingTileError, TILE_WIDTH, TileHashSource, tilePath, tileWidth, verifyEntryBundle, verifyTile
} from '../../core/ledger/tiles.ts'
import type { TileRef } from '../../core/ledger/tiles.ts'
import type { TreeHead } from '../../core/ledger/tree-head.ts'

/** Verified full tiles kept per reader (8 KiB each): they never change, so they are never fetched twice. */
export const DEFAULT_TILE_CACHE_TILES = 2048
/** Tiles one computation may fetch: a proof needs a few per level, a check of one tile a few more. */
const MAX_TILE_FETCHES = 64

/** Fetches one tile (unverified) from whoever serves it: the log's node, a mirror, a CDN. */
export type FetchTile = (ref: TileRef, options: AbortOptions) => Promise<Uint8Array>

/**
 * One log read as tiles, every tile checked before it is used or handed on: a hash tile through
 * its parents to the signed root (core verifyTile), an entry bundle against its level-0 tile, a
 * proof against the head it is built for. Verified full tiles are kept (they are immutable), so a
 * gateway in front of a log's node answers repeated tile requests without asking it again.
 */
export class TileReader {
  readonly log: string
  readonly #fetch: FetchTile
  readonly #full = new Map<string, Uint8Array>()
  readonly #maxTiles: number
  #fetched = 0

  constructor (log: string, fetch: FetchTile, maxTiles = DEFAULT_TILE_CACHE_TILES) {
    this.log = log
    this.#fetch = fetch
    this.#maxTiles = maxTiles
  }

  /** Tiles fetched so far (a checked full tile is fetched once). */
  get fetched (): number {
    return this.#fetched
  }

  /** A verified full tile held already; undefined otherwise. */
  cached (ref: TileRef): Uint8Array | undefined {
    return ref.width === TILE_WIDTH ? this.#full.get(`${ref.kind}/${ref.level}/${ref.index}`) : undefined
  }

  /** Runs `fn` over the tree of `head.size` seen through tiles, fetching each tile it asks for. */
  async run<T> (size: number, fn: (source: TileHashSource) => T, options: AbortOptions = {}, source = new TileHashSource(size)): Promise<T> {
    for (let fetches = 0; ; fetches++) {
      try {
        return fn(source)
      } catch (err) {
        if (!(err instanceof MissingTileError) || fetches >= MAX_TILE_FETCHES) throw err
        source.add(err.tile, this.cached(err.tile) ?? await this.#fetchOne(err.tile, options))
      }
    }
  }

  /** A hash tile of the tree under `head`, checked against its root (a narrower partial tile: the prefix of today's). */
  async hashTile (ref: TileRef, head: Pick<TreeHead, 'size' | 'root'>, options: AbortOptions = {}): Promise<Uint8Array> {
    checkServable(ref, head.size)
    const hit = this.cached(ref)
    if (hit !== undefined) return hit
    const current: TileRef = { ...ref, width: tileWidth(ref.level, ref.index, head.size) }
    const source = new TileHashSource(head.size)
    source.add(current, await this.#fetchOne(current, options))
    await this.run(head.size, (s) => { verifyTile(s, current, head.root) }, options, source)
    // every full tile in the source lies on the checked path from `current` up
    for (let level = ref.level; level <= ref.level + 8; level++) {
      const index = Math.floor(ref.index / TILE_WIDTH ** (level - ref.level))
      const tile = source.tile(level, index)
      if (tile?.length === TILE_WIDTH * HASH_BYTES) this.#keep({ kind: 'hash', level, index, width: TILE_WIDTH }, tile)
    }
    return (source.tile(current.level, current.index) as Uint8Array).slice(0, ref.width * HASH_BYTES)
  }

  /** An entry bundle of the tree under `head`, checked against its (checked) level-0 tile. */
  async entryBundle (ref: TileRef, head: Pick<TreeHead, 'size' | 'root'>, options: AbortOptions = {}): Promise<Uint8Array> {
    checkServable(ref, head.size)
    const hit = this.cached(ref)
    if (hit !== undefined) return hit
    const hashes = await this.hashTile({ kind: 'hash', level: 0, index: ref.index, width: ref.width }, head, options)
    const bundle = await this.#fetch(ref, options)
    this.#fetched++
    verifyEntryBundle(decodeEntryBundle(bundle, ref.width), hashes)
    if (ref.width === TILE_WIDTH) this.#keep(ref, bundle)
    return bundle
  }

  /** The inclusion proof of leaf `index` under `head`, built from tiles and checked against the head's root. */
  async inclusionProof (index: number, head: Pick<TreeHead, 'size' | 'root'>, options: AbortOptions = {}): Promise<{ leafHash: Uint8Array, proof: Uint8Array[] }> {
    const { leaf, proof } = await this.run(head.size, (s) => ({ leaf: s.leafHash(index), proof: inclusionProof(s, index, head.size) }), options)
    verifyInclusion(leaf, index, head.size, proof, head.root)
    return { leafHash: leaf, proof }
  }

  /** The RFC 9162 consistency proof from `oldSize` to `head.size`, built from tiles (check it with checkCheckpoint or verifyConsistency). */
  async consistencyProof (oldSize: number, head: Pick<TreeHead, 'size'>, options: AbortOptions = {}): Promise<Uint8Array[]> {
    return await this.run(head.size, (s) => consistencyProof(s, oldSize, head.size), options)
  }

  /** The leaves of entries [from, to) under `head`, each checked (bundles against tiles against the root). */
  async leaves (from: number, to: number, head: Pick<TreeHead, 'size' | 'root'>, options: AbortOptions = {}): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    for (let n = Math.floor(from / TILE_WIDTH); n * TILE_WIDTH < to; n++) {
      const width = tileWidth(0, n, head.size)
      const bundle = decodeEntryBundle(await this.entryBundle({ kind: 'entries', level: 0, index: n, width }, head, options), width)
      for (let j = 0; j < bundle.length; j++) {
        const i = n * TILE_WIDTH + j
        if (i >= from && i < to) out.push(bundle[j] as Uint8Array)
      }
    }
    return out
  }

  async #fetchOne (ref: TileRef, options: AbortOptions): Promise<Uint8Array> {
    const data = await this.#fetch(ref, options)
    this.#fetched++
    if (data.length !== ref.width * HASH_BYTES) throw new InvalidTileError(`tile ${tilePath(ref)} of ${this.log} was served with ${data.length} bytes`, { reason: 'width', log: this.log })
    return data
  }

  #keep (ref: TileRef, data: Uint8Array): void {
    const key = `${ref.kind}/${ref.level}/${ref.index}`
    if (this.#full.has(key)) return
    if (this.#full.size >= this.#maxTiles) this.#full.delete(this.#full.keys().next().value as string)
    this.#full.set(key, data)
  }
}

