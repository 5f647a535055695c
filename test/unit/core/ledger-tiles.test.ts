import assert from 'node:assert/strict'
import { sha256 } from '../../../src/core/crypto/hash.ts'
import { MerkleLog } from '../../../src/core/ledger/log.ts'
import { consistencyProof, inclusionProof, verifyInclusion } from '../../../src/core/ledger/proofs.ts'
import {
  checkCheckpoint, decodeEntryBundle, encodeEntryBundle, fullTileRoot, hashTile, MissingTileError, parseTilePath, TileHashSource, tilePath, tileWidth, verifyEntryBundle, verifyTile
} from '../../../src/core/ledger/tiles.ts'
import type { TileRef } from '../../../src/core/ledger/tiles.ts'

// past 256^2 leaves, so the tree has three tile levels
const SIZE = 65_536 + 3 * 256 + 17
const log = new MerkleLog()
const leaves: Uint8Array[] = []
for (let i = 0; i < SIZE; i++) {
  const leaf = sha256(new Uint8Array([i & 0xff, (i >> 8) & 0xff, i >> 16]))
  leaves.push(leaf)
  log.appendLeaf(leaf)
}

/** Runs `fn` over tiles of the honest log (or `tamper`ed ones), fetching each tile it asks for; returns it with the tiles fetched. */
function onTiles<T> (size: number, fn: (source: TileHashSource) => T, tamper: (ref: TileRef, data: Uint8Array) => Uint8Array = (_r, d) => d, seed: TileRef[] = []): { value: T, fetched: string[] } {
  const source = new TileHashSource(size)
  const fetched: string[] = []
  for (const ref of seed) source.add(ref, tamper(ref, hashTile(log, ref, size)))
  for (let tries = 0; tries < 64; tries++) {
    try {
      return { value: fn(source), fetched }
    } catch (err) {
      if (!(err instanceof MissingTileError)) throw err
      fetched.push(tilePath(err.tile))
      source.add(err.tile, tamper(err.tile, hashTile(log, err.tile, size)))
    }
  }
  throw new Error('too many tiles')
}

const tileError = (reason: string) => (err: unknown): boolean => {
  assert.equal((err as Error).name, 'InvalidTileError')
  assert.equal((err as { code: string }).code, 'ERR_INVALID_TILE')
  assert.equal((err as { details: { reason: string } }).details.reason, reason)
  return true
}

describe('logs as tiles (C2SP tlog-tiles layout)', () => {
  it('names tiles as tlog-tiles does, one spelling each, and refuses every other path', () => {
    const cases: Array<[TileRef, string]> = [
      [{ kind: 'hash', level: 0, index: 0, width: 256 }, 'tile/0/000'],
      [{ kind: 'hash', level: 1, index: 1234, width: 17 }, 'tile/1/x001/234.p/17'],
      [{ kind: 'entries', level: 0, index: 1_234_067, width: 256 }, 'tile/entries/x001/x234/067'],
      [{ kind: 'hash', level: 2, index: 5, width: 1 }, 'tile/2/005.p/1']
    ]
    for (const [ref, path] of cases) {
      assert.equal(tilePath(ref), path)
      assert.deepEqual(parseTilePath(path), ref)
    }
    for (const bad of ['tile/0/1', 'tile/0/x000/001', 'tile/0/001/x002', 'tile/0/000.p/256', 'tile/0/000.p/0', 'tile/0/000.p/07', 'tile/7/000', 'tile/-1/000',
      'tiles/0/000', 'tile/0', 'tile/0/000/', 'tile/entries/000.p', `tile/0/${'x000/'.repeat(30)}000`]) {
      assert.throws(() => parseTilePath(bad), tileError('path'), bad)
    }
    assert.equal(tileWidth(0, 256, SIZE), 256)
    assert.equal(tileWidth(0, Math.floor(SIZE / 256), SIZE), 17)
    assert.equal(tileWidth(1, 1, SIZE), 3)
    assert.equal(tileWidth(2, 0, SIZE), 1)
    assert.equal(tileWidth(2, 1, SIZE), 0)
  })

  it('inclusion and consistency proofs and roots built from a few tiles equal the log\'s own', () => {
    for (const [index, size] of [[0, SIZE], [SIZE - 1, SIZE], [40_000, SIZE], [300, 66_000], [65_535, 65_536]] as const) {
      const { value, fetched } = onTiles(size, (s) => inclusionProof(s, index, size))
      assert.deepEqual(value, log.inclusionProof(index, size))
      assert.ok(fetched.length <= 8, `${fetched.length} tiles for one proof: ${fetched.join(' ')}`)
      verifyInclusion(log.leafHash(index), index, size, value, log.root(size))
    }
    for (const [oldSize, newSize] of [[1000, SIZE], [65_536, SIZE], [SIZE - 1, SIZE], [7, 300]] as const) {
      assert.deepEqual(onTiles(newSize, (s) => consistencyProof(s, oldSize, newSize)).value, log.consistencyProof(oldSize, newSize))
    }
    assert.deepEqual(onTiles(SIZE, (s) => s.perfectSubtreeHash(16, 0)).value, log.perfectSubtreeHash(16, 0))
  })

  it('a tile is checked against the signed root through its parents; one that does not hash to its parent, or a forged edge, is refused', () => {
    const root = log.root(SIZE)
    const full: TileRef = { kind: 'hash', level: 0, index: 100, width: 256 }
    const edge: TileRef = { kind: 'hash', level: 0, index: Math.floor(SIZE / 256), width: 17 }
    for (const ref of [full, edge, { kind: 'hash', level: 1, index: 0, width: 256 } as const, { kind: 'hash', level: 2, index: 0, width: 1 } as const]) {
      onTiles(SIZE, (s) => { verifyTile(s, ref, root) }, undefined, [ref])
    }
    const flip = (target: TileRef) => (ref: TileRef, data: Uint8Array): Uint8Array => {
      if (ref.level !== target.level || ref.index !== target.index) return data
      const copy = data.slice()
      copy[5] = (copy[5] as number) ^ 1
      return copy
    }
    assert.throws(() => onTiles(SIZE, (s) => { verifyTile(s, full, root) }, flip(full), [full]), tileError('parent-mismatch'))
    assert.throws(() => onTiles(SIZE, (s) => { verifyTile(s, edge, root) }, flip(edge), [edge]), tileError('root-mismatch'))
    // a liar who also rewrote the parent's entry is caught one level up; one who rewrote every level, at the root
    const forgedChild = flip(full)({ ...full }, hashTile(log, full, SIZE))
    const forgedParent = hashTile(log, { kind: 'hash', level: 1, index: 0, width: 256 }, SIZE)
    forgedParent.set(fullTileRoot(forgedChild), full.index * 32)
    const forgedTop = hashTile(log, { kind: 'hash', level: 2, index: 0, width: 1 }, SIZE)
    forgedTop.set(fullTileRoot(forgedParent), 0)
    const liar = (levels: number) => (ref: TileRef, data: Uint8Array): Uint8Array => {
      if (ref.level === 0 && ref.index === full.index) return forgedChild
      if (levels >= 1 && ref.level === 1 && ref.index === 0) return forgedParent
      if (levels >= 2 && ref.level === 2 && ref.index === 0) return forgedTop
      return data
    }
    assert.throws(() => onTiles(SIZE, (s) => { verifyTile(s, full, root) }, liar(1), [full]), (err: Error & { details?: { level?: number } }) => tileError('parent-mismatch')(err) && err.details?.level === 1)
    assert.throws(() => onTiles(SIZE, (s) => { verifyTile(s, full, root) }, liar(2), [full]), tileError('root-mismatch'))
    // a tile of the wrong width for the tree
    assert.throws(() => { new TileHashSource(SIZE).add({ ...edge, width: 16 }, new Uint8Array(16 * 32)) }, tileError('width'))
    assert.throws(() => { new TileHashSource(SIZE).add({ ...full, index: 10_000 }, new Uint8Array(256 * 32)) }, tileError('size'))
  })

  it('entry bundles frame the leaves and must match their level-0 tile', () => {
    const ref: TileRef = { kind: 'hash', level: 0, index: 3, width: 256 }
    const bundle = encodeEntryBundle(leaves.slice(768, 1024))
    const decoded = decodeEntryBundle(bundle, 256)
    assert.deepEqual(decoded, leaves.slice(768, 1024))
    verifyEntryBundle(decoded, hashTile(log, ref, SIZE))
    const swapped = [...decoded]
    swapped[10] = decoded[11] as Uint8Array
    assert.throws(() => { verifyEntryBundle(swapped, hashTile(log, ref, SIZE)) }, tileError('bundle'))
    assert.throws(() => decodeEntryBundle(bundle, 255), tileError('bundle'))
    assert.throws(() => decodeEntryBundle(bundle.subarray(0, bundle.length - 1), 256), tileError('bundle'))
    assert.throws(() => decodeEntryBundle(new Uint8Array([0, 0]), 1), tileError('bundle'))
  })

  it('a checkpoint that goes backwards, forks, or does not extend the held one is refused, typed', () => {
    const at = (size: number): { log: string, size: number, root: Uint8Array } => ({ log: 'MA.156.1301', size, root: log.root(size) })
    checkCheckpoint(at(1000), at(SIZE), onTiles(SIZE, (s) => consistencyProof(s, 1000, SIZE)).value)
    checkCheckpoint(at(SIZE), at(SIZE), [])
    assert.throws(() => { checkCheckpoint(at(SIZE), at(1000), []) }, { name: 'CheckpointRollbackError', code: 'ERR_CHECKPOINT_ROLLBACK' })
    assert.throws(() => { checkCheckpoint(at(SIZE), { ...at(SIZE), root: log.root(SIZE - 1) }, []) }, { name: 'InconsistentTreeError' })
    assert.throws(() => { checkCheckpoint(at(999), at(SIZE), log.consistencyProof(1000, SIZE)) }, (err: Error) => ['InvalidProofError', 'InconsistentTreeError'].includes(err.name))
  })
})
