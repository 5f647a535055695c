import { decodeCanonical, encodeCbor, FieldReader } from '../../core/codec/cbor.ts'
import { RECORD_MAX_BYTES } from '../../core/record/record.ts'
import { errorFromWire, errorToWire } from './wire-errors.ts'

/**
 * `/citycode/push/1.0.0`: a holder hands its new record to its parent authority, which keeps the
 * newest record of each direct child and answers resolve questions for it. Gossip also carries
 * the record, but a gossip mesh may not have formed yet when a node first publishes; the push makes
 * the parent's copy certain.
 */
export const PUSH_PROTOCOL = '/citycode/push/1.0.0'
export const PUSH_REQUEST_MAX_BYTES = RECORD_MAX_BYTES + 256

export function encodePushRequest (record: Uint8Array): Uint8Array {
  return encodeCbor({ v: 1, record })
}

export function decodePushRequest (bytes: Uint8Array): Uint8Array {
  const r = new FieldReader(decodeCanonical(bytes, PUSH_REQUEST_MAX_BYTES, 'push request'), 'push request', ['v', 'record'])
  r.literal('v', 1)
  return r.bytes('record')
}

export function encodePushResponse (result: { stored: boolean } | { error: unknown }): Uint8Array {
  return 'error' in result ? encodeCbor({ v: 1, error: errorToWire(result.error) }) : encodeCbor({ v: 1, stored: result.stored })
}

/** Whether the parent stored it (false: it already had a newer one); throws the parent's typed refusal. */
export function decodePushResponse (bytes: Uint8Array): boolean {
  const value = decodeCanonical(bytes, 2048, 'push response')
  const r = new FieldReader(value, 'push response', ['v', 'stored', 'error'])
  if (r.has('error')) throw errorFromWire(r.raw('error'))
  const stored = r.raw('stored')
  return stored === true
}
