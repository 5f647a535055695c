import { toPrinted } from '../../core/code/check-character.ts'
import { toHex } from '../../core/crypto/hash.ts'
import type { VerifiedAbsence } from '../../core/proof/absence.ts'
import type { VerifiedBundle } from '../../core/proof/bundle.ts'
import { displayName, recordText, recordView } from './record-view.ts'
import type { RecordView } from './record-view.ts'

/** What each bundle check establishes, for people (SPEC "Bundle validation order"). */
const CHECK_TEXT: Record<string, string> = {
  decode: 'canonical bundle encoding',
  'made-at': 'bundle not dated in the future',
  record: 'record signature, delegation chain to a configured anchor, validity now, no known revocation',
  'valid-when-made': 'record and every certificate valid and unrevoked when the bundle was made',
  'bundle-signature': 'bundle signed by a key of the chain',
  'ledger-inclusion': 'record version included in its signer\'s ledger under a signed tree head',
  cosignatures: 'every witness cosignature of that head verifies',
  'witness-policy': 'the required witnesses cosigned the head'
}

/** A verified bundle as people and JSON clients see it (CLI `verify --json`, gateway, explorer). */
export interface BundleView {
  valid: true
  code: string
  printed: string
  name: string
  /** The namespace whose key signs the record (the holder, or the authority registering a sub-code), and the anchor. */
  holder: { namespace: string, key: string, anchor: string }
  madeAt: string
  signedBy: { role: string, namespace: string, key: string }
  ledger: { log: string, size: number, index: number, headTime: string, witnesses: string[] } | null
  checks: Array<{ check: string, what: string }>
  record: RecordView
}

export function bundleView (v: VerifiedBundle): BundleView {
  const body = v.verified.record.body
  return {
    valid: true,
    code: body.code,
    printed: toPrinted(body.code),
    name: displayName(v.verified),
    holder: { namespace: v.verified.chain.namespace, key: toHex(body.key), anchor: v.verified.chain.anchor.name },
    madeAt: new Date(v.madeAt).toISOString(),
    signedBy: { role: v.signer.role, namespace: v.signer.namespace, key: toHex(v.signer.key) },
    ledger: v.ledger === null
      ? null
      : { log: v.ledger.log, size: v.ledger.size, index: v.ledger.index, headTime: new Date(v.ledger.headTime).toISOString(), witnesses: v.ledger.witnesses.map(toHex) },
    checks: v.checks.map(check => ({ check, what: CHECK_TEXT[check] ?? check })),
    record: recordView(v.verified)
  }
}

export function bundleText (v: VerifiedBundle): string {
  const view = bundleView(v)
  const lines = [
    `VALID proof bundle for ${view.code}  ${view.name}   (printed ${view.printed})`,
    `  held by ${view.holder.namespace} (key ${view.holder.key.slice(0, 16)}…), anchored in ${view.holder.anchor}`,
    `  bundle made ${view.madeAt}, signed by the ${view.signedBy.role} ${view.signedBy.namespace}`,
    view.ledger === null
      ? '  ledger: no inclusion proof in this bundle'
      : `  ledger: entry #${view.ledger.index} of ${view.ledger.log}'s log (${view.ledger.size} entries, head signed ${view.ledger.headTime}), ${view.ledger.witnesses.length} witness cosignature(s)`,
    // the record's lines without its heading, which the first line already gives
    ...recordText(v.verified).split('\n').slice(1),
    '  checks passed:'
  ]
  for (const c of view.checks) lines.push(`    ok  ${c.check.padEnd(17)} ${c.what}`)
  return lines.join('\n')
}

export interface AbsenceView {
  code: string
  exists: false
  proven: true
  /** The code the proof is about: the asked code or its ancestor directly under `authority`. */
  absent: string
  authority: string
  signedAt: string
  expiresAt: string
}

export function absenceView (code: string, a: VerifiedAbsence): AbsenceView {
  return { code, exists: false, proven: true, absent: a.code, authority: a.namespace, signedAt: new Date(a.signedAt).toISOString(), expiresAt: new Date(a.expiresAt).toISOString() }
}

export function absenceText (code: string, a: VerifiedAbsence): string {
  const v = absenceView(code, a)
  const why = v.absent === code ? '' : ` (its ancestor ${v.absent} is not allocated)`
  return `${code} does not exist${why}: proven by the allocation set of ${v.authority}, signed ${v.signedAt}, valid until ${v.expiresAt}`
}
