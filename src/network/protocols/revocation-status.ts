import { decodeCanonical, encodeCbor, FieldReader } from '../../core/codec/cbor.ts'
import { MAX_CHAIN_LENGTH } from '../../core/trust/chain.ts'
import { REVOCATION_STATUS_MAX_BYTES } from '../../core/trust/revocation-status.ts'

/**
 * `/citycode/revocation-status/1.0.0`: ask an authority for its signed revocation status (SPEC 4.6).
 *
 *   request  = { v: 1 }
 *   response = { v: 1, statuses: [bytes(RevocationStatus)] }
 *
 * The first statement is the authority's own, signed within the last second; those after it are the
 * newest it holds of the issuers above it, so a holder that asks its parent gets every statement its
 * chain needs in one round trip. The asker checks each like any other (signature, issuer, age).
 */
export const REVOCATION_STATUS_PROTOCOL = '/citycode/revocation-status/1.0.0'
export const REVOCATION_STATUS_REQUEST_MAX_BYTES = 16
export const REVOCATION_STATUS_RESPONSE_MAX_BYTES = MAX_CHAIN_LENGTH * (REVOCATION_STATUS_MAX_BYTES + 8) + 64

export function encodeStatusRequest (): Uint8Array {
  return encodeCbor({ v: 1 })
}

export function decodeStatusRequest (bytes: Uint8Array): void {
  new FieldReader(decodeCanonical(bytes, REVOCATION_STATUS_REQUEST_MAX_BYTES, 'revocation status request'), 'revocation status request', ['v']).literal('v', 1)
}

export function encodeStatusResponse (statuses: readonly Uint8Array[]): Uint8Array {
  return encodeCbor({ v: 1, statuses: [...statuses] })
}

export function decodeStatusResponse (bytes: Uint8Array): Uint8Array[] {
  const r = new FieldReader(decodeCanonical(bytes, REVOCATION_STATUS_RESPONSE_MAX_BYTES, 'revocation status response'), 'revocation status response', ['v', 'statuses'])
  r.literal('v', 1)
  return r.bytesArray('statuses', MAX_CHAIN_LENGTH)
}
