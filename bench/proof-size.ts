/**
 * Proof bundle size and verification cost (issue 9). For a city code and for a sub-code holding its
 * own key (three certificates: country, city, sub-code), each with and without the ledger part:
 * bundle bytes (DAG-CBOR), compressed bytes, text length (`CC1:` + base45) and the QR version at
 * medium error correction. Target: a city code's bundle without ledger proof <= 1 KiB compressed,
 * in one QR code. Verification of a bundle (and of its text form) is timed against the verification
 * of the bare record, in the same run, with the chain cached in both.
 */
import { zlibSync } from 'fflate'
import { ChainVerifier, bundleFromText, bundleToText, createBundle, createRecord, issueCertificate, sha256, verifyBundle, verifyRecord } from '../src/core/index.ts'
import type { RecordValue, Signer } from '../src/core/index.ts'
import { MerkleLog } from '../src/core/ledger/log.ts'
import { cosign, signTreeHead } from '../src/core/ledger/tree-head.ts'
import { qrVersion } from '../src/services/proof/qr.ts'
import { DAY_MS, hierarchy, NOW, sampleValues, seededSigner, YEAR_MS } from '../test/utils/fixtures.ts'
import { interleave, median, pairedRatio, writeResults } from './harness.ts'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9)
/** Entries in the signer's log before the record's: the inclusion path has log2 of this many hashes. */
const LOG_ENTRIES = 1000
const WITNESSES = 2
const N = 200

const h = hierarchy()
const sub = seededSigner(7)
const subCert = issueCertificate({ namespace: 'MA.156.1301.01', subject: sub.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign'] }, [h.city])
// what a node adds to its own record when it publishes: its peer id and listen addresses
const published: RecordValue[] = [
  { type: 'peer', id: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo' },
  { type: 'addr', value: '/ip4/203.0.113.17/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo' }
]

interface Case { name: string, code: string, signer: Signer, chain: Uint8Array[], values: RecordValue[], certificates: number }
const cases: Case[] = [
  { name: 'city', code: 'MA.156.1301', signer: h.city, chain: h.chain, values: sampleValues(), certificates: 2 },
  { name: 'city as published by its node (+ peer id, address)', code: 'MA.156.1301', signer: h.city, chain: h.chain, values: [...sampleValues(), ...published], certificates: 2 },
  { name: 'sub-code with its own key', code: 'MA.156.1301.01', signer: sub, chain: [...h.chain, subCert.bytes], values: [{ type: 'name', lang: 'en', value: 'Urban management bureau' }, { type: 'name', lang: 'zh', value: '城市管理局' }], certificates: 3 }
]

function ledgerFor (record: Uint8Array, code: string, seq: number, issuedAt: number, signer: Signer, log: string): Parameters<typeof createBundle>[0]['ledger'] {
  const tree = new MerkleLog()
  for (let i = 0; i < LOG_ENTRIES; i++) tree.appendEntry({ type: 'allocation', code: `${log}.${i + 10}`, time: NOW - 100_000 + i, object: sha256(Uint8Array.of(i & 255, i >> 8)) })
  const index = tree.appendEntry({ type: 'record', code, seq, time: issuedAt, object: sha256(record) })
  const sth = signTreeHead({ log, size: tree.size, root: tree.root(), time: NOW - 100 }, signer)
  return { head: sth.bytes, index, path: tree.inclusionProof(index), cosignatures: Array.from({ length: WITNESSES }, (_, w) => cosign(sth, seededSigner(60 + w), NOW - 50)) }
}

const sizes = []
for (const c of cases) {
  const record = createRecord({ code: c.code, seq: 1, issuedAt: NOW - 1000, expiresAt: NOW + 30 * DAY_MS, ttl: 300_000, values: c.values }, c.signer, c.chain)
  const log = c.certificates === 3 ? 'MA.156.1301.01' : 'MA.156.1301'
  for (const withLedger of [false, true]) {
    const bundle = createBundle({ record: record.bytes, madeAt: NOW, ledger: withLedger ? ledgerFor(record.bytes, c.code, 1, NOW - 1000, c.signer, log) : null }, c.signer)
    const text = bundleToText(bundle.bytes)
    verifyBundle(bundleFromText(text), new ChainVerifier(h.anchors), { now: NOW })
    sizes.push({
      case: c.name,
      certificates: c.certificates,
      ledger: withLedger,
      recordBytes: record.bytes.length,
      bundleBytes: bundle.bytes.length,
      compressedBytes: zlibSync(bundle.bytes, { level: 9 }).length,
      textChars: text.length,
      qrVersionM: qrVersion(text)
    })
  }
}

// verification cost: bundle (bytes, and text form) against the bare record, chain cached in all
const records = Array.from({ length: N }, (_, i) => createRecord({ code: 'MA.156.1301', seq: i + 1, issuedAt: NOW - 1000, expiresAt: NOW + 30 * DAY_MS, ttl: 300_000, values: sampleValues() }, h.city, h.chain).bytes)
const bundles = records.map(r => createBundle({ record: r, madeAt: NOW }, h.city).bytes)
const texts = bundles.map(b => bundleToText(b))
const verifier = new ChainVerifier(h.anchors)
verifyRecord(records[0] as Uint8Array, verifier, { now: NOW })
let a = 0
let b = 0
let t = 0
const rounds = interleave({
  record: { fn: () => { verifyRecord(records[a++ % N] as Uint8Array, verifier, { now: NOW }) }, iterations: N },
  bundle: { fn: () => { verifyBundle(bundles[b++ % N] as Uint8Array, verifier, { now: NOW }) }, iterations: N },
  text: { fn: () => { verifyBundle(bundleFromText(texts[t++ % N] as string), verifier, { now: NOW }) }, iterations: N }
}, ROUNDS)
const recordRate = rounds.record as number[]

const city = sizes.find(s => s.case === 'city' && !s.ledger)
const figures = {
  sizes,
  verify: {
    recordPerSecond: Math.round(median(recordRate)),
    bundlePerSecond: Math.round(median(rounds.bundle as number[])),
    textPerSecond: Math.round(median(rounds.text as number[])),
    bundleVsRecordRatio: Number(pairedRatio(rounds.bundle as number[], recordRate).toFixed(3)),
    textVsRecordRatio: Number(pairedRatio(rounds.text as number[], recordRate).toFixed(3))
  },
  logEntries: LOG_ENTRIES,
  witnesses: WITNESSES,
  rounds: ROUNDS,
  targets: { cityCompressedBytesWithoutLedger: 1024, qrVersionM: 40 },
  met: city !== undefined && city.compressedBytes <= 1024 && city.qrVersionM <= 40
}
console.log('proof-size: bundle bytes, text form and QR version (medium error correction); verification vs the bare record (same run)')
for (const s of sizes) {
  console.log(`  ${s.case.padEnd(52)} ${s.ledger ? 'ledger   ' : 'no ledger'}  record ${String(s.recordBytes).padStart(5)} B  bundle ${String(s.bundleBytes).padStart(5)} B  compressed ${String(s.compressedBytes).padStart(5)} B  text ${String(s.textChars).padStart(5)} chars  QR ${s.qrVersionM}-M`)
}
console.log(`  target: city bundle without ledger <= 1024 B compressed, one QR code: ${figures.met ? 'met' : 'NOT MET'}`)
console.log(`  verify bare record ${figures.verify.recordPerSecond} /s; bundle ${figures.verify.bundlePerSecond} /s (ratio ${figures.verify.bundleVsRecordRatio}); from text ${figures.verify.textPerSecond} /s (ratio ${figures.verify.textVsRecordRatio})`)
console.log(`  wrote ${writeResults('proof-size', figures)}`)
