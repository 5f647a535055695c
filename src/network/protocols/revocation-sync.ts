import { decodeCanonical, encodeCbor, FieldReader } from '../../core/codec/cbor.ts'
import { REVOCATION_ANNOUNCEMENT_MAX_BYTES } from '../../core/trust/revocation-announcement.ts'

/**
 * `/citycode/revocation-sync/1.0.0`: a node that starts asks its first peers for the revocations
 * they hold in force, page by page, before it answers anything (SPEC 4.5). Gossip reaches only nodes
 * that were listening when a revocation went out, and re-announcements come every ten minutes; a
 * one-shot resolver or a restarted node would otherwise accept a revoked record until then.
 *
 *   request  = { v: 1, after?: bytes(32) }                 certificate hash to continue after
 *   response = { v: 1, announcements: [bytes], next?: bytes(32) }
 *
 * A page holds whole announcements in the order of their certificate hashes, at most
 * REVOCATION_SYNC_PAGE_BYTES of them; `next` is present when more follow. The asker verifies every
 * announcement against its own anchors, as one received on gossip.
 */
export const REVOCATION_SYNC_PROTOCOL = '/citycode/revocation-sync/1.0.0'
export const REVOCATION_SYNC_REQUEST_MAX_BYTES = 128
/** Announcements of one page add up to at most this (one always fits). */
export const REVOCATION_SYNC_PAGE_BYTES = 128 * 1024
export const REVOCATION_SYNC_PAGE_MAX_ITEMS = 1024
export const REVOCATION_SYNC_RESPONSE_MAX_BYTES = REVOCATION_SYNC_PAGE_BYTES + REVOCATION_ANNOUNCEMENT_MAX_BYTES + 1024

export function encodeSyncRequest (after?: Uint8Array): Uint8Array {
  return encodeCbor(after !== undefined ? { v: 1, after } : { v: 1 })
}

export function decodeSyncRequest (bytes: Uint8Array): Uint8Array | undefined {
  const r = new FieldReader(decodeCanonical(bytes, REVOCATION_SYNC_REQUEST_MAX_BYTES, 'revocation sync request'), 'revocation sync request', ['v', 'after'])
  r.literal('v', 1)
  return r.has('after') ? r.bytes('after', 32) : undefined
}

export interface SyncPage {
  readonly announcements: Uint8Array[]
  readonly next?: Uint8Array
}

export function encodeSyncResponse (page: SyncPage): Uint8Array {
  return encodeCbor(page.next !== undefined ? { v: 1, announcements: page.announcements, next: page.next } : { v: 1, announcements: page.announcements })
}

export function decodeSyncResponse (bytes: Uint8Array): SyncPage {
  const r = new FieldReader(decodeCanonical(bytes, REVOCATION_SYNC_RESPONSE_MAX_BYTES, 'revocation sync response'), 'revocation sync response', ['v', 'announcements', 'next'])
  r.literal('v', 1)
  const announcements = r.bytesArray('announcements', REVOCATION_SYNC_PAGE_MAX_ITEMS)
  return r.has('next') ? { announcements, next: r.bytes('next', 32) } : { announcements }
}
