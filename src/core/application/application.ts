import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { parseCode } from '../code/grammar.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, verifySignature } from '../crypto/signature.ts'
import type { Signer } from '../crypto/signature.ts'
import { BadSignatureError } from '../errors.ts'

export const APPLICATION_MAX_BYTES = 2048

/**
 * An application for a code under `parent`, signed by the key the applicant wants certified (so
 * nobody can get a certificate for a key they do not hold). `officialCode` is the national
 * division code (e.g. GB/T 2260 `130100`) for a city, the ISO 3166-1 code for a country.
 */
export interface ApplicationBody {
  readonly parent: string
  readonly subject: Uint8Array
  readonly name: string
  readonly officialCode: string | null
  readonly peer: string | null
  /** SHA-256 of the applicant's next key, committed for pre-rotation. */
  readonly next: Uint8Array | null
  readonly time: number
  /**
   * Invitation bytes (invitation.ts) the parent signed for this key, if the applicant has one. The
   * field is absent, not null, without one, so an application without it is byte for byte what
   * version 1 always was (SPEC 2.2).
   */
  readonly invitation?: Uint8Array
}

export interface Application {
  readonly body: ApplicationBody
  readonly bodyBytes: Uint8Array
  readonly sig: Uint8Array
  readonly bytes: Uint8Array
}

export function createApplication (fields: Omit<ApplicationBody, 'subject'>, signer: Signer): Application {
  const bodyBytes = encodeCbor({
    ...(fields.invitation !== undefined ? { invitation: fields.invitation } : {}),
    v: 1,
    type: 'application',
    parent: parseCode(fields.parent).text,
    subject: signer.publicKey,
    name: fields.name,
    officialCode: fields.officialCode,
    peer: fields.peer,
    next: fields.next,
    time: fields.time
  })
  return decodeApplication(encodeCbor({ body: bodyBytes, sig: signer.sign('application', bodyBytes) }))
}

export function decodeApplication (bytes: Uint8Array): Application {
  const env = new FieldReader(decodeCanonical(bytes, APPLICATION_MAX_BYTES, 'application'), 'application', ['body', 'sig'])
  const bodyBytes = env.bytes('body')
  const r = new FieldReader(decodeCanonical(bodyBytes, APPLICATION_MAX_BYTES, 'application body'), 'application body',
    ['v', 'type', 'parent', 'subject', 'name', 'officialCode', 'peer', 'next', 'time', 'invitation'])
  r.literal('v', 1)
  r.literal('type', 'application')
  const officialCode = r.raw('officialCode') === null ? null : r.string('officialCode', 16)
  const peer = r.raw('peer') === null ? null : r.string('peer', 128)
  return {
    body: {
      parent: parseCode(r.string('parent', 64)).text,
      subject: r.bytes('subject', ED25519_PUBLIC_KEY_BYTES),
      name: r.string('name', 256),
      officialCode,
      peer,
      next: r.bytesOrNull('next', 32),
      time: r.uint('time'),
      ...(r.has('invitation') ? { invitation: r.bytes('invitation') } : {})
    },
    bodyBytes,
    sig: env.bytes('sig', ED25519_SIGNATURE_BYTES),
    bytes
  }
}

/** Proof of possession: the application is signed by the key it asks to certify. */
export function verifyApplication (application: Application): void {
  if (!verifySignature('application', application.bodyBytes, application.sig, application.body.subject)) {
    throw new BadSignatureError('application is not signed by the key it asks to certify', { parent: application.body.parent })
  }
}
