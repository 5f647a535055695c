import type { AbortOptions } from '@libp2p/interface'
import { parseCode } from '../../core/code/grammar.ts'
import { decodeCursor } from '../../core/ledger/cursor.ts'
import { InvalidCursorError } from '../../core/errors.ts'
import { NotFoundError } from '../errors.ts'
import { listingId } from './log-reader.ts'
import type { LogPage, PageRequest } from './log-reader.ts'
import type { Ledger } from './index.ts'

/**
 * The listings every door shows (gateway, CLI): which logs hold a code's children and history, and
 * the page of each, so the two doors cannot disagree on where to look. Every page is checked by
 * `Ledger.readPage`; this file only chooses logs and carries cursors.
 */

/** A log that could not be read, and why (a listing of several logs answers with the others). */
export interface UnreadLog { readonly log: string, readonly error: string, readonly code: string }

export function isPage (read: LogPage | UnreadLog): read is LogPage {
  return !('error' in read)
}

/** Whether `cursor` is one of the listing `id`. */
export function cursorFits (cursor: string, id: string): boolean {
  try {
    decodeCursor(cursor, id)
    return true
  } catch {
    return false
  }
}

/** A page, or why its log could not be read; a bad cursor is the caller's fault and is thrown. */
export async function pageOrReason (ledger: Ledger, log: string, request: PageRequest, options: AbortOptions): Promise<LogPage | UnreadLog> {
  try {
    return await ledger.readPage(log, request, options)
  } catch (err) {
    if (err instanceof InvalidCursorError) throw err
    const e = err as Error & { code?: string }
    return { log, error: e.message, code: e.code ?? 'ERR_INTERNAL' }
  }
}

export interface ListingOptions extends AbortOptions {
  limit?: number
  cursor?: string
  /** The namespace whose key signs the code's record (its chain's namespace), when the code's own log does not answer. */
  signerOf?: (code: string) => Promise<string | undefined>
}

/**
 * A page of the children of `code`: from the code's own log (what its holder allocated) or, for a
 * code without a node of its own (a sub-code), from the log of the authority that signs its record.
 * NotFoundError when neither log answers.
 */
export async function childrenPage (ledger: Ledger, code: string, options: ListingOptions = {}): Promise<LogPage> {
  const request: PageRequest = { of: 'children', code, ...(options.limit !== undefined ? { limit: options.limit } : {}), ...(options.cursor !== undefined ? { cursor: options.cursor } : {}) }
  const own = options.cursor === undefined || cursorFits(options.cursor, listingId(code, 'children', code))
  let read: LogPage | UnreadLog | undefined = own ? await pageOrReason(ledger, code, request, options) : undefined
  if (read === undefined || !isPage(read)) {
    const signer = await options.signerOf?.(code)
    if (signer !== undefined && signer !== code) read = await pageOrReason(ledger, signer, request, options)
    else if (read === undefined) decodeCursor(options.cursor as string, listingId(code, 'children', code))
  }
  if (read === undefined || !isPage(read)) throw new NotFoundError(`no ledger lists the children of ${code}: ${read?.error ?? 'no log'}`, { code, reason: read?.code })
  return read
}

/** The logs that hold a code's history: its own, its parent's (its allocation) and its record's signer's. */
export function historyLogs (code: string, signer?: string): string[] {
  const parsed = parseCode(code)
  const logs = parsed.segments.length > 1 ? [code, parsed.segments.slice(0, -1).join('.')] : [code]
  if (signer !== undefined && !logs.includes(signer)) logs.push(signer)
  return logs
}

/**
 * A page of a code's entries in each of `logs` (a cursor continues only the log it was made for);
 * `next` continues the first log that has more.
 */
export async function historyPages (ledger: Ledger, code: string, logs: readonly string[], options: ListingOptions = {}): Promise<{ reads: Array<LogPage | UnreadLog>, next?: string }> {
  let targets = logs
  const cursor = options.cursor
  if (cursor !== undefined) {
    const owner = logs.find(l => cursorFits(cursor, listingId(l, 'code', code)))
    if (owner === undefined) decodeCursor(cursor, listingId(logs[0] as string, 'code', code))
    targets = [owner as string]
  }
  const request: PageRequest = { of: 'code', code, ...(options.limit !== undefined ? { limit: options.limit } : {}), ...(cursor !== undefined ? { cursor } : {}) }
  const reads = await Promise.all(targets.map(async l => await pageOrReason(ledger, l, request, options)))
  const next = reads.find((r): r is LogPage => isPage(r) && r.next !== undefined)?.next
  return next === undefined ? { reads } : { reads, next }
}
