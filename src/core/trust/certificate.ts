import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { sha256 } from '../crypto/hash.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../crypto/signature.ts'
import type { Signer } from '../crypto/signature.ts'
import { parseCode } from '../code/grammar.ts'
import { MalformedRecordError } from '../errors.ts'
import type { CborMap } from '../codec/cbor.ts'

export const CERT_MAX_BYTES = 2048
export const CERT_MAX_SIGNATURES = 16

/**
 * `sign`: may sign records for codes in the namespace. `delegate`: may certify keys for
 * sub-namespaces (which is how codes are allocated).
 */
export type Permission = 'sign' | 'delegate'
export const PERMISSIONS: readonly Permission[] = ['sign', 'delegate']

/**
 * `delegation`: the parent certifies `subject` for `namespace`.
 * `rotation`: the holder moves to the key it pre-committed to (`next` of the previous link),
 * signed by the new key, so a key can rotate without the parent being online.
 */
export type CertificateKind = 'delegation' | 'rotation'

export interface CertificateBody {
  readonly v: 1
  readonly type: 'cert'
  readonly kind: CertificateKind
  readonly namespace: string
  readonly subject: Uint8Array
  readonly serial: number
  readonly notBefore: number
  readonly notAfter: number
  readonly perms: readonly Permission[]
  /** SHA-256 of the next key of this holder (pre-rotation commitment), or null. */
  readonly next: Uint8Array | null
  /** For a rotation: SHA-256 of the certificate it succeeds; null for a delegation. */
  readonly prev: Uint8Array | null
}

export interface CertificateSignature {
  readonly key: Uint8Array
  readonly sig: Uint8Array
}

export interface Certificate {
  readonly body: CertificateBody
  readonly bodyBytes: Uint8Array
  readonly sigs: readonly CertificateSignature[]
  /** The whole signed certificate as it travels. */
  readonly bytes: Uint8Array
  /** SHA-256 of `bytes`: the certificate's identity (revocations, caches, rotation links). */
  readonly hash: Uint8Array
}

export type CertificateFields = Omit<CertificateBody, 'v' | 'type' | 'next' | 'prev' | 'kind'> & {
  kind?: CertificateKind
  next?: Uint8Array | null
  prev?: Uint8Array | null
}

export function encodeCertificateBody (fields: CertificateFields): Uint8Array {
  return encodeCbor({
    v: 1,
    type: 'cert',
    kind: fields.kind ?? 'delegation',
    namespace: parseCode(fields.namespace).text,
    subject: fields.subject,
    serial: fields.serial,
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    perms: [...fields.perms],
    next: fields.next ?? null,
    prev: fields.prev ?? null
  })
}

/** Issues a certificate signed by every signer given (several for an m-of-n root quorum). */
export function issueCertificate (fields: CertificateFields, signers: readonly Signer[]): Certificate {
  const bodyBytes = encodeCertificateBody(fields)
  const sigs = signers.map(s => ({ key: s.publicKey, sig: s.sign('cert', bodyBytes) }))
  return decodeCertificate(encodeCertificateEnvelope(bodyBytes, sigs))
}

export function encodeCertificateEnvelope (bodyBytes: Uint8Array, sigs: readonly CertificateSignature[]): Uint8Array {
  return encodeCbor({ body: bodyBytes, sigs: sigs.map(s => ({ key: s.key, sig: s.sig })) })
}

/** Decodes and shape-checks a certificate; says nothing about whether it is trusted. */
export function decodeCertificate (bytes: Uint8Array): Certificate {
  const envelope = new FieldReader(decodeCanonical(bytes, CERT_MAX_BYTES, 'certificate'), 'certificate', ['body', 'sigs'])
  const bodyBytes = envelope.bytes('body')
  const sigs = envelope.array('sigs', CERT_MAX_SIGNATURES).map((s, i) => {
    const r = new FieldReader(s, `certificate.sigs[${i}]`, ['key', 'sig'])
    return { key: r.bytes('key', ED25519_PUBLIC_KEY_BYTES), sig: r.bytes('sig', ED25519_SIGNATURE_BYTES) }
  })
  if (sigs.length === 0) throw new MalformedRecordError('certificate has no signature', { what: 'certificate', field: 'sigs' })
  return { body: decodeCertificateBody(bodyBytes), bodyBytes, sigs, bytes, hash: sha256(bytes) }
}

function decodeCertificateBody (bytes: Uint8Array): CertificateBody {
  const r = new FieldReader(decodeCanonical(bytes, CERT_MAX_BYTES, 'certificate body'), 'certificate body',
    ['v', 'type', 'kind', 'namespace', 'subject', 'serial', 'notBefore', 'notAfter', 'perms', 'next', 'prev'])
  r.literal('v', 1)
  r.literal('type', 'cert')
  const kind = r.string('kind', 16)
  if (kind !== 'delegation' && kind !== 'rotation') throw new MalformedRecordError(`certificate body.kind "${kind}" is unknown`, { what: 'certificate body', field: 'kind' })
  const perms = r.stringArray('perms', PERMISSIONS.length, 16)
  for (const p of perms) {
    if (!(PERMISSIONS as readonly string[]).includes(p)) throw new MalformedRecordError(`certificate body.perms has unknown permission "${p}"`, { what: 'certificate body', field: 'perms' })
  }
  const body: CertificateBody = {
    v: 1,
    type: 'cert',
    kind,
    namespace: parseCode(r.string('namespace', 64)).text,
    subject: r.bytes('subject', ED25519_PUBLIC_KEY_BYTES),
    serial: r.uint('serial'),
    notBefore: r.uint('notBefore'),
    notAfter: r.uint('notAfter'),
    perms: perms as Permission[],
    next: r.bytesOrNull('next', 32),
    prev: r.bytesOrNull('prev', 32)
  }
  if (kind === 'rotation' && body.prev === null) throw new MalformedRecordError('a rotation certificate must name the certificate it succeeds (prev)', { what: 'certificate body', field: 'prev' })
  return body
}

export function certificateToJSON (cert: Certificate): CborMap {
  const b = cert.body
  return {
    kind: b.kind,
    namespace: b.namespace,
    subject: Buffer.from(b.subject).toString('hex'),
    serial: b.serial,
    notBefore: new Date(b.notBefore).toISOString(),
    notAfter: new Date(b.notAfter).toISOString(),
    perms: [...b.perms],
    hash: Buffer.from(cert.hash).toString('hex')
  }
}
