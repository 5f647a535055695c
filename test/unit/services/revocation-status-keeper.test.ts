import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { RecordValidator, signRevocationStatus } from '../../../src/core/index.ts'
import { MAX_HELD_STATUSES, RevocationStatusKeeper } from '../../../src/services/revocations/status.ts'
import { cityRecord, hierarchy, NOW, seededSigner } from '../../utils/fixtures.ts'

const h = hierarchy()

function keeper (): RevocationStatusKeeper {
  return new RevocationStatusKeeper({}, {
    validator: new RecordValidator(h.anchors, { now: () => NOW }),
    authority: () => undefined,
    fromParent: async () => [],
    now: () => NOW,
    logger: defaultLogger()
  })
}

describe('RevocationStatusKeeper: only statements a verified chain vouches for are kept', () => {
  const chain = new RecordValidator(h.anchors, { now: () => NOW }).validate(cityRecord(h, { seq: 1 }).bytes).chain
  const real = signRevocationStatus({ namespace: 'MA.156', issuedAt: NOW - 1000, revoked: [] }, h.country)
  const root = signRevocationStatus({ namespace: 'MA', issuedAt: NOW - 1000, revoked: [] }, h.root)

  it('keeps the issuers of the chain\'s links under their keys', () => {
    const k = keeper()
    assert.equal(k.offer([real.bytes, root.bytes], [chain]), 2)
    assert.deepEqual(k.forIssuers(['MA.156']).map(s => s.issuedAt), [NOW - 1000])
  })

  it('drops a statement for a namespace of the chain signed by another key, and one for a namespace it does not name', () => {
    const k = keeper()
    const otherKey = signRevocationStatus({ namespace: 'MA.156', issuedAt: NOW, revoked: [] }, seededSigner(77))
    const otherNs = signRevocationStatus({ namespace: 'MA.250', issuedAt: NOW, revoked: [] }, seededSigner(78))
    assert.equal(k.offer([otherKey.bytes, otherNs.bytes], [chain]), 0)
    assert.deepEqual(k.forIssuers(['MA.156', 'MA.250']), [])
    assert.equal(k.offer([real.bytes], []), 0, 'without a chain nothing is vouched for')
  })

  it('a flood of validly self-signed statements under fresh keys neither evicts nor crowds out the real one', () => {
    const k = keeper()
    k.offer([real.bytes], [chain])
    const flood = Array.from({ length: MAX_HELD_STATUSES + 10 }, (_, i) => signRevocationStatus({ namespace: 'MA.156', issuedAt: NOW, revoked: [] }, seededSigner(1000 + i)).bytes)
    assert.equal(k.offer(flood, [chain]), 0)
    assert.deepEqual(k.forIssuers(['MA.156']).map(s => s.issuedAt), [NOW - 1000], 'the real statement stands alone')
  })
})
