import { CanonicalCursor, encodedText } from '../codec/canonical-cursor.ts'
import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { sha256 } from '../crypto/hash.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../crypto/signature.ts'
import type { Signer } from '../crypto/signature.ts'
import { isCode, parseCode } from '../code/grammar.ts'
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

/**
 * The hash is computed on first use: a chain check needs it only for revocations in force and for
 * rotation links, and a cold chain would otherwise pay for one SHA-256 per link.
 */
class DecodedCertificate implements Certificate {
  readonly body: CertificateBody
  readonly bodyBytes: Uint8Array
  readonly sigs: readonly CertificateSignature[]
  readonly bytes: Uint8Array
  #hash: Uint8Array | undefined

  constructor (body: CertificateBody, bodyBytes: Uint8Array, sigs: readonly CertificateSignature[], bytes: Uint8Array) {
    this.body = body
    this.bodyBytes = bodyBytes
    this.sigs = sigs
    this.bytes = bytes
  }

  get hash (): Uint8Array {
    this.#hash ??= sha256(this.bytes)
    return this.#hash
  }
}

/** Decodes and shape-checks a certificate; says nothing about whether it is trusted. */
export function decodeCertificate (bytes: Uint8Array): Certificate {
  return readCertificate(bytes) ?? decodeCertificateStrictly(bytes)
}

/**
 * The general path: decodes any input and throws the typed error that names what is wrong.
 * decodeCertificate takes it whenever readCertificate declines; exported so tests can hold the two equal.
 */
export function decodeCertificateStrictly (bytes: Uint8Array): Certificate {
  const envelope = new FieldReader(decodeCanonical(bytes, CERT_MAX_BYTES, 'certificate'), 'certificate', ['body', 'sigs'])
  const bodyBytes = envelope.bytes('body')
  const sigs = envelope.array('sigs', CERT_MAX_SIGNATURES).map((s, i) => {
    const r = new FieldReader(s, `certificate.sigs[${i}]`, ['key', 'sig'])
    return { key: r.bytes('key', ED25519_PUBLIC_KEY_BYTES), sig: r.bytes('sig', ED25519_SIGNATURE_BYTES) }
  })
  if (sigs.length === 0) throw new MalformedRecordError('certificate has no signature', { what: 'certificate', field: 'sigs' })
  return new DecodedCertificate(decodeCertificateBody(bodyBytes), bodyBytes, sigs, bytes)
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

// Keys in canonical order (length first, then bytewise), each with its literal value where fixed.
const K_BODY = encodedText('body')
const K_SIGS = encodedText('sigs')
const K_KEY = encodedText('key')
const K_SIG = encodedText('sig')
const K_V_1 = Uint8Array.of(...encodedText('v'), 0x01)
const K_KIND = encodedText('kind')
const K_NEXT = encodedText('next')
const K_PREV = encodedText('prev')
const K_TYPE_CERT = Uint8Array.of(...encodedText('type'), ...encodedText('cert'))
const K_PERMS = encodedText('perms')
const K_SERIAL = encodedText('serial')
const K_SUBJECT = encodedText('subject')
const K_NOT_AFTER = encodedText('notAfter')
const K_NAMESPACE = encodedText('namespace')
const K_NOT_BEFORE = encodedText('notBefore')
const KIND_DELEGATION = encodedText('delegation')
const KIND_ROTATION = encodedText('rotation')
const PERM_SIGN = encodedText('sign')
const PERM_DELEGATE = encodedText('delegate')

/**
 * The fast path (codec/canonical-cursor.ts): a canonical certificate of a valid shape is read
 * directly, giving what decodeCertificateStrictly gives; anything else returns undefined (never
 * throws) and decodeCertificate takes the general path, which names the error.
 */
export function readCertificate (bytes: Uint8Array): Certificate | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length > CERT_MAX_BYTES) return undefined
  const c = new CanonicalCursor(bytes)
  c.mapOf(2)
  c.expect(K_BODY)
  const bodyBytes = c.bytes(CERT_MAX_BYTES)
  c.expect(K_SIGS)
  const n = c.arrayOf(CERT_MAX_SIGNATURES)
  const sigs: CertificateSignature[] = []
  for (let i = 0; i < n && c.ok; i++) {
    c.mapOf(2)
    c.expect(K_KEY)
    const key = c.bytes(ED25519_PUBLIC_KEY_BYTES, ED25519_PUBLIC_KEY_BYTES)
    c.expect(K_SIG)
    sigs.push({ key, sig: c.bytes(ED25519_SIGNATURE_BYTES, ED25519_SIGNATURE_BYTES) })
  }
  if (!c.done() || sigs.length === 0) return undefined
  const body = readCertificateBody(bodyBytes)
  return body === undefined ? undefined : new DecodedCertificate(body, bodyBytes, sigs, bytes)
}

function readCertificateBody (bytes: Uint8Array): CertificateBody | undefined {
  const c = new CanonicalCursor(bytes)
  c.mapOf(11)
  c.expect(K_V_1)
  c.expect(K_KIND)
  let kind: CertificateKind
  if (c.at(KIND_DELEGATION)) {
    c.expect(KIND_DELEGATION)
    kind = 'delegation'
  } else {
    c.expect(KIND_ROTATION)
    kind = 'rotation'
  }
  c.expect(K_NEXT)
  const next = c.bytesOrNull(32)
  c.expect(K_PREV)
  const prev = c.bytesOrNull(32)
  c.expect(K_TYPE_CERT)
  c.expect(K_PERMS)
  const perms: Permission[] = []
  const count = c.arrayOf(PERMISSIONS.length)
  for (let i = 0; i < count && c.ok; i++) {
    if (c.at(PERM_SIGN)) {
      c.expect(PERM_SIGN)
      perms.push('sign')
    } else {
      c.expect(PERM_DELEGATE)
      perms.push('delegate')
    }
  }
  c.expect(K_SERIAL)
  const serial = c.uint()
  c.expect(K_SUBJECT)
  const subject = c.bytes(ED25519_PUBLIC_KEY_BYTES, ED25519_PUBLIC_KEY_BYTES)
  c.expect(K_NOT_AFTER)
  const notAfter = c.uint()
  c.expect(K_NAMESPACE)
  const namespace = c.text(64)
  c.expect(K_NOT_BEFORE)
  const notBefore = c.uint()
  if (!c.done() || (kind === 'rotation' && prev === null) || !isCode(namespace)) return undefined
  return { v: 1, type: 'cert', kind, namespace, subject, serial, notBefore, notAfter, perms, next, prev }
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
