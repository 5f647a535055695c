import assert from 'node:assert/strict'
import { parseBatch } from '../../../src/core/allocation/batch.ts'
import { fromHex } from '../../../src/core/crypto/hash.ts'
import { encodeCursor } from '../../../src/core/ledger/cursor.ts'
import { decodeLeaf, encodeLeaf, MerkleLog } from '../../../src/core/ledger/log.ts'
import { sha256 } from '../../../src/core/crypto/hash.ts'
import type { Signer } from '../../../src/core/crypto/signature.ts'
import { signTreeHead } from '../../../src/core/ledger/tree-head.ts'
import { encodeHeadRecord } from '../../../src/core/record/head-record.ts'
import type { LedgerEntry } from '../../../src/core/ledger/log.ts'
import { leafHash } from '../../../src/core/ledger/merkle.ts'
import { inclusionProof, verifyInclusion } from '../../../src/core/ledger/proofs.ts'
import { decodeEntryBundle, hashTile, MissingTileError, TileHashSource, tilePath, verifyEntryBundle, verifyTile } from '../../../src/core/ledger/tiles.ts'
import type { HeadRecord } from '../../../src/core/record/head-record.ts'
import { DEFAULT_MAX_LOG_ENTRIES, listingId } from '../../../src/services/ledger/index.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import { eventually, startTestNetwork } from '../../utils/citycode-network.ts'
import { gateway } from '../../../src/interfaces/gateway/index.ts'
import { http, SJZ, SJZ_SUB, startGatewayNetwork } from '../../utils/gateway-network.ts'
import type { GatewayNetwork } from '../../utils/gateway-network.ts'

/** Sub-codes the city registers with the batch path: its log then holds twice as many entries (allocation and record each). */
const SUB_CODES = 10_000

interface HeadView { log: string, size: number, root: string, signedHead: string }
interface Child { code: string, index: number, allocatedAt: string, certificate: string, proof: string[] }
interface ChildrenPage { source: string, log: string, head: HeadView, count: number, children: Child[], next?: string }
interface Version { log: string, index: number, type: LedgerEntry['type'], seq?: number, time: string, object: string, proof: string[] }

const batch = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => JSON.stringify({ number: String(from + i).padStart(2, '0'), name: `Facility ${from + i}`, type: 'facility', values: { district: String((from + i) % 23) } })).join('\n')

/**
 * Issue #20 part 1: a city of 10,000 sub-codes (20,000 log entries, five times the whole-read bound)
 * answers children, history and log pages at a resolver's gateway, every item proven under the
 * city's signed head, through one `get-page` question to the city's node per page.
 */
describe('paged listings of a large namespace at the gateway', function () {
  this.timeout(300_000)
  let g: GatewayNetwork
  let base: string
  let city: CitycodeNode

  const headOf = (view: HeadView): HeadRecord => g.node.validator.validateHead(fromHex(view.signedHead), view.log).record
  const checkChild = (head: HeadRecord, c: Child): void => {
    const entry: LedgerEntry = { type: 'allocation', code: c.code, time: Date.parse(c.allocatedAt), object: fromHex(c.certificate) }
    verifyInclusion(leafHash(encodeLeaf(entry)), c.index, head.sth.head.size, c.proof.map(fromHex), head.sth.head.root)
  }

  before(async () => {
    g = await startGatewayNetwork(1)
    base = g.gateway.url
    city = g.net.cities[0] as CitycodeNode
    const report = await city.registerBatch(parseBatch(batch(2, SUB_CODES + 1), 'jsonl', SJZ.code))
    assert.equal(report.registered, SUB_CODES)
    const ledger = city.ledger
    assert.ok(ledger !== undefined)
    assert.ok(await eventually(() => ledger.head()?.sth.head.size === ledger.size, 20_000), 'a head covers the batch')
    assert.ok(ledger.size > 2 * SUB_CODES && ledger.size > DEFAULT_MAX_LOG_ENTRIES)
  })
  after(async () => { await g?.stop() })

  it('pages every child of the city, each proven under the signed head, with nothing twice and no 503', async () => {
    const seen = new Set<string>()
    let cursor: string | undefined
    let pages = 0
    let size: number | undefined
    let lastIndex = -1
    do {
      const a = await http(base, 'GET', `/v1/codes/${SJZ.code}/children?limit=1000${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      assert.equal(a.status, 200, a.text)
      const page = a.json<ChildrenPage>()
      assert.equal(page.source, 'ledger')
      assert.equal(page.log, SJZ.code)
      // a resolver asks the city's node, which answers at most 128 per page
      assert.ok(page.count <= 128 && page.count === page.children.length && page.count > 0)
      const head = headOf(page.head)
      size ??= head.sth.head.size
      for (const c of page.children) {
        assert.ok(c.index > lastIndex, 'log order')
        lastIndex = c.index
        assert.ok(!seen.has(c.code), `${c.code} twice`)
        seen.add(c.code)
        checkChild(head, c)
      }
      cursor = page.next
      pages++
    } while (cursor !== undefined && pages < 200)
    assert.equal(cursor, undefined, 'the listing ends')
    assert.equal(seen.size, SUB_CODES + 1)
    assert.ok(seen.has(SJZ_SUB) && seen.has(`${SJZ.code}.${SUB_CODES + 1}`))
  })

  it('a listing stays the one its first page opened: a code allocated since is in the next listing, not this one', async () => {
    const first = (await http(base, 'GET', `/v1/codes/${SJZ.code}/children?limit=100`)).json<ChildrenPage>()
    assert.equal(first.count, 100)
    const bound = first.head.size
    const added = await city.authority?.allocateOwn('A bureau allocated while someone pages')
    assert.ok(added !== undefined)
    const ledger = city.ledger
    assert.ok(ledger !== undefined && await eventually(() => ledger.head()?.sth.head.size === ledger.size, 10_000))
    let cursor = first.next
    let last: ChildrenPage | undefined
    while (cursor !== undefined) {
      last = (await http(base, 'GET', `/v1/codes/${SJZ.code}/children?cursor=${encodeURIComponent(cursor)}&limit=128`)).json<ChildrenPage>()
      assert.ok(last.children.every(c => c.index < bound && c.code !== added))
      assert.ok(last.head.size > bound, 'later pages are proven under the newer head')
      cursor = last.next
    }
    assert.ok(last !== undefined)
    // a fresh listing, from the end: its last page holds the new code
    const fresh = (await http(base, 'GET', `/v1/codes/${SJZ.code}/children?limit=10&cursor=${encodeURIComponent(encodeCursor({ log: listingId(SJZ.code, 'children', SJZ.code), headSize: ledger.size, next: ledger.size - 2 }))}`)).json<ChildrenPage>()
    assert.deepEqual(fresh.children.map(c => c.code), [added])
  })

  it('answers the history of a sub-code deep in the batch from the index, with proofs', async () => {
    const code = `${SJZ.code}.7777`
    const a = await http(base, 'GET', `/v1/codes/${code}/history`)
    assert.equal(a.status, 200, a.text)
    const h = a.json<{ logs: Array<HeadView & { error?: string }>, versions: Version[] }>()
    assert.deepEqual(h.versions.map(v => [v.type, v.log, v.seq]), [['allocation', SJZ.code, undefined], ['record', SJZ.code, 1]])
    for (const v of h.versions) {
      const view = h.logs.find(l => l.log === v.log && l.error === undefined)
      assert.ok(view !== undefined)
      const head = headOf(view)
      const entry: LedgerEntry = { type: v.type, code, ...(v.seq !== undefined ? { seq: v.seq } : {}), time: Date.parse(v.time), object: fromHex(v.object) }
      verifyInclusion(leafHash(encodeLeaf(entry)), v.index, head.sth.head.size, v.proof.map(fromHex), head.sth.head.root)
    }
  })

  it('pages the city\'s whole log in order at the authority log endpoint', async () => {
    const a = await http(base, 'GET', `/v1/authorities/${SJZ.code}/log?limit=50`)
    assert.equal(a.status, 200, a.text)
    const l = a.json<{ head: HeadView, entries: { total: number, byType?: unknown }, items: Array<{ index: number, type: LedgerEntry['type'], code: string, seq?: number, time: string, object: string, proof: string[] }>, next?: string }>()
    assert.equal(l.entries.total, l.head.size)
    assert.equal(l.entries.byType, undefined, 'no counts for a log too large to read whole')
    assert.deepEqual(l.items.map(i => i.index), Array.from({ length: 50 }, (_, i) => i))
    const head = headOf(l.head)
    for (const i of l.items) {
      const entry: LedgerEntry = { type: i.type, code: i.code, ...(i.seq !== undefined ? { seq: i.seq } : {}), time: Date.parse(i.time), object: fromHex(i.object) }
      verifyInclusion(leafHash(encodeLeaf(entry)), i.index, head.sth.head.size, i.proof.map(fromHex), head.sth.head.root)
    }
    assert.ok(l.next !== undefined)
    const second = (await http(base, 'GET', `/v1/authorities/${SJZ.code}/log?limit=50&cursor=${encodeURIComponent(l.next)}`)).json<{ items: Array<{ index: number }> }>()
    assert.deepEqual(second.items.map(i => i.index), Array.from({ length: 50 }, (_, i) => 50 + i))
  })

  it('forged, foreign and stale cursors and bad limits are 400 problems, typed', async () => {
    const first = (await http(base, 'GET', `/v1/codes/${SJZ.code}/children?limit=5`)).json<ChildrenPage>()
    assert.ok(first.next !== undefined)
    const problem = async (path: string): Promise<{ status: number, code: string, reason: unknown }> => {
      const a = await http(base, 'GET', path)
      const p = a.json()
      assert.match(String(a.headers['content-type']), /^application\/problem\+json/)
      return { status: a.status, code: p.code, reason: p.details?.reason }
    }
    const mangled = first.next.slice(0, -2) + (first.next.endsWith('00') ? '11' : '00')
    assert.deepEqual(await problem(`/v1/codes/${SJZ.code}/children?cursor=${mangled}`), { status: 400, code: 'ERR_INVALID_CURSOR', reason: 'checksum' })
    // a cursor of the children listing is not one of the history listing
    assert.deepEqual(await problem(`/v1/codes/${SJZ.code}/history?cursor=${encodeURIComponent(first.next)}`), { status: 400, code: 'ERR_INVALID_CURSOR', reason: 'log' })
    const stale = encodeCursor({ log: listingId(SJZ.code, 'children', SJZ.code), headSize: first.head.size + 1_000_000, next: 0 })
    assert.deepEqual(await problem(`/v1/codes/${SJZ.code}/children?cursor=${encodeURIComponent(stale)}`), { status: 400, code: 'ERR_INVALID_CURSOR', reason: 'stale' })
    assert.deepEqual(await problem(`/v1/codes/${SJZ.code}/children?limit=0`), { status: 400, code: 'ERR_INVALID_CURSOR', reason: 'limit' })
    assert.deepEqual(await problem(`/v1/authorities/${SJZ.code}/log?limit=x`), { status: 400, code: 'ERR_INVALID_CURSOR', reason: 'limit' })
  })
})

describe('a large log as tiles at the gateway (C2SP tlog-tiles)', function () {
  this.timeout(300_000)
  let g: GatewayNetwork
  let base: string
  let city: CitycodeNode

  before(async () => {
    g = await startGatewayNetwork(1)
    base = g.gateway.url
    city = g.net.cities[0] as CitycodeNode
    await city.registerBatch(parseBatch(batch(2, 3001), 'jsonl', SJZ.code))
    const ledger = city.ledger
    assert.ok(ledger !== undefined && await eventually(() => ledger.head()?.sth.head.size === ledger.size, 20_000))
  })
  after(async () => { await g?.stop() })

  const bytes = async (path: string): Promise<{ status: number, cache: string, body: Uint8Array }> => {
    const a = await http(base, 'GET', path)
    assert.equal(a.status, 200, `${path}: ${a.text.slice(0, 300)}`)
    return { status: a.status, cache: String(a.headers['cache-control']), body: new Uint8Array(a.body) }
  }

  it('serves the checkpoint, and tiles from which a client rebuilds and checks proofs against it; full tiles are immutable and served again from the checked cache', async () => {
    const text = (await http(base, 'GET', `/v1/logs/${SJZ.code}/checkpoint`)).text
    const [origin, sizeText, rootText] = text.split('\n')
    assert.equal(origin, `citycode/${SJZ.code}`)
    const checkpoint = await bytes(`/v1/logs/${SJZ.code}/checkpoint?format=cbor`)
    const head = g.node.validator.validateHead(checkpoint.body, SJZ.code).record.sth.head
    assert.equal(head.size, Number(sizeText))
    assert.equal(Buffer.from(head.root).toString('base64'), rootText)

    // a client of its own: every tile over HTTP, nothing trusted but the signed head
    const source = new TileHashSource(head.size)
    const fetchInto = async (run: () => void): Promise<string[]> => {
      const paths: string[] = []
      for (;;) {
        try {
          run()
          return paths
        } catch (err) {
          if (!(err instanceof MissingTileError)) throw err
          const path = tilePath(err.tile)
          const tile = await bytes(`/v1/logs/${SJZ.code}/${path}`)
          assert.equal(tile.cache, err.tile.width === 256 ? 'public, max-age=31536000, immutable' : 'public, max-age=5')
          paths.push(path)
          source.add(err.tile, tile.body)
        }
      }
    }
    const index = 4321
    let proof: Uint8Array[] = []
    const paths = await fetchInto(() => { proof = inclusionProof(source, index, head.size) })
    assert.ok(paths.length <= 4, paths.join(' '))
    verifyInclusion(source.leafHash(index), index, head.size, proof, head.root)
    await fetchInto(() => { verifyTile(source, { kind: 'hash', level: 0, index: 3, width: 256 }, head.root) })
    // the entries of that tile, and the leaf the proof is about among them
    const bundle = decodeEntryBundle((await bytes(`/v1/logs/${SJZ.code}/tile/entries/016`)).body, 256)
    verifyEntryBundle(bundle, hashTile(source, { kind: 'hash', level: 0, index: 16, width: 256 }, head.size))
    assert.equal(decodeLeaf(bundle[index % 256] as Uint8Array).code.startsWith(SJZ.code), true)

    const reader = g.node.ledger?.tiles(SJZ.code)
    assert.ok(reader !== undefined)
    const before = reader.fetched
    await bytes(`/v1/logs/${SJZ.code}/tile/0/003`)
    assert.equal(reader.fetched, before, 'a checked full tile is not fetched again')
  })

  it('a path that names no tile is a 400, a tile beyond the tree a 404', async () => {
    const bad = await http(base, 'GET', `/v1/logs/${SJZ.code}/tile/0/x000/003`)
    assert.equal(bad.status, 400, bad.text)
    assert.equal(bad.json().code, 'ERR_INVALID_REQUEST')
    const beyond = await http(base, 'GET', `/v1/logs/${SJZ.code}/tile/0/999`)
    assert.equal(beyond.status, 404, beyond.text)
    const none = await http(base, 'GET', '/v1/logs/MA.276/checkpoint')
    assert.equal(none.status, 404, none.text)
  })

  it('a checkpoint older than one this node holds is a rollback, typed (502 CheckpointRollbackError)', async () => {
    const ledger = city.ledger!
    const served = ledger.head()!
    // the city's own key signs a larger tree (its log and two more entries): this node takes it as the log's newer head
    const tree = new MerkleLog()
    for (const leaf of await ledger.entries(0, served.sth.head.size)) tree.appendLeaf(leaf)
    for (const seq of [7, 8]) tree.appendEntry({ type: 'record', code: SJZ.code, seq, time: Date.now(), object: sha256(new Uint8Array([seq])) })
    const signer = (city as unknown as { init: { authorityKey: Signer } }).init.authorityKey
    const larger = encodeHeadRecord({ head: signTreeHead({ log: SJZ.code, size: tree.size, root: tree.root(), time: Date.now() }, signer), key: served.key, chain: served.chain })
    const check = await g.node.ledger!.checkHead(larger, { proof: { fromSize: served.sth.head.size, hashes: tree.consistencyProof(served.sth.head.size) } })
    assert.ok(check === 'consistent' || check === 'first', check)
    const a = await http(base, 'GET', `/v1/logs/${SJZ.code}/checkpoint`)
    assert.equal(a.status, 502, a.text)
    assert.equal(a.json().code, 'ERR_CHECKPOINT_ROLLBACK')
    // a page under the older head is refused the same way
    const children = await http(base, 'GET', `/v1/authorities/${SJZ.code}/log?limit=5`)
    assert.equal(children.status, 502, children.text)
    assert.equal(children.json().code, 'ERR_CHECKPOINT_ROLLBACK')
  })
})

describe('an authority without a ledger pages its children from its allocation table', function () {
  this.timeout(120_000)
  let net: Awaited<ReturnType<typeof startTestNetwork>>
  before(async () => { net = await startTestNetwork(1) })
  after(async () => { await net?.stop() })

  it('pages the table with its own cursors; a ledger listing\'s cursor is refused', async () => {
    const city = await net.add('city', { ledger: { enabled: false }, network: { transport: 'memory', listen: ['/memory/paged-no-ledger-city'], bootstrap: [net.addrOf(net.root), net.addrOf(net.country)] } })
    const code = await city.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'Tangshan', officialCode: '130200' })
    for (let i = 0; i < 5; i++) await city.authority!.allocateOwn(`Bureau ${i}`)
    const g = gateway({ listen: '127.0.0.1:0', log: 'off' })({ node: city })
    await g.start()
    try {
      const seen: string[] = []
      let cursor: string | undefined
      do {
        const a = await http(g.url, 'GET', `/v1/codes/${code}/children?limit=2${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
        assert.equal(a.status, 200, a.text)
        const page = a.json<{ source: string, children: Array<{ code: string, name: string }>, next?: string }>()
        assert.equal(page.source, 'authority')
        assert.ok(page.children.length <= 2)
        seen.push(...page.children.map(c => c.code))
        cursor = page.next
      } while (cursor !== undefined && seen.length < 10)
      assert.equal(seen.length, 5)
      assert.equal(new Set(seen).size, 5)
      const foreign = encodeCursor({ log: listingId(code, 'children', code), headSize: 5, next: 1 })
      const refused = await http(g.url, 'GET', `/v1/codes/${code}/children?cursor=${encodeURIComponent(foreign)}`)
      assert.equal(refused.status, 400, refused.text)
      assert.equal(refused.json().code, 'ERR_INVALID_CURSOR')
    } finally {
      await g.stop()
    }
  })
})
