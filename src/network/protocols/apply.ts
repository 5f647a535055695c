import { decodeCanonical, encodeCbor, FieldReader } from '../../core/codec/cbor.ts'
import type { CborMap } from '../../core/codec/cbor.ts'
import { MAX_CHAIN_LENGTH } from '../../core/trust/chain.ts'
import { errorFromWire, errorToWire } from './wire-errors.ts'

/**
 * `/citycode/apply/1.0.0`: one length-prefixed request (a signed Application, SPEC "Apply") and one
 * response per stream. The response is allocated (the certificate and the chain down to it),
 * pending (queued for the operator; apply again later with the same application), or refused with
 * a typed error.
 */
export const APPLY_PROTOCOL = '/citycode/apply/1.0.0'
export const APPLY_REQUEST_MAX_BYTES = 4096
export const APPLY_RESPONSE_MAX_BYTES = 32 * 1024

export type ApplyResponse =
  | { status: 'allocated', code: string, certificate: Uint8Array, chain: Uint8Array[] }
  | { status: 'pending', id: string }
  | { status: 'refused', error: Error }

export function encodeApplyResponse (response: { status: 'allocated', code: string, certificate: Uint8Array, chain: Uint8Array[] } | { status: 'pending', id: string } | { status: 'refused', error: unknown }): Uint8Array {
  let body: CborMap
  if (response.status === 'allocated') body = { v: 1, status: 'allocated', code: response.code, certificate: response.certificate, chain: response.chain }
  else if (response.status === 'pending') body = { v: 1, status: 'pending', id: response.id }
  else body = { v: 1, status: 'refused', error: errorToWire(response.error) }
  return encodeCbor(body)
}

export function decodeApplyResponse (bytes: Uint8Array): ApplyResponse {
  const value = decodeCanonical(bytes, APPLY_RESPONSE_MAX_BYTES, 'apply response')
  const status = new FieldReader(value, 'apply response', ['v', 'status', 'code', 'certificate', 'chain', 'id', 'error']).string('status', 16)
  if (status === 'allocated') {
    const r = new FieldReader(value, 'apply response', ['v', 'status', 'code', 'certificate', 'chain'])
    return { status, code: r.string('code', 64), certificate: r.bytes('certificate'), chain: r.bytesArray('chain', MAX_CHAIN_LENGTH) }
  }
  if (status === 'pending') {
    return { status, id: new FieldReader(value, 'apply response', ['v', 'status', 'id']).string('id', 64) }
  }
  const r = new FieldReader(value, 'apply response', ['v', 'status', 'error'])
  r.literal('status', 'refused')
  return { status: 'refused', error: errorFromWire(r.raw('error')) }
}
