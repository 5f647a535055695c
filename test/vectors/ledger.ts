/**
 * Ledger vectors (docs/spec/ledger.md): leaf encoding, RFC 9162 roots, inclusion and consistency
 * proofs, signed tree heads, cosignatures and fork evidence, each with the result a compatible
 * implementation must reproduce. Deterministic (seeded keys, fixed clock), so regenerating gives the
 * committed ledger.json byte for byte.
 */
import { sha256, toHex } from '../../src/core/crypto/hash.ts'
import { encodeLeaf, MerkleLog } from '../../src/core/ledger/log.ts'
import type { LedgerEntry } from '../../src/core/ledger/log.ts'
import { leafHash } from '../../src/core/ledger/merkle.ts'
import { compareTreeHeads, encodeForkEvidence } from '../../src/core/ledger/fork.ts'
import { encodeCbor } from '../../src/core/codec/cbor.ts'
import { cosign, encodeCosignature, encodeTreeHeadBody, signTreeHead } from '../../src/core/ledger/tree-head.ts'
import { NOW, seededSigner } from '../utils/fixtures.ts'

const hex = toHex
const LOG = 'MA.156'

/** The entries of the vector log: an allocation, two record versions, a rotation, a revocation, more records. */
export function ledgerEntries (): LedgerEntry[] {
  const obj = (label: string): Uint8Array => sha256(new TextEncoder().encode(label))
  const entries: LedgerEntry[] = [
    { type: 'allocation', code: 'MA.156.1301', time: NOW, object: obj('certificate MA.156.1301') },
    { type: 'record', code: 'MA.156', seq: 1, time: NOW + 1, object: obj('record MA.156 seq 1') },
    { type: 'allocation', code: 'MA.156.1302', time: NOW + 2, object: obj('certificate MA.156.1302') },
    { type: 'record', code: 'MA.156', seq: 2, time: NOW + 3, object: obj('record MA.156 seq 2') },
    { type: 'rotation', code: 'MA.156', time: NOW + 4, object: obj('rotation MA.156') },
    { type: 'revocation', code: 'MA.156.1302', time: NOW + 5, object: obj('revocation MA.156.1302') },
    { type: 'allocation', code: 'MA.156.1303', time: NOW + 6, object: obj('certificate MA.156.1303') }
  ]
  return entries
}

function flip (bytes: Uint8Array, at: number): Uint8Array {
  const out = Uint8Array.from(bytes)
  out[at] = (out[at] as number) ^ 0x01
  return out
}

export function ledgerVectors (): unknown {
  const entries = ledgerEntries()
  const log = new MerkleLog()
  for (const e of entries) log.appendEntry(e)
  const n = log.size
  const key = seededSigner(40)
  const witnesses = [seededSigner(41), seededSigner(42)]

  const inclusion: unknown[] = []
  for (const [index, size] of [[0, 1], [0, 7], [3, 7], [6, 7], [4, 5], [2, 4]] as const) {
    inclusion.push({ index, size, leafHash: hex(log.leafHash(index)), proof: log.inclusionProof(index, size).map(hex), root: hex(log.root(size)), result: 'valid' })
  }
  const good = log.inclusionProof(3, 7)
  inclusion.push({ index: 3, size: 7, leafHash: hex(log.leafHash(3)), proof: good.map((h, i) => hex(i === 1 ? flip(h, 0) : h)), root: hex(log.root(7)), result: 'InvalidProofError', why: 'a flipped bit in the second proof hash' })
  inclusion.push({ index: 2, size: 7, leafHash: hex(log.leafHash(3)), proof: good.map(hex), root: hex(log.root(7)), result: 'InvalidProofError', why: 'the proof of leaf 3 offered for leaf 2' })
  inclusion.push({ index: 3, size: 7, leafHash: hex(log.leafHash(3)), proof: good.slice(0, -1).map(hex), root: hex(log.root(7)), result: 'InvalidProofError', why: 'a hash missing' })

  const consistency: unknown[] = []
  for (const [m, size] of [[1, 7], [3, 7], [4, 7], [6, 7], [2, 5], [7, 7]] as const) {
    consistency.push({ oldSize: m, newSize: size, oldRoot: hex(log.root(m)), newRoot: hex(log.root(size)), proof: log.consistencyProof(m, size).map(hex), result: 'valid' })
  }
  // a rewritten history: a log whose leaf 1 differs, grown to 7 leaves; its proof from 3 leads to its own root
  const rewritten = new MerkleLog()
  entries.forEach((e, i) => rewritten.appendEntry(i === 1 ? { ...e, object: sha256(new TextEncoder().encode('another record')) } : e))
  consistency.push({ oldSize: 3, newSize: 7, oldRoot: hex(log.root(3)), newRoot: hex(rewritten.root(7)), proof: rewritten.consistencyProof(3, 7).map(hex), result: 'InconsistentTreeError', why: 'the new tree rewrote leaf 1' })
  consistency.push({ oldSize: 3, newSize: 7, oldRoot: hex(log.root(3)), newRoot: hex(log.root(7)), proof: log.consistencyProof(3, 7).map((h, i) => hex(i === 0 ? flip(h, 5) : h)), result: 'InvalidProofError', why: 'a flipped bit in the proof' })

  const heads = [3, 7].map(size => signTreeHead({ log: LOG, size, root: log.root(size), time: NOW + 10 + size }, key))
  const [h3, h7] = heads as [ReturnType<typeof signTreeHead>, ReturnType<typeof signTreeHead>]
  const co = witnesses.map((w, i) => encodeCosignature(cosign(h7, w, NOW + 20 + i)))
  // the head of size 7 is dated NOW + 17; a cosignature may be dated up to 5 min (the clock skew) before it
  const coEarly = encodeCosignature(cosign(h7, seededSigner(41), h7.head.time - 300_000))
  const coTooEarly = encodeCosignature(cosign(h7, seededSigner(41), h7.head.time - 300_001))
  const forkedSame = signTreeHead({ log: LOG, size: 7, root: rewritten.root(7), time: NOW + 30 }, key)
  const sameSize = compareTreeHeads(h7, forkedSame, key.publicKey)
  const notExtended = compareTreeHeads(h3, signTreeHead({ log: LOG, size: 7, root: rewritten.root(7), time: NOW + 31 }, key), key.publicKey, rewritten.consistencyProof(3, 7))
  if (sameSize.status !== 'fork' || notExtended.status !== 'fork') throw new Error('the vector forks must be forks')

  return {
    description: 'Ledger (docs/spec/ledger.md): leaves are canonical DAG-CBOR LedgerEntry maps; leaf hash = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right) (RFC 9162); proofs in RFC 9162 form; signed tree heads, cosignatures and fork evidence as specified. Every `result` is what verification must give.',
    now: NOW + 60_000,
    logKey: hex(key.publicKey),
    witnessKeys: witnesses.map(w => hex(w.publicKey)),
    leaves: entries.map((e, i) => ({ entry: { ...e, object: hex(e.object) }, leaf: hex(encodeLeaf(e)), leafHash: hex(leafHash(encodeLeaf(e))), index: i })),
    roots: Array.from({ length: n + 1 }, (_, size) => ({ size, root: hex(log.root(size)) })),
    inclusion,
    consistency,
    treeHeads: [
      { name: 'head of size 3', head: hex(h3.bytes), result: 'valid', size: 3, root: hex(log.root(3)) },
      { name: 'head of size 7', head: hex(h7.bytes), result: 'valid', size: 7, root: hex(log.root(7)) },
      { name: 'head of size 7, a bit flipped in the signature (canonical key order puts sig first)', head: hex(flip(h7.bytes, 17)), result: 'BadSignatureError' },
      { name: 'the signature of the head of size 7 on a body of size 6', head: hex(encodeCbor({ body: encodeTreeHeadBody({ log: LOG, size: 6, root: log.root(6), time: h7.head.time }), sig: h7.sig })), result: 'BadSignatureError' },
      { name: 'head truncated', head: hex(h7.bytes.subarray(0, h7.bytes.length - 1)), result: 'MalformedRecordError' }
    ],
    cosignatures: [
      { name: 'witness 0 cosigns the head of size 7', head: hex(h7.bytes), cosignature: hex(co[0] as Uint8Array), result: 'valid' },
      { name: 'witness 1 cosigns the head of size 7', head: hex(h7.bytes), cosignature: hex(co[1] as Uint8Array), result: 'valid' },
      { name: 'witness 0 cosignature offered for the head of size 3', head: hex(h3.bytes), cosignature: hex(co[0] as Uint8Array), result: 'BadSignatureError' },
      { name: 'dated 5 min before the head (the clock skew allowed)', head: hex(h7.bytes), cosignature: hex(coEarly), result: 'valid' },
      { name: 'dated 5 min and 1 ms before the head', head: hex(h7.bytes), cosignature: hex(coTooEarly), result: 'TreeHeadFromFutureError' }
    ],
    forkEvidence: [
      { name: 'two heads of size 7 with different roots', evidence: hex(sameSize.evidence), result: 'same-size' },
      { name: 'a head of size 7 that does not extend the head of size 3, with the proof', evidence: hex(notExtended.evidence), result: 'not-extended' },
      { name: 'two copies of one head are no fork', evidence: hex(encodeForkEvidence(h7.bytes, h7.bytes)), result: 'InvalidForkEvidenceError' }
    ]
  }
}
