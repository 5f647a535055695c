import assert from 'node:assert/strict'
import { sha256 } from '../../../../src/core/crypto/hash.ts'
import { MerkleFrontier, merkleTreeHash } from '../../../../src/core/ledger/merkle.ts'

describe('MerkleFrontier.restore (resumable audits)', () => {
  it('a saved frontier goes on to the same root as one never interrupted; a frontier of the wrong shape is refused', () => {
    const leaves = Array.from({ length: 1000 }, (_, i) => sha256(new Uint8Array([i & 0xff, i >> 8])))
    const f = new MerkleFrontier()
    leaves.slice(0, 613).forEach(l => { f.appendLeaf(l) })
    const resumed = MerkleFrontier.restore(f.size, f.hashes)
    leaves.slice(613).forEach(l => { resumed.appendLeaf(l) })
    assert.deepEqual(resumed.root(), merkleTreeHash(leaves))
    assert.throws(() => MerkleFrontier.restore(613, f.hashes.slice(1)), { name: 'MalformedRecordError' })
    assert.throws(() => MerkleFrontier.restore(612, f.hashes), { name: 'MalformedRecordError' })
    assert.throws(() => MerkleFrontier.restore(613, [...f.hashes.slice(1), new Uint8Array(31)]), { name: 'MalformedRecordError' })
    assert.throws(() => MerkleFrontier.restore(-1, []), { name: 'MalformedRecordError' })
  })
})
