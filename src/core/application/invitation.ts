import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { parseCode, parent } from '../code/grammar.ts'
import { equalBytes, toHex } from '../crypto/hash.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, verifySignature } from '../crypto/signature.ts'
import type { Signer } from '../crypto/signature.ts'
import { InvitationError } from '../errors.ts'

export const INVITATION_MAX_BYTES = 512

/**
 * An invitation (SPEC 2.2): the authority of `namespace` names, with its own key, the one key it
 * will allocate to at once under `auto`, optionally the one code, until `expiresAt`. The operator
 * hands it to the applicant out of band; the applicant presents it inside its signed application,
 * so nobody else can use it (the application is signed by `invitee`, which it admits).
 *
 *   Invitation     = { body: bytes(InvitationBody), sig: bytes(64) }   (domain "invitation")
 *   InvitationBody = { v: 1, type: "invitation", namespace: code, invitee: bytes(32),
 *                      code: code | null, expiresAt: uint }
 */
export interface InvitationBody {
  readonly namespace: string
  readonly invitee: Uint8Array
  readonly code: string | null
  readonly expiresAt: number
}

export interface Invitation {
  readonly body: InvitationBody
  readonly bodyBytes: Uint8Array
  readonly sig: Uint8Array
  readonly bytes: Uint8Array
}

export function createInvitation (fields: InvitationBody, signer: Signer): Invitation {
  const bodyBytes = encodeCbor({
    v: 1,
    type: 'invitation',
    namespace: parseCode(fields.namespace).text,
    invitee: fields.invitee,
    code: fields.code === null ? null : parseCode(fields.code).text,
    expiresAt: fields.expiresAt
  })
  return decodeInvitation(encodeCbor({ body: bodyBytes, sig: signer.sign('invitation', bodyBytes) }))
}

/** Strict decoding (canonical, shape, sizes); checks no signature. */
export function decodeInvitation (bytes: Uint8Array): Invitation {
  const env = new FieldReader(decodeCanonical(bytes, INVITATION_MAX_BYTES, 'invitation'), 'invitation', ['body', 'sig'])
  const bodyBytes = env.bytes('body')
  const r = new FieldReader(decodeCanonical(bodyBytes, INVITATION_MAX_BYTES, 'invitation body'), 'invitation body', ['v', 'type', 'namespace', 'invitee', 'code', 'expiresAt'])
  r.literal('v', 1)
  r.literal('type', 'invitation')
  const namespace = parseCode(r.string('namespace', 64)).text
  const code = r.raw('code') === null ? null : parseCode(r.string('code', 64)).text
  if (code !== null && parent(parseCode(code))?.text !== namespace) throw new InvitationError(`invitation code ${code} is not a direct child of ${namespace}`, { code, namespace, reason: 'code' })
  return {
    body: { namespace, invitee: r.bytes('invitee', ED25519_PUBLIC_KEY_BYTES), code, expiresAt: r.uint('expiresAt') },
    bodyBytes,
    sig: env.bytes('sig', ED25519_SIGNATURE_BYTES),
    bytes
  }
}

/**
 * Whether the invitation admits `subject` to `namespace` now: signed by `authorityKey`, for this
 * namespace and this key, not expired. Throws InvitationError with `details.reason`.
 */
export function verifyInvitation (invitation: Invitation, expected: { authorityKey: Uint8Array, namespace: string, subject: Uint8Array, now: number }): Invitation {
  const { body } = invitation
  if (!verifySignature('invitation', invitation.bodyBytes, invitation.sig, expected.authorityKey)) {
    throw new InvitationError(`the invitation is not signed by the key of ${expected.namespace}`, { namespace: expected.namespace, reason: 'signature' })
  }
  if (body.namespace !== expected.namespace) throw new InvitationError(`the invitation is to ${body.namespace}, not ${expected.namespace}`, { namespace: body.namespace, reason: 'namespace' })
  if (!equalBytes(body.invitee, expected.subject)) throw new InvitationError('the invitation names another key', { invitee: toHex(body.invitee), reason: 'invitee' })
  if (expected.now >= body.expiresAt) throw new InvitationError(`the invitation expired at ${new Date(body.expiresAt).toISOString()}`, { expiresAt: body.expiresAt, reason: 'expired' })
  return invitation
}
