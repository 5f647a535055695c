import assert from 'node:assert/strict'
import { MemoryDatastore } from 'datastore-core'
import {
  contentIdOf, createExchangeRequest, createReceipt, decodeLogEntry, encodeCbor, encodeLogEntry, RAW, verifyExchangeLog
} from '../../../src/core/index.ts'
import type { ExchangeLogFields } from '../../../src/core/index.ts'
import { ExchangeLogStore } from '../../../src/storage/exchange-store.ts'
import { hierarchy, NOW, seededSigner } from '../../utils/fixtures.ts'

const h = hierarchy()
const root = contentIdOf(RAW, new Uint8Array([1, 2, 3]))
const provider = seededSigner(77)

function served (i: number): ExchangeLogFields {
  const request = createExchangeRequest({ code: 'MA.156.1301', dataset: 'water', root, want: [root], nonce: new Uint8Array(16).fill(i), time: NOW, from: '12D3KooWRequester', to: '12D3KooWProvider' }, h.city, h.chain)
  const receipt = createReceipt({ request: request.hash, root, bytes: 3, time: NOW, code: 'MA.156.1302' }, provider)
  return { role: 'served', time: NOW + i, peer: '12D3KooWRequester', requester: 'MA.156.1301', provider: 'MA.156.1302', dataset: 'water', root, bytes: 3, policy: 'MA.156', requests: [request.bytes], receipts: [receipt.bytes], outcome: 'complete' }
}

/** Matches ExchangeLogError naming entry `seq` and `reason`, where given. */
function logError (seq?: number, reason?: string): (err: unknown) => boolean {
  return (err) => {
    const e = err as { name: string, details: { seq?: number, reason?: string } }
    return e.name === 'ExchangeLogError' && (seq === undefined || e.details.seq === seq) && (reason === undefined || e.details.reason === reason)
  }
}

describe('exchange log', () => {
  it('appended entries link by hash and verify; the store serialises concurrent appends', async () => {
    const store = new ExchangeLogStore(new MemoryDatastore())
    const entries = await Promise.all([0, 1, 2, 3].map(async i => await store.append(served(i))))
    assert.deepEqual(entries.map(e => e.seq).sort(), [0, 1, 2, 3])
    const log = await store.read()
    assert.equal(log.length, 4)
    const v = verifyExchangeLog(log)
    assert.equal(v.entries, 4)
    assert.equal(v.head, Buffer.from(decodeLogEntry(log[3] as Uint8Array).hash).toString('hex'))
    assert.equal(await store.size(), 4)
    // a store reopened on the same datastore goes on from the last entry
    assert.equal((await new ExchangeLogStore((store as unknown as { datastore: MemoryDatastore }).datastore).append(served(9))).seq, 4)
  })

  it('an entry removed, changed or reordered is found, and named', () => {
    const a = encodeLogEntry(served(0), 0, null)
    const b = encodeLogEntry(served(1), 1, a.hash)
    const c = encodeLogEntry(served(2), 2, b.hash)
    assert.throws(() => verifyExchangeLog([a.bytesOfEntry, c.bytesOfEntry]), logError(1, 'seq'))
    const forged = encodeLogEntry({ ...served(1), bytes: 999_999 }, 1, a.hash)
    assert.throws(() => verifyExchangeLog([a.bytesOfEntry, forged.bytesOfEntry, c.bytesOfEntry]), logError(2, 'link'))
    assert.throws(() => verifyExchangeLog([b.bytesOfEntry]), logError(0))
  })

  it('a receipt that does not name one of the entry\'s requests, or a tampered request, is found', () => {
    const other = served(5)
    const mixed = encodeLogEntry({ ...served(0), receipts: other.receipts }, 0, null)
    assert.throws(() => verifyExchangeLog([mixed.bytesOfEntry]), logError(undefined, 'receipt'))
    const req = createExchangeRequest({ code: 'MA.156.1301', dataset: 'water', root, want: [root], nonce: new Uint8Array(16), time: NOW, from: '12D3KooWRequester', to: '12D3KooWProvider' }, h.city, h.chain)
    const sig = Uint8Array.from(req.sig)
    sig[3] = (sig[3] as number) ^ 1
    const tampered = encodeLogEntry({ ...served(0), requests: [encodeCbor({ body: req.bodyBytes, sig, chain: [...req.chain] })], receipts: [] }, 0, null)
    assert.throws(() => verifyExchangeLog([tampered.bytesOfEntry]), logError(undefined, 'request'))
    assert.throws(() => verifyExchangeLog([new Uint8Array([0xa0])]), logError(undefined, 'malformed'))
  })
})
