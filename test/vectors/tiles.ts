import { sha256, toHex } from '../../src/core/crypto/hash.ts'
import { MerkleLog } from '../../src/core/ledger/log.ts'
import { encodeEntryBundle, hashTile, parseTilePath, tilePath, tileWidth } from '../../src/core/ledger/tiles.ts'
import type { TileRef } from '../../src/core/ledger/tiles.ts'
import { errorName } from '../utils/errors.ts'

/**
 * Tile vectors (docs/spec/ledger.md section 7): tile paths with the tile they name or the error,
 * and the tiles of a deterministic tree of 70,000 leaves (three levels) given by their SHA-256, so
 * another implementation can check its tiling without this file carrying megabytes of hashes.
 */
export function tileVectors (): unknown {
  const size = 70_000
  const log = new MerkleLog()
  const leaves: Uint8Array[] = []
  for (let i = 0; i < size; i++) {
    // leaf i: the 4 bytes of i, big-endian (raw leaves: the tiling does not depend on their encoding)
    const leaf = new Uint8Array([i >>> 24, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff])
    leaves.push(leaf)
    log.appendLeaf(leaf)
  }
  const tiles: TileRef[] = [
    { kind: 'hash', level: 0, index: 0, width: 256 },
    { kind: 'hash', level: 0, index: 273, width: 112 },
    { kind: 'hash', level: 1, index: 0, width: 256 },
    { kind: 'hash', level: 1, index: 1, width: 17 },
    { kind: 'hash', level: 2, index: 0, width: 1 },
    { kind: 'hash', level: 0, index: 273, width: 5 },
    { kind: 'entries', level: 0, index: 0, width: 256 },
    { kind: 'entries', level: 0, index: 273, width: 112 }
  ]
  const paths = ['tile/0/000', 'tile/1/x001/234.p/17', 'tile/entries/x001/x234/067', 'tile/0/1', 'tile/0/x000/001', 'tile/0/000.p/256', 'tile/0/000.p/0', 'tile/7/000', 'tile/entries/000.p']
  return {
    tree: { size, leaf: 'leaf i is the 4-byte big-endian encoding of i', root: toHex(log.root()) },
    widths: [[0, 273], [1, 1], [2, 0], [2, 1]].map(([level, index]) => ({ level, index, width: tileWidth(level as number, index as number, size) })),
    tiles: tiles.map(t => {
      const bytes = t.kind === 'hash' ? hashTile(log, t, size) : encodeEntryBundle(leaves.slice(t.index * 256, t.index * 256 + t.width))
      return { path: tilePath(t), ...t, bytes: bytes.length, sha256: toHex(sha256(bytes)) }
    }),
    paths: paths.map(path => {
      const result = errorName(() => parseTilePath(path)) ?? 'valid'
      return result === 'valid' ? { path, result, tile: parseTilePath(path) } : { path, result }
    })
  }
}
