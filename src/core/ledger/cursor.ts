import { sha256, toHex } from '../crypto/hash.ts'
import { InvalidCursorError } from '../errors.ts'

/**
 * Page cursors for paged reads of a log (issue #20 part 2). Opaque to clients: version, the log,
 * the head size the first page was read under (so every page of one listing is checked against
 * the same signed head, and a listing never mixes two heads) and the next entry index. The check
 * sum only catches mangled text: a cursor grants nothing, every page is proven against the signed
 * head it names, so a forged one can at worst point at another index of a log that is proven anyway.
 */
export interface PageCursor {
  readonly log: string
  readonly headSize: number
  readonly next: number
}

export const PAGE_LIMIT_DEFAULT = 100
export const PAGE_LIMIT_MAX = 1000
const CURSOR_PREFIX = 'c1.'
const CURSOR_MAX_CHARS = 256

function checksum (payload: string): string {
  return toHex(sha256(new TextEncoder().encode(payload))).slice(0, 16)
}

export function encodeCursor (c: PageCursor): string {
  const payload = Buffer.from(JSON.stringify([c.log, c.headSize, c.next])).toString('base64url')
  return `${CURSOR_PREFIX}${payload}.${checksum(payload)}`
}

/** The cursor in `text`, for `log`; InvalidCursorError for anything else. */
export function decodeCursor (text: string, log: string): PageCursor {
  const fail = (reason: string): never => { throw new InvalidCursorError(`not a cursor of this listing: ${reason}`, { reason }) }
  if (text.length > CURSOR_MAX_CHARS || !text.startsWith(CURSOR_PREFIX)) fail('format')
  const [payload, sum, ...rest] = text.slice(CURSOR_PREFIX.length).split('.')
  if (payload === undefined || sum === undefined || rest.length > 0 || !/^[A-Za-z0-9_-]+$/.test(payload)) fail('format')
  if (checksum(payload as string) !== sum) fail('checksum')
  let fields: unknown
  try { fields = JSON.parse(Buffer.from(payload as string, 'base64url').toString('utf8')) } catch { fail('format') }
  if (!Array.isArray(fields) || fields.length !== 3) return fail('format')
  const [l, headSize, next] = fields as unknown[]
  if (typeof l !== 'string' || !Number.isSafeInteger(headSize) || !Number.isSafeInteger(next)) return fail('format')
  if (l !== log) fail('log')
  if ((next as number) < 0 || (headSize as number) < 0 || (next as number) > (headSize as number)) fail('range')
  return { log: l, headSize: headSize as number, next: next as number }
}

/** A `limit` as a door takes it (query text or a number): 1 to PAGE_LIMIT_MAX, PAGE_LIMIT_DEFAULT when absent. */
export function parsePageLimit (input: string | number | undefined): number {
  if (input === undefined || input === '') return PAGE_LIMIT_DEFAULT
  const n = typeof input === 'number' ? input : /^\d{1,7}$/.test(input) ? Number(input) : NaN
  if (!Number.isSafeInteger(n) || n < 1 || n > PAGE_LIMIT_MAX) throw new InvalidCursorError(`limit must be a whole number from 1 to ${PAGE_LIMIT_MAX}`, { reason: 'limit' })
  return n
}
