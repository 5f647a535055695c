import assert from 'node:assert/strict'
import { MemoryDatastore } from 'datastore-core'
import { sha256 } from '../../../src/core/crypto/hash.ts'
import type { LedgerEntry } from '../../../src/core/ledger/log.ts'
import { checkCheckpoint, encodeEntryBundle, hashTile, tileWidth } from '../../../src/core/ledger/tiles.ts'
import type { TileRef } from '../../../src/core/ledger/tiles.ts'
import { TileReader } from '../../../src/services/ledger/tiles.ts'
import { LedgerStore } from '../../../src/storage/ledger-store.ts'
import { NOW } from '../../utils/fixtures.ts'

const CITY = 'MA.156.1301'

async function honestLog (size: number): Promise<LedgerStore> {
  const store = await LedgerStore.open(new MemoryDatastore())
  const entries: LedgerEntry[] = []
  for (let i = 0; i < size; i++) entries.push({ type: 'allocation', code: `${CITY}.${String(i + 1).padStart(2, '0')}`, time: NOW + i, object: sha256(new Uint8Array([i & 0xff, i >> 8])) })
  await store.append(entries)
  return store
}

type Tamper = (ref: TileRef, data: Uint8Array) => Uint8Array

/** A reader whose tiles come from `store` through `tamper` (a node, mirror or cache that lies), counting requests. */
function readerOf (store: LedgerStore, size: number, tamper: Tamper = (_r, d) => d): { reader: TileReader, asked: string[] } {
  const asked: string[] = []
  const reader = new TileReader(CITY, async (ref) => {
    asked.push(`${ref.kind}/${ref.level}/${ref.index}/${ref.width}`)
    const data = ref.kind === 'hash'
      ? hashTile(store, ref, size)
      : encodeEntryBundle(await store.entries(ref.index * 256, ref.index * 256 + ref.width))
    return tamper(ref, data)
  })
  return { reader, asked }
}

const flipAt = (match: (ref: TileRef) => boolean, byte = 7): Tamper => (ref, data) => {
  if (!match(ref)) return data
  const copy = data.slice()
  copy[byte] = (copy[byte] as number) ^ 0x40
  return copy
}

const tileError = (reason: string) => (err: unknown): boolean => {
  assert.equal((err as Error).name, 'InvalidTileError')
  assert.equal((err as { details: { reason: string } }).details.reason, reason)
  return true
}

describe('TileReader: a log read from tiles a node serves, each checked', () => {
  const SIZE = 5000
  let store: LedgerStore
  let head: { size: number, root: Uint8Array }
  before(async () => {
    store = await honestLog(SIZE)
    head = { size: SIZE, root: store.root() }
  })

  it('checks tiles and bundles against the root, builds proofs from tiles, and never fetches a checked full tile twice', async () => {
    const { reader, asked } = readerOf(store, SIZE)
    const ref: TileRef = { kind: 'hash', level: 0, index: 7, width: 256 }
    assert.deepEqual(await reader.hashTile(ref, head), hashTile(store, ref, SIZE))
    const first = asked.length
    await reader.hashTile(ref, head)
    assert.equal(asked.length, first, 'from the checked cache')
    // an earlier, narrower edge tile: the prefix of today's
    const edge = Math.floor(SIZE / 256)
    assert.deepEqual(await reader.hashTile({ kind: 'hash', level: 0, index: edge, width: 3 }, head), hashTile(store, { kind: 'hash', level: 0, index: edge, width: 3 }, SIZE))
    const leaves = await reader.leaves(250, 262, head)
    assert.deepEqual(leaves, await store.entries(250, 262))
    const { proof } = await reader.inclusionProof(4999, head)
    assert.deepEqual(proof, store.inclusionProof(4999))
    const consistency = await reader.consistencyProof(1234, head)
    checkCheckpoint({ log: CITY, size: 1234, root: store.root(1234) }, { log: CITY, size: SIZE, root: head.root }, consistency)
    await assert.rejects(reader.hashTile({ kind: 'hash', level: 0, index: edge + 1, width: 1 }, head), tileError('size'))
  })

  it('a tile that does not hash to its parent, a forged edge, a forged bundle or a short tile is refused, typed', async () => {
    const full: TileRef = { kind: 'hash', level: 0, index: 2, width: 256 }
    const edgeIndex = Math.floor(SIZE / 256)
    const edge: TileRef = { kind: 'hash', level: 0, index: edgeIndex, width: tileWidth(0, edgeIndex, SIZE) }
    await assert.rejects(readerOf(store, SIZE, flipAt(r => r.level === 0 && r.index === 2)).reader.hashTile(full, head), tileError('parent-mismatch'))
    await assert.rejects(readerOf(store, SIZE, flipAt(r => r.level === 0 && r.index === edgeIndex)).reader.hashTile(edge, head), tileError('root-mismatch'))
    // a parent tile (the top level here) that lies about tile 2
    await assert.rejects(readerOf(store, SIZE, flipAt(r => r.level === 1, 2 * 32 + 1)).reader.hashTile(full, head), tileError('parent-mismatch'))
    await assert.rejects(readerOf(store, SIZE, flipAt(r => r.kind === 'entries', 40)).reader.entryBundle({ kind: 'entries', level: 0, index: 2, width: 256 }, head), tileError('bundle'))
    await assert.rejects(readerOf(store, SIZE, (_r, d) => d.subarray(0, d.length - 32)).reader.hashTile(full, head), tileError('width'))
    // a wrong root (a checkpoint the tiles do not make)
    await assert.rejects(readerOf(store, SIZE).reader.hashTile(full, { size: SIZE, root: store.root(SIZE - 1) }), tileError('root-mismatch'))
    // nothing was cached from the refused reads
    const { reader, asked } = readerOf(store, SIZE, flipAt(r => r.level === 0 && r.index === 2))
    await assert.rejects(reader.hashTile(full, head))
    assert.equal(reader.cached(full), undefined)
    assert.ok(asked.length > 0)
  })
})
