import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { fromHex, toHex } from '../../../../src/core/crypto/hash.ts'
import {
  emptyRoot, isPowerOfTwo, leafHash, MerkleFrontier, merkleTreeHash, nodeHash, rangeHash, rootAt, splitPoint
} from '../../../../src/core/ledger/merkle.ts'
import type { LeafHashSource } from '../../../../src/core/ledger/merkle.ts'
import { consistencyProof, consistencyProofLength, inclusionProof } from '../../../../src/core/ledger/proofs.ts'
import { MerkleLog } from '../../../../src/core/ledger/log.ts'

// An independent, naive transcription of RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 (recursive, on slices,
// with its own hashing), to check the iterative, cached implementation against.
const H = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}
const ZERO = Uint8Array.of(0)
const ONE = Uint8Array.of(1)
const k = (n: number): number => { let p = 1; while (p * 2 < n) p *= 2; return p }
const mth = (d: Uint8Array[]): Uint8Array => d.length === 0
  ? H()
  : d.length === 1 ? H(ZERO, d[0] as Uint8Array) : H(ONE, mth(d.slice(0, k(d.length))), mth(d.slice(k(d.length))))
const path = (m: number, d: Uint8Array[]): Uint8Array[] => {
  if (d.length === 1) return []
  const s = k(d.length)
  return m < s ? [...path(m, d.slice(0, s)), mth(d.slice(s))] : [...path(m - s, d.slice(s)), mth(d.slice(0, s))]
}
const subproof = (m: number, d: Uint8Array[], b: boolean): Uint8Array[] => {
  if (m === d.length) return b ? [] : [mth(d)]
  const s = k(d.length)
  return m <= s ? [...subproof(m, d.slice(0, s), b), mth(d.slice(s))] : [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))]
}
const proof = (m: number, d: Uint8Array[]): Uint8Array[] => subproof(m, d, true)

/** Certificate Transparency reference test data (RFC 6962 test leaves, as in the CT reference implementation). */
export const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(fromHex)
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'
]

const leavesOf = (n: number, salt = 0): Uint8Array[] => Array.from({ length: n }, (_, i) => new TextEncoder().encode(`leaf ${salt}/${i}`))
const hexes = (hs: readonly Uint8Array[]): string[] => hs.map(toHex)

/** A source with only leafHash (no interior nodes), like a plain store. */
const plainSource = (hashes: Uint8Array[]): LeafHashSource => ({ size: hashes.length, leafHash: i => hashes[i] as Uint8Array })

describe('ledger: Merkle tree hash (RFC 9162 2.1.1)', () => {
  it('reproduces the Certificate Transparency reference roots for sizes 0..8', () => {
    for (let n = 0; n <= 8; n++) {
      assert.equal(toHex(mth(CT_LEAVES.slice(0, n))), CT_ROOTS[n], `naive MTH, size ${n}`)
      assert.equal(toHex(merkleTreeHash(CT_LEAVES.slice(0, n))), CT_ROOTS[n], `merkleTreeHash, size ${n}`)
    }
    assert.equal(toHex(emptyRoot()), CT_ROOTS[0])
  })

  it('leaf and node hashes are domain separated as the RFC defines', () => {
    const a = fromHex('2021')
    assert.equal(toHex(leafHash(a)), toHex(H(ZERO, a)))
    const l = H(Uint8Array.of(7))
    const r = H(Uint8Array.of(8))
    assert.equal(toHex(nodeHash(l, r)), toHex(H(ONE, l, r)))
    // A leaf that looks like two concatenated hashes still hashes differently from the node.
    assert.notEqual(toHex(leafHash(new Uint8Array([...l, ...r]))), toHex(nodeHash(l, r)))
  })

  it('split point and powers of two', () => {
    assert.deepEqual([2, 3, 4, 5, 8, 9, 1025].map(splitPoint), [1, 2, 2, 4, 4, 8, 1024])
    assert.deepEqual([0, 1, 2, 3, 4, 6, 8, 2 ** 52].map(isPowerOfTwo), [false, true, true, false, true, false, true, true])
    assert.equal(splitPoint(2 ** 53 - 1), 2 ** 52)
  })

  it('frontier, log and naive MTH agree for every size up to 300', () => {
    const leaves = leavesOf(300)
    const f = new MerkleFrontier()
    const log = new MerkleLog()
    assert.equal(toHex(f.root()), CT_ROOTS[0])
    for (let n = 1; n <= leaves.length; n++) {
      f.appendLeaf(leaves[n - 1] as Uint8Array)
      log.appendLeaf(leaves[n - 1] as Uint8Array)
      const expected = toHex(mth(leaves.slice(0, n)))
      assert.equal(toHex(f.root()), expected, `frontier at ${n}`)
      assert.equal(toHex(log.root()), expected, `log at ${n}`)
      let bits = 0
      for (let s = n; s > 0; s = Math.floor(s / 2)) bits += s % 2
      assert.equal(f.hashes.length, bits, 'one subtree per set bit of the size')
    }
    // Every earlier size, from the log's stored nodes and from bare leaf hashes.
    const hashes = leaves.map(leafHash)
    for (const n of [0, 1, 2, 3, 7, 8, 9, 100, 255, 256, 257, 299]) {
      const expected = toHex(mth(leaves.slice(0, n)))
      assert.equal(toHex(log.root(n)), expected)
      assert.equal(toHex(rootAt(plainSource(hashes), n)), expected)
      assert.equal(toHex(MerkleFrontier.at(log, n).root()), expected)
      assert.equal(toHex(MerkleFrontier.at(plainSource(hashes), n).root()), expected)
    }
  })

  it('rangeHash is MTH of any slice, aligned or not', () => {
    const leaves = leavesOf(70)
    const log = new MerkleLog()
    for (const l of leaves) log.appendLeaf(l)
    fc.assert(fc.property(fc.nat({ max: 70 }), fc.nat({ max: 70 }), (x, y) => {
      const [s, e] = x <= y ? [x, y] : [y, x]
      const expected = toHex(mth(leaves.slice(s, e)))
      assert.equal(toHex(rangeHash(log, s, e)), expected)
      assert.equal(toHex(rangeHash(plainSource(leaves.map(leafHash)), s, e)), expected)
    }), { numRuns: 300 })
  })

  it('a cloned frontier grows independently', () => {
    const f = new MerkleFrontier()
    for (const l of CT_LEAVES.slice(0, 5)) f.appendLeaf(l)
    const g = f.clone()
    for (const l of CT_LEAVES.slice(5)) g.appendLeaf(l)
    assert.equal(toHex(f.root()), CT_ROOTS[5])
    assert.equal(toHex(g.root()), CT_ROOTS[8])
  })
})

describe('ledger: proof generation matches the RFC 9162 recursive definitions', () => {
  it('inclusion paths for every leaf of every size up to 40, plus CT reference data', () => {
    const leaves = leavesOf(40)
    const log = new MerkleLog()
    for (const l of leaves) log.appendLeaf(l)
    const plain = plainSource(leaves.map(leafHash))
    for (let n = 1; n <= 40; n++) {
      for (let m = 0; m < n; m++) {
        const expected = hexes(path(m, leaves.slice(0, n)))
        assert.deepEqual(hexes(log.inclusionProof(m, n)), expected, `PATH(${m}, D[${n}])`)
        assert.deepEqual(hexes(inclusionProof(plain, m, n)), expected)
      }
    }
    const ct = new MerkleLog()
    for (const l of CT_LEAVES) ct.appendLeaf(l)
    assert.deepEqual(hexes(ct.inclusionProof(0, 8)), [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'
    ])
  })

  it('consistency proofs for every 0 < m < n <= 40, plus CT reference data', () => {
    const leaves = leavesOf(40)
    const log = new MerkleLog()
    for (const l of leaves) log.appendLeaf(l)
    for (let n = 1; n <= 40; n++) {
      for (let m = 1; m < n; m++) {
        const expected = hexes(proof(m, leaves.slice(0, n)))
        assert.deepEqual(hexes(log.consistencyProof(m, n)), expected, `PROOF(${m}, D[${n}])`)
        assert.equal(consistencyProofLength(m, n), expected.length)
        const explicit = hexes(log.consistencyProof(m, n, { explicit: true }))
        assert.deepEqual(explicit, isPowerOfTwo(m) ? [toHex(mth(leaves.slice(0, m))), ...expected] : expected)
      }
      assert.deepEqual(log.consistencyProof(n, n), [])
      assert.deepEqual(log.consistencyProof(0, n), [])
    }
    const ct = new MerkleLog()
    for (const l of CT_LEAVES) ct.appendLeaf(l)
    assert.deepEqual(hexes(ct.consistencyProof(1, 8)), [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'
    ])
    assert.deepEqual(hexes(ct.consistencyProof(6, 8)), [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'
    ])
    assert.deepEqual(hexes(ct.consistencyProof(2, 5)), [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'
    ])
  })

  it('generation refuses out-of-range indices and sizes', () => {
    const log = new MerkleLog()
    for (const l of CT_LEAVES) log.appendLeaf(l)
    for (const [i, n] of [[8, 8], [-1, 4], [0, 9], [0, 0], [1.5, 4]] as Array<[number, number]>) {
      assert.throws(() => log.inclusionProof(i, n), { name: 'InvalidProofError' })
    }
    for (const [m, n] of [[5, 4], [1, 9], [-1, 3]] as Array<[number, number]>) {
      assert.throws(() => log.consistencyProof(m, n), { name: 'InvalidProofError' })
    }
  })
})
