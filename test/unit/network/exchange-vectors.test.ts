import assert from 'node:assert/strict'
import {
  ChainVerifier, fromHex, NonceCache, parseContentId, policyAdmits, toHex, verifyCatalogue, verifyExchangeRequest, verifyReceipt, contentIdOf, RAW
} from '../../../src/core/index.ts'
import type { AccessPolicy } from '../../../src/core/index.ts'
import { decodeProviderFrame } from '../../../src/network/protocols/exchange.ts'
import { anchorsFromJson, loadVector } from '../../utils/vectors.ts'
import type { AnchorJson } from '../../utils/vectors.ts'
import { errorName } from '../../utils/errors.ts'

interface Failure { valid: false, error: string }
interface Vectors {
  anchors: AnchorJson[]
  now: number
  provider: { code: string, key: string, peer: string }
  requester: { code: string, key: string, peer: string }
  content: Array<{ name: string, bytes: string, cid: string }>
  catalogues: Array<{ name: string, catalogue: string, cid?: string, expectedCode: string, expectedCid?: string, result: { valid: true, code: string, seq: number, datasets: string[] } | Failure }>
  policies: Array<{ policy: AccessPolicy, requester: string, admitted: boolean }>
  requests: Array<{ name: string, request: string, result: { valid: true, code: string, namespace: string, hash: string, replayAgain: string } | Failure }>
  receipts: Array<{ name: string, receipt: string, providerKey: string, requestHash: string, result: { valid: true, bytes: number } | Failure }>
  frames: Array<{ name: string, frame: string, result: { valid: true, status: string, cid?: string, data?: string, receipt?: string, missing?: string[], error?: string } | Failure }>
}

describe('exchange vectors (exchange.json)', () => {
  const v = loadVector<Vectors>('exchange.json')
  const chains = new ChainVerifier(anchorsFromJson(v.anchors))

  it('content ids are CIDv1 sha2-256 of the bytes', () => {
    for (const c of v.content) assert.equal(contentIdOf(RAW, fromHex(c.bytes)).toString(), c.cid, c.name)
  })

  it('catalogues verify or fail with the error named', () => {
    for (const c of v.catalogues) {
      const run = (): ReturnType<typeof verifyCatalogue> => verifyCatalogue(fromHex(c.catalogue), chains, { now: v.now, expectedCode: c.expectedCode, ...(c.expectedCid !== undefined ? { expectedCid: parseContentId(c.expectedCid) } : {}) })
      if (c.result.valid) {
        const ok = run()
        assert.equal(ok.catalogue.body.code, c.result.code, c.name)
        assert.equal(ok.catalogue.body.seq, c.result.seq, c.name)
        assert.equal(ok.catalogue.cid.toString(), c.cid, c.name)
        assert.deepEqual(ok.catalogue.body.datasets.map(d => d.name), c.result.datasets, c.name)
      } else {
        assert.equal(errorName(run), c.result.error, c.name)
      }
    }
  })

  it('access policies admit exactly the codes stated', () => {
    for (const p of v.policies) assert.equal(policyAdmits(p.policy, p.requester), p.admitted, `${JSON.stringify(p.policy)} ${p.requester}`)
  })

  it('requests verify on their connection once, then are replays; the others fail with the error named', () => {
    for (const c of v.requests) {
      const nonces = new NonceCache()
      const run = (): ReturnType<typeof verifyExchangeRequest> => verifyExchangeRequest(fromHex(c.request), chains, { now: v.now, localPeer: v.provider.peer, remotePeer: v.requester.peer, nonces })
      if (c.result.valid) {
        const ok = run()
        assert.equal(ok.request.body.code, c.result.code, c.name)
        assert.equal(ok.chain.namespace, c.result.namespace, c.name)
        assert.equal(toHex(ok.request.hash), c.result.hash, c.name)
        assert.equal(errorName(run), c.result.replayAgain, c.name)
      } else {
        assert.equal(errorName(run), c.result.error, c.name)
      }
    }
  })

  it('receipts verify under the provider key for the request they name', () => {
    for (const c of v.receipts) {
      const run = (): ReturnType<typeof verifyReceipt> => verifyReceipt(fromHex(c.receipt), fromHex(c.providerKey), fromHex(c.requestHash))
      if (c.result.valid) assert.equal(run().body.bytes, c.result.bytes, c.name)
      else assert.equal(errorName(run), c.result.error, c.name)
    }
  })

  it('provider frames decode strictly', () => {
    for (const c of v.frames) {
      const run = (): ReturnType<typeof decodeProviderFrame> => decodeProviderFrame(fromHex(c.frame))
      if (!c.result.valid) {
        assert.equal(errorName(run), c.result.error, c.name)
        continue
      }
      const frame = run()
      assert.equal(frame.status, c.result.status, c.name)
      if (frame.status === 'block') {
        assert.equal(frame.cid.toString(), c.result.cid, c.name)
        assert.equal(toHex(frame.data), c.result.data, c.name)
      } else if (frame.status === 'end') {
        assert.equal(toHex(frame.receipt), c.result.receipt, c.name)
        assert.deepEqual(frame.missing.map(m => m.toString()), c.result.missing, c.name)
      } else {
        assert.equal(frame.error.name, c.result.error, c.name)
      }
    }
  })
})
