import assert from 'node:assert/strict'
import {
  ChainVerifier, NonceCache, contentIdOf, createExchangeRequest, createReceipt, verifyExchangeRequest, verifyReceipt, issueCertificate,
  encodeCbor, RAW, REQUEST_WINDOW_MS, REQUEST_MAX_BYTES
} from '../../../src/core/index.ts'
import type { ExchangeRequestFields } from '../../../src/core/index.ts'
import { DAY_MS, hierarchy, NOW, seededSigner, YEAR_MS } from '../../utils/fixtures.ts'

const h = hierarchy()
const root = contentIdOf(RAW, new Uint8Array([1, 2, 3]))
const PROVIDER = '12D3KooWProvider'
const REQUESTER = '12D3KooWRequester'

function fields (over: Partial<ExchangeRequestFields> = {}): ExchangeRequestFields {
  return { code: 'MA.156.1301', dataset: 'water-quality', root, want: [root], nonce: new Uint8Array(16).fill(7), time: NOW, from: REQUESTER, to: PROVIDER, ...over }
}

describe('exchange request', () => {
  const chains = new ChainVerifier(h.anchors)
  const opts = (nonces = new NonceCache()): Parameters<typeof verifyExchangeRequest>[2] => ({ now: NOW, localPeer: PROVIDER, remotePeer: REQUESTER, nonces })

  it('a signed request by a chained code verifies once; the same bytes again are a replay', () => {
    const req = createExchangeRequest(fields(), h.city, h.chain)
    const nonces = new NonceCache()
    const v = verifyExchangeRequest(req.bytes, chains, opts(nonces))
    assert.equal(v.request.body.code, 'MA.156.1301')
    assert.equal(v.chain.namespace, 'MA.156.1301')
    assert.throws(() => verifyExchangeRequest(req.bytes, chains, opts(nonces)), { name: 'ReplayedRequestError' })
  })

  it('a request outside the time window is refused', () => {
    const req = createExchangeRequest(fields({ time: NOW - REQUEST_WINDOW_MS - 1 }), h.city, h.chain)
    assert.throws(() => verifyExchangeRequest(req.bytes, chains, opts()), { name: 'ReplayedRequestError' })
  })

  it('a request bound to another connection is refused', () => {
    const req = createExchangeRequest(fields({ to: '12D3KooWSomeoneElse' }), h.city, h.chain)
    assert.throws(() => verifyExchangeRequest(req.bytes, chains, opts()), { name: 'InvalidRequestError' })
    const req2 = createExchangeRequest(fields({ from: '12D3KooWSomeoneElse' }), h.city, h.chain)
    assert.throws(() => verifyExchangeRequest(req2.bytes, chains, opts()), { name: 'InvalidRequestError' })
  })

  it('a forged chain is refused and does not use up the nonce', () => {
    const forger = seededSigner(42)
    const fake = issueCertificate({ namespace: 'MA.156.1301', subject: forger.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign'] }, [forger])
    const req = createExchangeRequest(fields(), forger, [h.countryCert.bytes, fake.bytes])
    const nonces = new NonceCache()
    assert.throws(() => verifyExchangeRequest(req.bytes, chains, opts(nonces)), { name: 'BrokenChainError' })
    // an unchained key claiming a code
    const bare = createExchangeRequest(fields(), forger, [])
    assert.throws(() => verifyExchangeRequest(bare.bytes, chains, opts(nonces)), { name: 'UnknownAnchorError' })
    const genuine = createExchangeRequest(fields(), h.city, h.chain)
    verifyExchangeRequest(genuine.bytes, chains, opts(nonces))
  })

  it('a code the chain does not hold, or a tampered signature, is refused', () => {
    const req = createExchangeRequest(fields({ code: 'MA.156.1302' }), h.city, h.chain)
    assert.throws(() => verifyExchangeRequest(req.bytes, chains, opts()), { name: 'InvalidRequestError' })
    const good = createExchangeRequest(fields(), h.city, h.chain)
    const sig = Uint8Array.from(good.sig)
    sig[0] = (sig[0] as number) ^ 1
    const bytes = encodeCbor({ body: good.bodyBytes, sig, chain: [...good.chain] })
    assert.throws(() => verifyExchangeRequest(bytes, chains, opts()), { name: 'InvalidRequestError' })
  })

  it('an oversized request is refused on its size', () => {
    assert.throws(() => verifyExchangeRequest(new Uint8Array(REQUEST_MAX_BYTES + 1), chains, opts()), { name: 'RecordTooLargeError' })
    assert.throws(() => verifyExchangeRequest(new Uint8Array([1, 2, 3]), chains, opts()), { name: 'InvalidRequestError' })
  })

  it('a nonce cache that is full of fresh nonces refuses rather than forgets', () => {
    const nonces = new NonceCache(2)
    const key = new Uint8Array(32)
    assert.ok(nonces.admit(key, new Uint8Array([1]), NOW))
    assert.ok(nonces.admit(key, new Uint8Array([2]), NOW))
    assert.ok(!nonces.admit(key, new Uint8Array([3]), NOW))
    assert.ok(nonces.admit(key, new Uint8Array([3]), NOW + 3 * REQUEST_WINDOW_MS))
  })
})

describe('exchange receipt', () => {
  it('verifies under the provider key and names the request', () => {
    const provider = seededSigner(3)
    const reqHash = new Uint8Array(32).fill(9)
    const r = createReceipt({ request: reqHash, root, bytes: 1234, time: NOW, code: 'MA.156.1301' }, provider)
    assert.equal(verifyReceipt(r.bytes, provider.publicKey, reqHash).body.bytes, 1234)
    assert.throws(() => verifyReceipt(r.bytes, seededSigner(4).publicKey), { name: 'InvalidReceiptError' })
    assert.throws(() => verifyReceipt(r.bytes, provider.publicKey, new Uint8Array(32)), { name: 'InvalidReceiptError' })
    const forged = encodeCbor({ body: r.bodyBytes, sig: provider.sign('record', r.bodyBytes) })
    assert.throws(() => verifyReceipt(forged, provider.publicKey), { name: 'InvalidReceiptError' })
  })
})
