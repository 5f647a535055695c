import assert from 'node:assert/strict'
import fc from 'fast-check'
import { sha256 } from '../../../../src/core/crypto/hash.ts'
import { signerFromSeed } from '../../../../src/core/crypto/signature.ts'
import { compareTreeHeads, compareVerifiedTreeHeads } from '../../../../src/core/ledger/fork.ts'
import { MerkleLog } from '../../../../src/core/ledger/log.ts'
import { signTreeHead } from '../../../../src/core/ledger/tree-head.ts'

const signer = signerFromSeed(sha256(new TextEncoder().encode('compare-heads test key')))
const NOW = 1_790_000_000_000

function logOf (n: number, salt = 0): MerkleLog {
  const log = new MerkleLog()
  for (let i = 0; i < n; i++) log.appendLeaf(new Uint8Array([salt, i & 0xff, i >> 8]))
  return log
}

const head = (log: MerkleLog, size: number, name = 'MA.156.1301') => signTreeHead({ log: name, size, root: log.root(size), time: NOW }, signer)

describe('ledger: comparing heads already verified', () => {
  it('decides exactly as compareTreeHeads for consistent heads, forks and useless proofs', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), (m, n, forked) => {
      const honest = logOf(Math.max(m, n))
      const other = forked ? logOf(Math.max(m, n), 1) : honest
      const a = head(honest, m)
      const b = head(other, n)
      const proof = m === n ? undefined : other.consistencyProof(Math.min(m, n), Math.max(m, n))
      let expected: unknown
      let actual: unknown
      try { expected = compareTreeHeads(a, b, signer.publicKey, proof) } catch (err) { expected = (err as Error).name }
      try { actual = compareVerifiedTreeHeads(a, b, proof) } catch (err) { actual = (err as Error).name }
      assert.deepEqual(actual, expected)
    }), { numRuns: 150 })
  })

  it('still refuses two heads of different logs', () => {
    const log = logOf(4)
    assert.throws(() => compareVerifiedTreeHeads(head(log, 4), head(log, 4, 'MA.156.1302')), { name: 'BadTreeHeadError' })
  })
})
