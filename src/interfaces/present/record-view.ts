import { toPrinted } from '../../core/code/check-character.ts'
import { sha256, toHex } from '../../core/crypto/hash.ts'
import type { VerifiedRecord } from '../../core/record/verify.ts'
import type { RecordValue } from '../../core/record/values.ts'

/** A verified record as people and JSON clients see it (CLI `--json`, gateway, explorer). */
export interface RecordView {
  code: string
  printed: string
  seq: number
  issuedAt: string
  expiresAt: string
  ttlSeconds: number
  hash: string
  prev: string | null
  key: string
  values: Array<Record<string, string | number>>
  verification: {
    valid: true
    anchor: string
    namespace: string
    chain: Array<{ namespace: string, kind: string, subject: string, serial: number, notAfter: string, hash: string }>
  }
}

function valueView (v: RecordValue): Record<string, string | number> {
  switch (v.type) {
    case 'geo': return { type: 'geo', lat: v.lat / 1e6, lon: v.lon / 1e6 }
    case 'key': return { type: 'key', name: v.name, key: toHex(v.key) }
    default: return { ...v }
  }
}

export function recordView (verified: VerifiedRecord): RecordView {
  const b = verified.record.body
  return {
    code: b.code,
    printed: toPrinted(b.code),
    seq: b.seq,
    issuedAt: new Date(b.issuedAt).toISOString(),
    expiresAt: new Date(b.expiresAt).toISOString(),
    ttlSeconds: Math.round(b.ttl / 1000),
    hash: toHex(sha256(verified.record.bytes)),
    prev: b.prev === null ? null : toHex(b.prev),
    key: toHex(b.key),
    values: b.values.map(valueView),
    verification: {
      valid: true,
      anchor: verified.chain.anchor.name,
      namespace: verified.chain.namespace,
      chain: verified.chain.certificates.map(c => ({
        namespace: c.body.namespace,
        kind: c.body.kind,
        subject: toHex(c.body.subject),
        serial: c.body.serial,
        notAfter: new Date(c.body.notAfter).toISOString(),
        hash: toHex(c.hash)
      }))
    }
  }
}

/** The record's display name: English first, else any. */
export function displayName (verified: VerifiedRecord): string {
  const names = verified.record.body.values.filter((v): v is Extract<RecordValue, { type: 'name' }> => v.type === 'name')
  return (names.find(n => n.lang === 'en') ?? names[0])?.value ?? ''
}

/** Human lines for the terminal. */
export function recordText (verified: VerifiedRecord, source?: string, elapsedMs?: number): string {
  const v = recordView(verified)
  const lines = [
    `${v.code}  ${displayName(verified)}   (printed ${v.printed})`,
    `  seq ${v.seq}, issued ${v.issuedAt}, expires ${v.expiresAt}, ttl ${v.ttlSeconds} s`
  ]
  for (const value of v.values) {
    const { type, ...rest } = value
    lines.push(`  ${String(type).padEnd(8)} ${Object.values(rest).join('  ')}`)
  }
  lines.push(`  verified: chain ${[v.verification.anchor, ...v.verification.chain.map(c => c.namespace)].join(' -> ')}`)
  if (source !== undefined) lines.push(`  answered from ${source}${elapsedMs !== undefined ? ` in ${elapsedMs.toFixed(1)} ms` : ''}`)
  return lines.join('\n')
}
