import { decodeCanonical, encodeCbor, FieldReader } from '../../core/codec/cbor.ts'
import { RECORD_MAX_BYTES } from '../../core/record/record.ts'

/**
 * `/citycode/directory/1.0.0`: a node that starts asks its first peers for the directory records
 * they hold (the root's and the countries': the records every node keeps, which name the authority
 * nodes to ask), together with the revocation sync (SPEC 7). Gossip carries a directory record only
 * when it changes, so a node that joined after was left to learn each country with a question in
 * sequence before its first lookup into that country.
 *
 *   request  = { v: 1 }
 *   response = { v: 1, records: [bytes(Record)] }   at most DIRECTORY_MAX_RECORDS
 *
 * The asker verifies every record as one received on gossip (SPEC 5.2) and keeps those of codes of
 * country depth or above; anything else is ignored.
 */
export const DIRECTORY_PROTOCOL = '/citycode/directory/1.0.0'
export const DIRECTORY_REQUEST_MAX_BYTES = 16
/** The root and one record per country, with room to spare (ISO 3166 has 249 countries). */
export const DIRECTORY_MAX_RECORDS = 300
/** Directory records are small (about 1.3 KB); the answer stops adding records at this size. */
export const DIRECTORY_RESPONSE_BYTES = 512 * 1024
export const DIRECTORY_RESPONSE_MAX_BYTES = DIRECTORY_RESPONSE_BYTES + RECORD_MAX_BYTES + 1024

export function encodeDirectoryRequest (): Uint8Array {
  return encodeCbor({ v: 1 })
}

export function decodeDirectoryRequest (bytes: Uint8Array): void {
  new FieldReader(decodeCanonical(bytes, DIRECTORY_REQUEST_MAX_BYTES, 'directory request'), 'directory request', ['v']).literal('v', 1)
}

/** Takes records in order until the next would pass the size or count bound. */
export function encodeDirectoryResponse (records: readonly Uint8Array[]): Uint8Array {
  const kept: Uint8Array[] = []
  let bytes = 0
  for (const record of records) {
    if (kept.length >= DIRECTORY_MAX_RECORDS || bytes + record.byteLength > DIRECTORY_RESPONSE_BYTES) break
    kept.push(record)
    bytes += record.byteLength
  }
  return encodeCbor({ v: 1, records: kept })
}

export function decodeDirectoryResponse (bytes: Uint8Array): Uint8Array[] {
  const r = new FieldReader(decodeCanonical(bytes, DIRECTORY_RESPONSE_MAX_BYTES, 'directory response'), 'directory response', ['v', 'records'])
  r.literal('v', 1)
  return r.bytesArray('records', DIRECTORY_MAX_RECORDS)
}
