import assert from 'node:assert/strict'
import { sha256, toHex } from '../../../src/core/crypto/hash.ts'
import { MerkleLog } from '../../../src/core/ledger/log.ts'
import { encodeEntryBundle, hashTile, parseTilePath, tilePath, tileWidth, TileHashSource } from '../../../src/core/ledger/tiles.ts'
import type { TileRef } from '../../../src/core/ledger/tiles.ts'
import { rootAt } from '../../../src/core/ledger/merkle.ts'
import { loadVector } from '../../utils/vectors.ts'
import { errorName } from '../../utils/errors.ts'

interface Tiles {
  tree: { size: number, root: string }
  widths: Array<{ level: number, index: number, width: number }>
  tiles: Array<TileRef & { path: string, bytes: number, sha256: string }>
  paths: Array<{ path: string, result: string, tile?: TileRef }>
}

describe('tile vectors (test/vectors/tiles.json)', () => {
  const v = loadVector<Tiles>('tiles.json')
  const log = new MerkleLog()
  const leaves: Uint8Array[] = []
  for (let i = 0; i < v.tree.size; i++) {
    const leaf = new Uint8Array([i >>> 24, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff])
    leaves.push(leaf)
    log.appendLeaf(leaf)
  }

  it('paths name the tiles they say, or fail as they say', () => {
    for (const c of v.paths) {
      assert.equal(errorName(() => parseTilePath(c.path)) ?? 'valid', c.result, c.path)
      if (c.tile !== undefined) assert.deepEqual(parseTilePath(c.path), c.tile)
    }
  })

  it('tiles of the tree hash as given, and the root folded from the top tiles is the tree\'s', () => {
    assert.equal(toHex(log.root()), v.tree.root)
    for (const w of v.widths) assert.equal(tileWidth(w.level, w.index, v.tree.size), w.width)
    for (const t of v.tiles) {
      assert.equal(tilePath(t), t.path)
      const bytes = t.kind === 'hash' ? hashTile(log, t, v.tree.size) : encodeEntryBundle(leaves.slice(t.index * 256, t.index * 256 + t.width))
      assert.equal(bytes.length, t.bytes, t.path)
      assert.equal(toHex(sha256(bytes)), t.sha256, t.path)
    }
    // the right-edge tiles alone make the root
    const source = new TileHashSource(v.tree.size)
    for (const ref of [{ kind: 'hash', level: 2, index: 0, width: 1 }, { kind: 'hash', level: 1, index: 1, width: 17 }, { kind: 'hash', level: 0, index: 273, width: 112 }] as const) source.add(ref, hashTile(log, ref, v.tree.size))
    assert.equal(toHex(rootAt(source, v.tree.size)), v.tree.root)
  })
})
