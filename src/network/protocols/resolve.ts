import { decodeCanonical, encodeCbor, FieldReader } from '../../core/codec/cbor.ts'
import { parseCode } from '../../core/code/grammar.ts'
import { MalformedRecordError } from '../../core/errors.ts'
import { RECORD_MAX_BYTES } from '../../core/record/record.ts'
import { ABSENCE_PROOF_MAX_BYTES } from '../../core/proof/absence.ts'
import { REVOCATION_ANNOUNCEMENT_MAX_BYTES } from '../../core/trust/revocation-announcement.ts'
import { errorFromWire, errorToWire } from './wire-errors.ts'

/**
 * `/citycode/resolve/1.0.0`: ask a node that holds a code's record (its holder, or the parent
 * authority, which keeps its children's latest records) for it directly: one request, one response,
 * no DHT walk. The asker verifies the answer like any other.
 */
export const RESOLVE_PROTOCOL = '/citycode/resolve/1.0.0'
/**
 * `/citycode/resolve/1.1.0`: the same questions and answers, many on one long-lived session stream
 * per peer (`rpc/session.ts`: `{ id, body }` frames, answers in any order), so a question on an
 * open connection costs one round trip instead of two. Askers offer 1.1.0 and 1.0.0 in one
 * negotiation and fall back to one-request streams with a peer that speaks only 1.0.0.
 */
export const RESOLVE_SESSION_PROTOCOL = '/citycode/resolve/1.1.0'
export const RESOLVE_REQUEST_MAX_BYTES = 256
/** Revocation status statements (SPEC 4.6) a `found` answer carries add up to at most this. */
export const RESOLVE_STAPLES_MAX_BYTES = 32 * 1024
export const RESOLVE_RESPONSE_MAX_BYTES = Math.max(RECORD_MAX_BYTES + RESOLVE_STAPLES_MAX_BYTES, ABSENCE_PROOF_MAX_BYTES, REVOCATION_ANNOUNCEMENT_MAX_BYTES) + 1024
/** Statements one answer may staple: one per link of the longest chain. */
const MAX_STAPLES = 8

export function encodeResolveRequest (code: string): Uint8Array {
  return encodeCbor({ v: 1, code: parseCode(code).text })
}

export function decodeResolveRequest (bytes: Uint8Array): string {
  const r = new FieldReader(decodeCanonical(bytes, RESOLVE_REQUEST_MAX_BYTES, 'resolve request'), 'resolve request', ['v', 'code'])
  r.literal('v', 1)
  return parseCode(r.string('code', 64)).text
}

/**
 * `found` may carry `statuses`: revocation status statements (SPEC 4.6) of the issuers of the
 * record's chain, stapled so a resolver that requires fresh status needs no round trip of its own.
 * `not-found` may carry `proof`: AbsenceProof bytes (SPEC "Non-existence proofs") from the authority
 * above the code, which the asker verifies like a record; without it, a not-found proves nothing.
 * `revoked` carries a revocation announcement (SPEC 4.4) of a certificate on the code's chain, in
 * place of the record: the answering node (its parent above all) never serves a record it knows to
 * be revoked, and the asker learns the revocation with the answer, as OCSP stapling hands the
 * verifier the status with the certificate. The asker verifies it against its own anchors.
 * `found` may carry `live: true` (session answers only): the answering node holds the copy as its
 * holder's parent and has a connection open to that holder now, so the holder's publisher has
 * pushed it every newer version (SPEC 7); the asker need not confirm the copy with the holder.
 */
export type ResolveResponse =
  | { status: 'found', record: Uint8Array, statuses?: Uint8Array[], live?: true }
  | { status: 'not-found', proof?: Uint8Array }
  | { status: 'revoked', announcement: Uint8Array }
  | { status: 'refused', error: Error }

export function encodeResolveResponse (response: { status: 'found', record: Uint8Array, statuses?: readonly Uint8Array[], live?: boolean } | { status: 'not-found', proof?: Uint8Array } | { status: 'revoked', announcement: Uint8Array } | { status: 'refused', error: unknown }): Uint8Array {
  if (response.status === 'found') {
    return encodeCbor({
      v: 1,
      status: 'found',
      record: response.record,
      ...(response.statuses !== undefined && response.statuses.length > 0 ? { statuses: [...response.statuses] } : {}),
      ...(response.live === true ? { live: true } : {})
    })
  }
  if (response.status === 'revoked') return encodeCbor({ v: 1, status: 'revoked', announcement: response.announcement })
  if (response.status === 'not-found') return encodeCbor(response.proof !== undefined ? { v: 1, status: 'not-found', proof: response.proof } : { v: 1, status: 'not-found' })
  return encodeCbor({ v: 1, status: 'refused', error: errorToWire(response.error) })
}

export function decodeResolveResponse (bytes: Uint8Array): ResolveResponse {
  const value = decodeCanonical(bytes, RESOLVE_RESPONSE_MAX_BYTES, 'resolve response')
  const status = new FieldReader(value, 'resolve response', ['v', 'status', 'record', 'error', 'proof', 'announcement', 'statuses', 'live']).string('status', 16)
  if (status === 'found') {
    const r = new FieldReader(value, 'resolve response', ['v', 'status', 'record', 'statuses', 'live'])
    if (r.has('live') && r.raw('live') !== true) throw new MalformedRecordError('resolve response.live must be true when present', { what: 'resolve response', field: 'live' })
    return {
      status,
      record: r.bytes('record'),
      ...(r.has('statuses') ? { statuses: r.bytesArray('statuses', MAX_STAPLES) } : {}),
      ...(r.has('live') ? { live: true as const } : {})
    }
  }
  if (status === 'revoked') return { status, announcement: new FieldReader(value, 'resolve response', ['v', 'status', 'announcement']).bytes('announcement') }
  if (status === 'not-found') {
    const r = new FieldReader(value, 'resolve response', ['v', 'status', 'proof'])
    r.literal('v', 1)
    return r.has('proof') ? { status, proof: r.bytes('proof') } : { status }
  }
  const r = new FieldReader(value, 'resolve response', ['v', 'status', 'error'])
  r.literal('status', 'refused')
  return { status: 'refused', error: errorFromWire(r.raw('error')) }
}
