/**
 * Record + chain verification throughput against raw node:crypto Ed25519 verify, same run.
 * Targets (issue 3): a record whose chain is cached >= 0.9x raw single-signature speed; a cold
 * record with a three-signature chain (root -> country -> city certificates, then the record)
 * >= 0.9x of three raw verifies.
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto'
import { ChainVerifier, createRecord, issueCertificate, verifyRecord } from '../src/core/index.ts'
import { DAY_MS, hierarchy, NOW, sampleValues, YEAR_MS } from '../test/utils/fixtures.ts'
import { interleave, median, pairedRatio, writeResults } from './harness.ts'

const h = hierarchy()
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9)
const N = 400

// Distinct records (cold for the record, warm for the chain) so nothing but the chain is cached.
const records = Array.from({ length: N }, (_, i) => createRecord({ code: 'MA.156.1301', seq: i + 1, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 60_000, values: sampleValues() }, h.city, h.chain).bytes)
// Cold chains: each record brings its own freshly issued city certificate.
const coldRecords = Array.from({ length: N }, (_, i) => {
  const cityCert = issueCertificate({ namespace: 'MA.156.1301', subject: h.city.publicKey, serial: 100 + i, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [h.country])
  const countryCert = issueCertificate({ namespace: 'MA.156', subject: h.country.publicKey, serial: 100 + i, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [h.root])
  return createRecord({ code: 'MA.156.1301', seq: 1, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 60_000, values: sampleValues() }, h.city, [countryCert.bytes, cityCert.bytes]).bytes
})

const { publicKey, privateKey } = generateKeyPairSync('ed25519')
const messages = records.map(r => Buffer.from(r.subarray(0, 600)))
const signatures = messages.map(m => sign(null, m, privateKey))

const warm = new ChainVerifier(h.anchors)
verifyRecord(records[0] as Uint8Array, warm, { now: NOW })
let i = 0
let j = 0
let k = 0
const rounds = interleave({
  raw: { fn: () => { const n = i++ % N; verify(null, messages[n] as Buffer, publicKey, signatures[n] as Buffer) }, iterations: N },
  cachedChain: { fn: () => { verifyRecord(records[j++ % N] as Uint8Array, warm, { now: NOW }) }, iterations: N },
  coldChain: { fn: () => { verifyRecord(coldRecords[k++ % N] as Uint8Array, new ChainVerifier(h.anchors, 0), { now: NOW }) }, iterations: N / 4 }
}, ROUNDS)

const raw = rounds.raw as number[]
const figures = {
  rawVerifyPerSecond: Math.round(median(raw)),
  cachedChainRecordsPerSecond: Math.round(median(rounds.cachedChain as number[])),
  coldChainRecordsPerSecond: Math.round(median(rounds.coldChain as number[])),
  cachedChainVsRawRatio: Number(pairedRatio(rounds.cachedChain as number[], raw).toFixed(3)),
  coldChainVsThreeRawRatio: Number(pairedRatio((rounds.coldChain as number[]).map(x => x * 3), raw).toFixed(3)),
  recordBytes: records[0]?.length,
  rounds: ROUNDS,
  targets: { cachedChainVsRawRatio: 0.9, coldChainVsThreeRawRatio: 0.9 }
}
console.log('verify: record + chain verification against raw node:crypto Ed25519 verify (same run, median of paired rounds)')
console.log(`  raw Ed25519 verify           ${figures.rawVerifyPerSecond} /s`)
console.log(`  record, chain cached         ${figures.cachedChainRecordsPerSecond} /s   ratio ${figures.cachedChainVsRawRatio} (target >= 0.9)`)
console.log(`  record, cold 3-signature     ${figures.coldChainRecordsPerSecond} /s   ratio vs 3 raw ${figures.coldChainVsThreeRawRatio} (target >= 0.9)`)
console.log(`  wrote ${writeResults('verify', figures)}`)
