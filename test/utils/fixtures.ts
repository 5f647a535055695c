import { createRecord, issueCertificate, signerFromSeed, sha256 } from '../../src/core/index.ts'
import type { Certificate, RecordValue, Signer, SignedRecord, TrustAnchor } from '../../src/core/index.ts'

/** A fixed clock for tests and vectors: 2026-01-01T00:00:00Z. */
export const NOW = Date.UTC(2026, 0, 1)
export const DAY_MS = 86_400_000
export const YEAR_MS = 365 * DAY_MS

/** A deterministic key from a small number, so vectors are reproducible. */
export function seededSigner (n: number): Signer {
  return signerFromSeed(sha256(new TextEncoder().encode(`citycode test key ${n}`)))
}

export interface Hierarchy {
  root: Signer
  country: Signer
  city: Signer
  anchors: TrustAnchor[]
  countryCert: Certificate
  cityCert: Certificate
  chain: Uint8Array[]
}

/** Root MA -> country MA.156 -> city MA.156.1301 (Shijiazhuang), all valid for a year around NOW. */
export function hierarchy (options: { city?: string, country?: string, cityNext?: Uint8Array } = {}): Hierarchy {
  const root = seededSigner(1)
  const country = seededSigner(2)
  const city = seededSigner(3)
  const countryNs = options.country ?? 'MA.156'
  const cityNs = options.city ?? 'MA.156.1301'
  const anchors: TrustAnchor[] = [{ name: 'test-root', namespace: 'MA', keys: [root.publicKey], threshold: 1 }]
  const countryCert = issueCertificate({ namespace: countryNs, subject: country.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'] }, [root])
  const cityCert = issueCertificate({ namespace: cityNs, subject: city.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign', 'delegate'], next: options.cityNext ?? null }, [country])
  return { root, country, city, anchors, countryCert, cityCert, chain: [countryCert.bytes, cityCert.bytes] }
}

export function sampleValues (): RecordValue[] {
  return [
    { type: 'name', lang: 'en', value: 'Shijiazhuang' },
    { type: 'name', lang: 'zh', value: '石家庄市' },
    { type: 'geo', lat: 38_041_390, lon: 114_478_610 },
    { type: 'service', name: 'open-data', url: 'https://data.example.org/sjz' }
  ]
}

export function cityRecord (h: Hierarchy, fields: { code?: string, seq?: number, issuedAt?: number, expiresAt?: number, prev?: Uint8Array | null } = {}, signer: Signer = h.city, chain: Uint8Array[] = h.chain): SignedRecord {
  return createRecord({
    code: fields.code ?? 'MA.156.1301',
    seq: fields.seq ?? 1,
    issuedAt: fields.issuedAt ?? NOW - 1000,
    expiresAt: fields.expiresAt ?? NOW + 30 * DAY_MS,
    ttl: 300_000,
    prev: fields.prev ?? null,
    values: sampleValues()
  }, signer, chain)
}
