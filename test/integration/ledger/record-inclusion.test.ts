import assert from 'node:assert/strict'
import { decodeLeaf } from '../../../src/core/ledger/log.ts'
import { decodeRecordInclusion, verifyRecordInclusion } from '../../../src/core/record/record-inclusion.ts'
import { sha256, equalBytes } from '../../../src/core/crypto/hash.ts'
import { startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'

describe('ledger inclusion required by resolution (memory transport)', function () {
  this.timeout(120_000)
  let net: TestNetwork

  before(async () => { net = await startTestNetwork(2) })
  after(async () => { await net?.stop() })

  it('a resolver that requires inclusion gets each answer with a proof anyone can re-check', async () => {
    const resolver = await net.add('resolver', { resolver: { requireInclusion: true, directTimeoutMs: 2000, timeoutMs: 15_000 } })
    await resolver.knowAuthority({ namespace: 'MA', addr: net.addrOf(net.root) })
    for (const code of ['MA.156.1301', 'MA.156']) {
      const r = await resolver.resolve(code, { signal: AbortSignal.timeout(20_000) })
      assert.ok(r.inclusion !== undefined, `${code} came with a proof`)
      const head = verifyRecordInclusion(r.inclusion.inclusion, r.verified.record, r.verified.chain.namespace, resolver.validator.chains, { now: Date.now() })
      assert.equal(head.record.sth.head.log, code)
      // the proven leaf is this version's record entry in the holder's own log
      const holder = code === 'MA.156' ? net.country : net.cities[0]!
      const [leaf] = await holder.ledger!.entries(r.inclusion.index, r.inclusion.index + 1)
      const entry = decodeLeaf(leaf!)
      assert.equal(entry.type, 'record')
      assert.equal(entry.seq, r.verified.record.body.seq)
      assert.ok(equalBytes(entry.object, sha256(r.verified.record.bytes)))
    }
  })

  it('a version published a moment ago is proven at once (a head covering it is signed on demand)', async () => {
    const city = net.cities[1]!
    const published = await city.publishOwn([{ type: 'data', name: 'v', value: 'fresh' }], { background: true })
    const asker = net.cities[0]!
    const r = await asker.resolve('MA.156.1302', { fresh: true, inclusion: true, signal: AbortSignal.timeout(20_000) })
    assert.equal(r.verified.record.body.seq, published.record.body.seq)
    const inclusion = decodeRecordInclusion(r.inclusion!.inclusion)
    verifyRecordInclusion(inclusion, r.verified.record, 'MA.156.1302', asker.validator.chains, { now: Date.now() })
    assert.ok(r.inclusion!.head.sth.head.size > inclusion.index)
  })

  it('a holder that keeps no ledger cannot prove its record: resolution with the requirement fails with a typed error', async () => {
    const noLedger = await net.add('city', { ledger: { enabled: false } })
    await noLedger.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'Handan', officialCode: '130400' })
    await noLedger.publishOwn([], { background: true })
    const asker = net.cities[0]!
    const plain = await asker.resolve('MA.156.1304', { signal: AbortSignal.timeout(20_000) })
    assert.equal(plain.inclusion, undefined)
    await assert.rejects(asker.resolve('MA.156.1304', { inclusion: true, signal: AbortSignal.timeout(20_000) }), (err: Error & { code?: string }) => {
      assert.equal(err.name, 'UnknownLogError', err.message)
      return true
    })
  })
})
