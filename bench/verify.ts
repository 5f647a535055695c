/**
 * Record + chain verification throughput against raw node:crypto Ed25519 verify, same run.
 * Targets (issue 3): a record whose chain is cached >= 0.9x raw single-signature speed; a cold
 * record with a three-signature chain (root -> country -> city certificates, then the record)
 * >= 0.9x of three raw verifies.
 *
 * The baselines verify the very signatures the records carry, over the very payloads
 * (domain prefix || body bytes), with the same primitive (node:crypto `verify` on a KeyObject
 * built once per key, which is also what src/core/crypto/signature.ts does): all that separates a
 * baseline from its case is decoding, the chain and the checks.
 */
import { createPublicKey, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { ChainVerifier, createRecord, decodeCertificate, issueCertificate, signingPayload, verifyRecord } from '../src/core/index.ts'
import type { SignatureDomain } from '../src/core/index.ts'
import { DAY_MS, hierarchy, NOW, sampleValues, YEAR_MS } from '../test/utils/fixtures.ts'
import { interleaveClocks, median, quantile, writeResults } from './harness.ts'
import type { Rounds } from './harness.ts'

const h = hierarchy()
// Many short rounds rather than a few long ones: on a shared machine a burst of other work then
// lands in one round of one case and the median of the paired ratios discards it.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 101)
const BATCH = 48
const N = 400

// Distinct records (cold for the record, warm for the chain) so nothing but the chain is cached.
const records = Array.from({ length: N }, (_, i) => createRecord({ code: 'MA.156.1301', seq: i + 1, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 60_000, values: sampleValues() }, h.city, h.chain))
// Cold chains: each record brings its own freshly issued country and city certificates.
const coldRecords = Array.from({ length: N }, (_, i) => {
  const cityCert = issueCertificate({ namespace: 'MA.156.1301', subject: h.city.publicKey, serial: 100 + i, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [h.country])
  const countryCert = issueCertificate({ namespace: 'MA.156', subject: h.country.publicKey, serial: 100 + i, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [h.root])
  return createRecord({ code: 'MA.156.1301', seq: 1, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 60_000, values: sampleValues() }, h.city, [countryCert.bytes, cityCert.bytes])
})

interface RawCheck { payload: Buffer, key: KeyObject, sig: Buffer }
const keyObjects = new Map<string, KeyObject>()
function keyObject (raw: Uint8Array): KeyObject {
  const id = Buffer.from(raw).toString('hex')
  let key = keyObjects.get(id)
  if (key === undefined) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
    keyObjects.set(id, key)
  }
  return key
}
function rawCheck (domain: SignatureDomain, body: Uint8Array, sig: Uint8Array, key: Uint8Array): RawCheck {
  return { payload: Buffer.from(signingPayload(domain, body)), key: keyObject(key), sig: Buffer.from(sig) }
}
const rawSingle = records.map(r => rawCheck('record', r.bodyBytes, r.sig, r.body.key))
const rawTriples = coldRecords.map(r => [
  ...r.chain.map(bytes => {
    const cert = decodeCertificate(bytes)
    const s = cert.sigs[0] as { key: Uint8Array, sig: Uint8Array }
    return rawCheck('cert', cert.bodyBytes, s.sig, s.key)
  }),
  rawCheck('record', r.bodyBytes, r.sig, r.body.key)
])
for (const c of [...rawSingle, ...rawTriples.flat()]) if (!verify(null, c.payload, c.key, c.sig)) throw new Error('baseline signature does not verify')

const recordBytes = records.map(r => r.bytes)
const coldBytes = coldRecords.map(r => r.bytes)
const warm = new ChainVerifier(h.anchors)
verifyRecord(recordBytes[0] as Uint8Array, warm, { now: NOW })
let i = 0
let j = 0
let k = 0
let l = 0
const clocks = interleaveClocks({
  raw: { fn: () => { const c = rawSingle[i++ % N] as RawCheck; verify(null, c.payload, c.key, c.sig) }, iterations: BATCH },
  cachedChain: { fn: () => { verifyRecord(recordBytes[j++ % N] as Uint8Array, warm, { now: NOW }) }, iterations: BATCH },
  rawThree: { fn: () => { for (const c of rawTriples[k++ % N] as RawCheck[]) verify(null, c.payload, c.key, c.sig) }, iterations: BATCH / 3 },
  coldChain: { fn: () => { verifyRecord(coldBytes[l++ % N] as Uint8Array, new ChainVerifier(h.anchors, 0), { now: NOW }) }, iterations: BATCH / 3 }
}, ROUNDS)

const r3 = (x: number): number => Number(x.toFixed(3))
function summary (rounds: Rounds): Record<string, number | number[]> {
  const ratios = (a: string, b: string): number[] => (rounds[a] as number[]).map((x, n) => x / ((rounds[b] as number[])[n] as number))
  const cached = ratios('cachedChain', 'raw')
  const cold = ratios('coldChain', 'rawThree')
  return {
    rawVerifyPerSecond: Math.round(median(rounds.raw as number[])),
    cachedChainRecordsPerSecond: Math.round(median(rounds.cachedChain as number[])),
    rawThreeVerifiesPerSecond: Math.round(median(rounds.rawThree as number[])),
    coldChainRecordsPerSecond: Math.round(median(rounds.coldChain as number[])),
    cachedChainVsRawRatio: r3(median(cached)),
    cachedChainVsRawRatioP10P90: [r3(quantile(cached, 0.1)), r3(quantile(cached, 0.9))],
    coldChainVsThreeRawRatio: r3(median(cold)),
    coldChainVsThreeRawRatioP10P90: [r3(quantile(cold, 0.1)), r3(quantile(cold, 0.9))]
  }
}
const cpu = summary(clocks.cpu)
const wall = summary(clocks.wall)
const figures = {
  ...cpu,
  wallClock: wall,
  recordBytes: recordBytes[0]?.length,
  signedPayloadBytes: rawSingle[0]?.payload.length,
  rounds: ROUNDS,
  batch: BATCH,
  targets: { cachedChainVsRawRatio: 0.9, coldChainVsThreeRawRatio: 0.9 }
}
const range = (x: unknown): string => (x as number[]).join('-')
console.log('verify: record + chain verification against raw node:crypto Ed25519 verify of the same signatures')
console.log(`  (${ROUNDS} interleaved rounds; ratios are medians of per-round ratios on the CPU clock, p10-p90 in brackets; wall clock after "wall")`)
console.log(`  raw Ed25519 verify, record payload        ${cpu.rawVerifyPerSecond} /s`)
console.log(`  record, chain cached                      ${cpu.cachedChainRecordsPerSecond} /s   ratio ${cpu.cachedChainVsRawRatio} [${range(cpu.cachedChainVsRawRatioP10P90)}]   wall ${wall.cachedChainVsRawRatio} [${range(wall.cachedChainVsRawRatioP10P90)}]   target >= 0.9`)
console.log(`  raw Ed25519 verify x3 (2 certs + record)  ${cpu.rawThreeVerifiesPerSecond} /s`)
console.log(`  record, cold 3-signature chain            ${cpu.coldChainRecordsPerSecond} /s   ratio ${cpu.coldChainVsThreeRawRatio} [${range(cpu.coldChainVsThreeRawRatioP10P90)}]   wall ${wall.coldChainVsThreeRawRatio} [${range(wall.coldChainVsThreeRawRatioP10P90)}]   target >= 0.9`)
console.log(`  wrote ${writeResults('verify', figures)}`)
