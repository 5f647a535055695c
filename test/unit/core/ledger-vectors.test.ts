import assert from 'node:assert/strict'
import { fromHex, toHex } from '../../../src/core/index.ts'
import { decodeLeaf, encodeLeaf } from '../../../src/core/ledger/log.ts'
import type { LedgerEntryType } from '../../../src/core/ledger/log.ts'
import { leafHash, merkleTreeHash } from '../../../src/core/ledger/merkle.ts'
import { verifyConsistency, verifyInclusion } from '../../../src/core/ledger/proofs.ts'
import { decodeCosignature, decodeSignedTreeHead, verifyCosignature, verifyTreeHead } from '../../../src/core/ledger/tree-head.ts'
import { verifyForkEvidence } from '../../../src/core/ledger/fork.ts'
import { loadVector } from '../../utils/vectors.ts'
import { errorName } from '../../utils/errors.ts'

interface LeafCase { entry: { type: LedgerEntryType, code: string, seq?: number, time: number, object: string }, leaf: string, leafHash: string }
interface InclusionCase { index: number, size: number, leafHash: string, proof: string[], root: string, result: string }
interface ConsistencyCase { oldSize: number, newSize: number, oldRoot: string, newRoot: string, proof: string[], result: string }
interface Ledger {
  now: number
  logKey: string
  leaves: LeafCase[]
  roots: Array<{ size: number, root: string }>
  inclusion: InclusionCase[]
  consistency: ConsistencyCase[]
  treeHeads: Array<{ name: string, head: string, result: string, size?: number, root?: string }>
  cosignatures: Array<{ name: string, head: string, cosignature: string, result: string }>
  forkEvidence: Array<{ name: string, evidence: string, result: string }>
}

/** 'valid' when fn returns, else the thrown error's name. */
function outcome (fn: () => unknown): string {
  return errorName(fn) ?? 'valid'
}

describe('ledger.json vectors', () => {
  const v = loadVector<Ledger>('ledger.json')

  it('leaves: entries encode to the given bytes, decode back, and hash with the 0x00 prefix', () => {
    assert.ok(v.leaves.length >= 5)
    for (const c of v.leaves) {
      const entry = { ...c.entry, object: fromHex(c.entry.object) }
      assert.equal(toHex(encodeLeaf(entry)), c.leaf)
      assert.deepEqual(decodeLeaf(fromHex(c.leaf)), entry)
      assert.equal(toHex(leafHash(fromHex(c.leaf))), c.leafHash)
    }
  })

  it('roots: the RFC 9162 Merkle tree hash of every prefix of the log', () => {
    const leaves = v.leaves.map(c => fromHex(c.leaf))
    assert.equal(v.roots.length, leaves.length + 1)
    for (const r of v.roots) assert.equal(toHex(merkleTreeHash(leaves.slice(0, r.size))), r.root, `size ${r.size}`)
  })

  it('inclusion proofs: valid ones verify, tampered ones fail with the error named', () => {
    assert.ok(v.inclusion.some(c => c.result !== 'valid'))
    for (const c of v.inclusion) {
      assert.equal(outcome(() => verifyInclusion(fromHex(c.leafHash), c.index, c.size, c.proof.map(fromHex), fromHex(c.root))), c.result, `leaf ${c.index} of ${c.size}`)
    }
  })

  it('consistency proofs: valid ones verify, a rewritten history is inconsistent, a tampered proof invalid', () => {
    assert.ok(v.consistency.some(c => c.result === 'InconsistentTreeError'))
    for (const c of v.consistency) {
      assert.equal(outcome(() => verifyConsistency(c.oldSize, c.newSize, fromHex(c.oldRoot), fromHex(c.newRoot), c.proof.map(fromHex))), c.result, `${c.oldSize} -> ${c.newSize}`)
    }
  })

  it('signed tree heads verify under the log key, or fail with the error named', () => {
    for (const c of v.treeHeads) {
      assert.equal(outcome(() => verifyTreeHead(fromHex(c.head), fromHex(v.logKey), { now: v.now, log: 'MA.156' })), c.result, c.name)
      if (c.result === 'valid') {
        const sth = decodeSignedTreeHead(fromHex(c.head))
        assert.equal(sth.head.size, c.size)
        assert.equal(toHex(sth.head.root), c.root)
      }
    }
  })

  it('cosignatures verify against the head they cosign only', () => {
    for (const c of v.cosignatures) {
      const sth = decodeSignedTreeHead(fromHex(c.head))
      assert.equal(outcome(() => verifyCosignature(sth, decodeCosignature(fromHex(c.cosignature)), { now: v.now })), c.result, c.name)
    }
  })

  it('fork evidence: each kind is recognised, non-evidence refused', () => {
    for (const c of v.forkEvidence) {
      let got: string
      try {
        got = verifyForkEvidence(fromHex(c.evidence), fromHex(v.logKey)).kind
      } catch (err) {
        got = (err as Error).name
      }
      assert.equal(got, c.result, c.name)
    }
  })
})
