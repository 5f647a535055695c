import assert from 'node:assert/strict'
import { MemoryDatastore } from 'datastore-core'
import { encodeCbor } from '../../../src/core/codec/cbor.ts'
import type { CborMap } from '../../../src/core/codec/cbor.ts'
import { sha256 } from '../../../src/core/crypto/hash.ts'
import { encodeLeaf } from '../../../src/core/ledger/log.ts'
import type { LedgerEntry } from '../../../src/core/ledger/log.ts'
import { isDirectChild, verifyPage } from '../../../src/core/ledger/page.ts'
import type { PageItem, PageQuery } from '../../../src/core/ledger/page.ts'
import { decodeLedgerRequest, decodeLedgerResponse, encodeLedgerRequest, encodeLedgerResponse, MAX_PAGE_ITEMS_PER_REQUEST } from '../../../src/network/protocols/ledger.ts'
import { LedgerStore } from '../../../src/storage/ledger-store.ts'
import { NOW } from '../../utils/fixtures.ts'

const CITY = 'MA.156.1301'
const object = (i: number): Uint8Array => sha256(new Uint8Array([i % 256, Math.floor(i / 256)]))
const sub = (n: number): string => `${CITY}.${String(n).padStart(2, '0')}`

/** A city log: for each sub-code its allocation and its record, the city's own records between, one re-allocation. */
async function cityLog (subCodes: number): Promise<LedgerStore> {
  const store = await LedgerStore.open(new MemoryDatastore())
  const entries: LedgerEntry[] = [{ type: 'record', code: CITY, seq: 1, time: NOW, object: object(0) }]
  for (let n = 1; n <= subCodes; n++) {
    entries.push({ type: 'allocation', code: sub(n), time: NOW + n, object: object(n) })
    entries.push({ type: 'record', code: sub(n), seq: 1, time: NOW + n, object: object(n + 1000) })
    // a grandchild: not a child of the city
    if (n === 3) entries.push({ type: 'allocation', code: `${sub(3)}.01`, time: NOW + n, object: object(5000) })
  }
  entries.push({ type: 'record', code: CITY, seq: 2, time: NOW + 1, object: object(1) })
  entries.push({ type: 'allocation', code: sub(2), time: NOW + 9999, object: object(7777) })
  await store.append(entries)
  return store
}

const reason = (r: string) => (err: unknown): boolean => {
  assert.equal((err as Error).name, 'InvalidProofError')
  assert.equal((err as { details: { reason: string } }).details.reason, r)
  return true
}

describe('log pages: listings proven under a signed head (issue #20)', () => {
  it('direct children only', () => {
    assert.equal(isDirectChild('MA.156.1301.05', CITY), true)
    assert.equal(isDirectChild('MA.156.1301.05.01', CITY), false)
    assert.equal(isDirectChild('MA.156.13011', CITY), false)
    assert.equal(isDirectChild(CITY, CITY), false)
  })

  it('the store pages children (first allocation of each), a code\'s entries and ranges, from any index, with where to go on', async () => {
    const store = await cityLog(300)
    const size = store.size
    const children: string[] = []
    let from = 0
    let pages = 0
    for (;;) {
      const query: PageQuery = { of: 'children', code: CITY, from, bound: size, limit: 64 }
      const page = await store.page(query, size)
      const entries = verifyPage(page.items, page.next, query, { size, root: store.root() })
      children.push(...entries.map(e => e.entry.code))
      pages++
      if (page.next === undefined) break
      from = page.next
    }
    assert.equal(pages, Math.ceil(300 / 64))
    assert.deepEqual(children, Array.from({ length: 300 }, (_, i) => sub(i + 1)), 'each child once (its re-allocation is not listed), no grandchild')

    const history = await store.page({ of: 'code', code: CITY, from: 0, bound: size, limit: 10 }, size)
    assert.deepEqual(history.items.map(i => i.index), [0, size - 2])
    const later = await store.page({ of: 'code', code: CITY, from: 1, bound: size, limit: 10 }, size)
    assert.deepEqual(later.items.map(i => i.index), [size - 2])
    const bounded = await store.page({ of: 'code', code: CITY, from: 0, bound: size - 2, limit: 10 }, size)
    assert.deepEqual(bounded.items.map(i => i.index), [0], 'nothing at or beyond the bound')

    const range = await store.page({ of: 'range', from: 10, bound: size, limit: 5 }, size)
    assert.deepEqual(range.items.map(i => i.index), [10, 11, 12, 13, 14])
    assert.equal(range.next, 15)
    const tail = await store.page({ of: 'range', from: size - 2, bound: size, limit: 5 }, size)
    assert.equal(tail.items.length, 2)
    assert.equal(tail.next, undefined)
    await assert.rejects(store.page({ of: 'range', from: 0, bound: size + 1, limit: 5 }, size), reason('size-out-of-range'))
  })

  it('a served page that lies is refused, each lie with its reason', async () => {
    const store = await cityLog(20)
    const size = store.size
    const head = { size, root: store.root() }
    const query: PageQuery = { of: 'children', code: CITY, from: 0, bound: size, limit: 5 }
    const page = await store.page(query, size)
    assert.equal(verifyPage(page.items, page.next, query, head).length, 5)
    const items = page.items
    const swap = (i: number, item: PageItem): PageItem[] => items.map((x, j) => j === i ? item : x)
    const first = items[0] as PageItem
    // a leaf that is not the one proven at its index
    const forged = encodeLeaf({ type: 'allocation', code: sub(1), time: NOW, object: object(99) })
    assert.throws(() => verifyPage(swap(0, { ...first, leaf: forged }), page.next, query, head), reason('root-mismatch'))
    // a proven entry of another listing (a record, not an allocation)
    const record = (await store.page({ of: 'range', from: first.index + 1, bound: size, limit: 1 }, size)).items[0] as PageItem
    assert.throws(() => verifyPage([record], undefined, query, head), reason('page-mismatch'))
    assert.throws(() => verifyPage([...items].reverse(), page.next, query, head), reason('page-order'))
    assert.throws(() => verifyPage(items, page.next, { ...query, bound: size + 1 }, head), reason('bound-beyond-head'))
    assert.throws(() => verifyPage(items, page.next, { ...query, limit: 4 }, head), reason('page-too-long'))
    assert.throws(() => verifyPage(items, first.index, query, head), reason('page-next'))
    assert.throws(() => verifyPage(items, size, query, head), reason('page-next'))
    // a range with a hole, or cut short, is caught
    const rq: PageQuery = { of: 'range', from: 4, bound: size, limit: 4 }
    const range = await store.page(rq, size)
    assert.throws(() => verifyPage([range.items[0] as PageItem, ...range.items.slice(2)], range.next, rq, head), reason('page-gap'))
    assert.throws(() => verifyPage(range.items.slice(0, 3), 7, rq, head), reason('page-gap'))
    assert.throws(() => verifyPage(range.items, undefined, rq, head), reason('page-next'))
    // a proof under another tree
    assert.throws(() => verifyPage(items, page.next, query, { size, root: store.root(size - 1) }), reason('root-mismatch'))
  })

  it('get-page requests and answers round-trip and are decoded strictly', async () => {
    const requests = [
      { op: 'get-page', log: CITY, of: 'children', code: CITY, from: 0, limit: 100 },
      { op: 'get-page', log: CITY, of: 'code', code: sub(7), from: 12, bound: 400, limit: 1 },
      { op: 'get-page', log: CITY, of: 'range', from: 0, bound: 0, limit: MAX_PAGE_ITEMS_PER_REQUEST }
    ] as const
    for (const r of requests) assert.deepEqual(decodeLedgerRequest(encodeLedgerRequest(r)), r)
    const bad: CborMap[] = [
      { v: 1, op: 'get-page', log: CITY, of: 'everything', code: CITY, from: 0, limit: 1 },
      { v: 1, op: 'get-page', log: CITY, of: 'children', from: 0, limit: 1 },
      { v: 1, op: 'get-page', log: CITY, of: 'range', code: CITY, from: 0, limit: 1 },
      { v: 1, op: 'get-page', log: CITY, of: 'range', from: 0, limit: 0 },
      { v: 1, op: 'get-page', log: CITY, of: 'range', from: 0, limit: MAX_PAGE_ITEMS_PER_REQUEST + 1 },
      { v: 1, op: 'get-page', log: CITY, of: 'range', from: 9, bound: 3, limit: 1 }
    ]
    for (const b of bad) assert.throws(() => decodeLedgerRequest(encodeCbor(b)), { name: 'MalformedRecordError' }, JSON.stringify(b))
    const store = await cityLog(3)
    const page = await store.page({ of: 'range', from: 0, bound: store.size, limit: 4 }, store.size)
    const answer = { status: 'page' as const, record: new Uint8Array([1, 2, 3]), ...page }
    assert.deepEqual(decodeLedgerResponse(encodeLedgerResponse(answer), 'get-page'), answer)
    const tooMany = encodeCbor({ v: 1, status: 'page', record: new Uint8Array(1), items: Array.from({ length: MAX_PAGE_ITEMS_PER_REQUEST + 1 }, () => ({ index: 0, leaf: new Uint8Array(1), proof: [] })) })
    assert.throws(() => decodeLedgerResponse(tooMany, 'get-page'), { name: 'MalformedRecordError' })
    const badHash = encodeCbor({ v: 1, status: 'page', record: new Uint8Array(1), items: [{ index: 0, leaf: new Uint8Array(1), proof: [new Uint8Array(31)] }] })
    assert.throws(() => decodeLedgerResponse(badHash, 'get-page'), { name: 'MalformedRecordError' })
  })

  it('get-tile requests and answers round-trip and are decoded strictly', () => {
    const requests = [
      { op: 'get-tile', log: CITY, tile: { kind: 'hash', level: 0, index: 12, width: 256 } },
      { op: 'get-tile', log: CITY, tile: { kind: 'entries', level: 0, index: 3, width: 17 } }
    ] as const
    for (const r of requests) assert.deepEqual(decodeLedgerRequest(encodeLedgerRequest(r)), r)
    const bad: CborMap[] = [
      { v: 1, op: 'get-tile', log: CITY, of: 'hash', level: 7, index: 0, width: 1 },
      { v: 1, op: 'get-tile', log: CITY, of: 'entries', level: 1, index: 0, width: 1 },
      { v: 1, op: 'get-tile', log: CITY, of: 'hash', level: 0, index: 0, width: 0 },
      { v: 1, op: 'get-tile', log: CITY, of: 'hash', level: 0, index: 0, width: 257 },
      { v: 1, op: 'get-tile', log: CITY, of: 'leaves', level: 0, index: 0, width: 1 }
    ]
    for (const b of bad) assert.throws(() => decodeLedgerRequest(encodeCbor(b)), { name: 'MalformedRecordError' }, JSON.stringify(b))
    const data = new Uint8Array(64).fill(9)
    assert.deepEqual(decodeLedgerResponse(encodeLedgerResponse({ status: 'tile', data }), 'get-tile'), { status: 'tile', data })
    assert.throws(() => decodeLedgerResponse(encodeCbor({ v: 1, status: 'tile', data: new Uint8Array(256 * 258 + 1) }), 'get-tile'), { name: 'MalformedRecordError' })
  })
})
