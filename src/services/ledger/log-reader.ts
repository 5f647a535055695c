import type { AbortOptions } from '@libp2p/interface'
import { equalBytes } from '../../core/crypto/hash.ts'
import { CitycodeError, InvalidCursorError } from '../../core/errors.ts'
import { InvalidProofError } from '../../core/ledger/errors.ts'
import { decodeLeaf, MerkleLog } from '../../core/ledger/log.ts'
import type { LedgerEntry } from '../../core/ledger/log.ts'
import type { HeadRecord } from '../../core/record/head-record.ts'
import type { RecordValidator } from '../../core/record/validator.ts'
import { decodeCursor, encodeCursor, PAGE_LIMIT_DEFAULT } from '../../core/ledger/cursor.ts'
import { verifyPage } from '../../core/ledger/page.ts'
import type { PageItem, PageKind, PageQuery, ProvenEntry } from '../../core/ledger/page.ts'
import { MAX_ENTRIES_PER_REQUEST, MAX_PAGE_ITEMS_PER_REQUEST } from '../../network/protocols/ledger.ts'
import type { LedgerAnswers, LedgerOp, LedgerRequest } from '../../network/protocols/ledger.ts'
import { NotFoundError } from '../errors.ts'
import type { PeerRef } from '../resolver/index.ts'

/**
 * Entries a reader fetches at most for one whole read (16 requests): beyond, LogTooLargeError.
 * Listings do not read whole logs (readPage); only whole-log summaries and audits do.
 */
export const DEFAULT_MAX_LOG_ENTRIES = 4096

/** A log larger than the reader accepts to fetch whole; `details.size`, `details.maxEntries`. */
export class LogTooLargeError extends CitycodeError {
  static override readonly code = 'ERR_LOG_TOO_LARGE'
}

/**
 * A whole log as of one signed head, checked: the head verified (chain, key, signature), every entry
 * fetched and rebuilt into a tree whose root is the head's root. Inclusion proofs computed from
 * `tree` are as good as served ones: anyone can check them against the signed head.
 */
export interface VerifiedLog {
  readonly log: string
  /** The node that served it; absent for this node's own log. */
  readonly peer?: string
  readonly head: HeadRecord
  readonly entries: readonly LedgerEntry[]
  readonly tree: MerkleLog
}

export interface ReadLogOptions extends AbortOptions {
  /** @default DEFAULT_MAX_LOG_ENTRIES */
  maxEntries?: number
}

export interface LogReaderContext {
  validator: RecordValidator
  locate: (log: string, options: AbortOptions) => Promise<PeerRef | undefined>
  ask: <K extends LedgerOp>(peer: string | PeerRef, request: Extract<LedgerRequest, { op: K }>, options: AbortOptions) => Promise<LedgerAnswers[K]>
}

/** Builds the checked view from a head and its leaves; throws InvalidProofError when they disagree. */
export function verifiedLog (log: string, head: HeadRecord, leaves: readonly Uint8Array[], peer?: string): VerifiedLog {
  const tree = new MerkleLog()
  const entries: LedgerEntry[] = []
  for (const leaf of leaves) {
    entries.push(decodeLeaf(leaf))
    tree.appendLeaf(leaf)
  }
  if (tree.size !== head.sth.head.size || !equalBytes(tree.root(), head.sth.head.root)) {
    throw new InvalidProofError(`the ${tree.size} entries served for ${log} do not make the signed root of size ${head.sth.head.size}`, { log, reason: 'entries-mismatch' })
  }
  return { log, ...(peer !== undefined ? { peer } : {}), head, entries, tree }
}

/** Reads another node's log: its head (validated), then its entries page by page. */
export async function readRemoteLog (log: string, ctx: LogReaderContext, options: ReadLogOptions = {}): Promise<VerifiedLog> {
  const peer = await ctx.locate(log, options)
  if (peer === undefined) throw new NotFoundError(`no node found for the log of ${log}`, { code: log })
  const head = ctx.validator.validateHead((await ctx.ask(peer, { op: 'get-head', log }, options)).record, log).record
  const size = head.sth.head.size
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_LOG_ENTRIES
  if (size > maxEntries) throw new LogTooLargeError(`the log of ${log} has ${size} entries, more than the ${maxEntries} read at once`, { log, size, maxEntries })
  // a short page leaves fewer leaves than the head's size: verifiedLog refuses them
  return verifiedLog(log, head, await fetchLeaves(log, size, peer, ctx.ask, options), peer.id)
}

/**
 * The first `size` leaves of a log from the node that serves it, page by page; stops at the first
 * page shorter than asked (the caller compares what it got with the signed head).
 */
export async function fetchLeaves (log: string, size: number, peer: PeerRef, ask: LogReaderContext['ask'], options: AbortOptions): Promise<Uint8Array[]> {
  const leaves: Uint8Array[] = []
  for (let from = 0; from < size; from += MAX_ENTRIES_PER_REQUEST) {
    const to = Math.min(size, from + MAX_ENTRIES_PER_REQUEST)
    const page = (await ask(peer, { op: 'get-entries', log, from, to }, options)).entries
    leaves.push(...page.slice(0, to - from))
    if (page.length !== to - from) break
  }
  return leaves
}

/** One listing's page request: what is listed, where it goes on (a cursor of an earlier page), how many. */
export interface PageRequest {
  readonly of: PageKind
  /** The code asked about (`code`: its entries; `children`: codes directly under it); absent for `range`. */
  readonly code?: string
  /** The `next` of the previous page; absent for the first page. */
  readonly cursor?: string
  /** @default PAGE_LIMIT_DEFAULT (a remote log's node answers at most MAX_PAGE_ITEMS_PER_REQUEST per page) */
  readonly limit?: number
}

/**
 * A page of a listing, each entry proven under `head` (verified: chain, key, signature), which covers
 * at least the `bound` leaves the listing was opened under. `next` is the cursor of the following
 * page; absent at the end. Pages are short rather than late: fewer entries than asked does not mean
 * the end, only a missing `next` does.
 */
export interface LogPage {
  readonly log: string
  /** The node that served it; absent for this node's own log. */
  readonly peer?: string
  readonly head: HeadRecord
  readonly bound: number
  readonly entries: readonly ProvenEntry[]
  readonly next?: string
}

/** What a cursor is bound to: one listing of one log (a cursor of another listing is refused, not reinterpreted). */
export function listingId (log: string, of: PageKind, code?: string): string {
  return `${log}/${of}${code !== undefined ? `/${code}` : ''}`
}

/** The query a page request makes of a log whose head has `headSize` leaves; InvalidCursorError for a cursor of another listing, or of a larger tree than the head (stale). */
export function pageQuery (log: string, request: PageRequest, headSize: number, maxLimit: number): PageQuery {
  const id = listingId(log, request.of, request.code)
  const cursor = request.cursor === undefined ? undefined : decodeCursor(request.cursor, id)
  if (cursor !== undefined && cursor.headSize > headSize) {
    throw new InvalidCursorError(`the cursor is of a tree of ${cursor.headSize} entries, the log of ${log} now serves ${headSize}`, { reason: 'stale', headSize: cursor.headSize, served: headSize })
  }
  const limit = Math.min(request.limit ?? PAGE_LIMIT_DEFAULT, maxLimit)
  return { of: request.of, ...(request.code !== undefined ? { code: request.code } : {}), from: cursor?.next ?? 0, bound: cursor?.headSize ?? headSize, limit }
}

/** Checks a page served under `head` and makes its cursor (throws InvalidProofError, see verifyPage). */
export function checkedPage (log: string, head: HeadRecord, query: PageQuery, items: readonly PageItem[], next: number | undefined, peer?: string): LogPage {
  const entries = verifyPage(items, next, query, head.sth.head)
  const cursor = next === undefined ? undefined : encodeCursor({ log: listingId(log, query.of, query.code), headSize: query.bound, next })
  return { log, ...(peer !== undefined ? { peer } : {}), head, bound: query.bound, entries, ...(cursor !== undefined ? { next: cursor } : {}) }
}

/**
 * A page from the node that keeps the log: one question (`get-page`), answered with the node's
 * latest head, validated here, and every item checked against it. The listing stays the one its
 * first page opened: entries appended since are beyond its bound.
 */
export async function readRemotePage (log: string, request: PageRequest, ctx: LogReaderContext, options: AbortOptions = {}): Promise<LogPage> {
  const peer = await ctx.locate(log, options)
  if (peer === undefined) throw new NotFoundError(`no node found for the log of ${log}`, { code: log })
  // the cursor is checked before any question: a bad one costs the network nothing
  const opened = request.cursor === undefined ? undefined : pageQuery(log, request, Number.MAX_SAFE_INTEGER, MAX_PAGE_ITEMS_PER_REQUEST)
  const limit = Math.min(request.limit ?? PAGE_LIMIT_DEFAULT, MAX_PAGE_ITEMS_PER_REQUEST)
  let answer: LedgerAnswers['get-page']
  try {
    answer = await ctx.ask(peer, {
      op: 'get-page', log, of: request.of, ...(request.code !== undefined ? { code: request.code } : {}), from: opened?.from ?? 0, ...(opened !== undefined ? { bound: opened.bound } : {}), limit
    }, options)
  } catch (err) {
    // the cursor's text was checked here: the node can only refuse its tree size
    if (err instanceof InvalidCursorError) throw new InvalidCursorError(`the log of ${log} serves fewer entries than the cursor's ${String(opened?.bound)}`, { reason: 'stale', headSize: opened?.bound })
    throw err
  }
  const head = ctx.validator.validateHead(answer.record, log).record
  const query = pageQuery(log, request, head.sth.head.size, MAX_PAGE_ITEMS_PER_REQUEST)
  return checkedPage(log, head, query, answer.items, answer.next, peer.id)
}
