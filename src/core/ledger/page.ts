import { isCode } from '../code/grammar.ts'
import { InvalidProofError } from './errors.ts'
import { decodeLeaf } from './log.ts'
import type { LedgerEntry } from './log.ts'
import { leafHash } from './merkle.ts'
import { verifyInclusion } from './proofs.ts'
import type { TreeHead } from './tree-head.ts'

/**
 * Pages of a log (issue #20): a listing is the entries of one log, among its first `bound` leaves,
 * that answer one question: `code` (the entries about a code: its history in that log), `children`
 * (the first allocation of each code directly under a code) or `range` (every entry, in order).
 * Every item carries its RFC 9162 inclusion proof under a signed head of at least `bound` leaves, so
 * a page is checked with that head alone and no reader needs the whole log. What a page cannot
 * prove is that the server left nothing out of a `code` or `children` listing (only a whole read,
 * or an audit, can); a `range` page can be checked for gaps, and is.
 */
export const PAGE_KINDS = ['code', 'children', 'range'] as const
export type PageKind = typeof PAGE_KINDS[number]

export interface PageQuery {
  readonly of: PageKind
  /** The code asked about (`code`, `children`); absent for `range`. */
  readonly code?: string
  /** The first leaf index the page may hold. */
  readonly from: number
  /** Leaves beyond this index are not part of the listing (the head size its first page was read under). */
  readonly bound: number
  readonly limit: number
}

export interface PageItem {
  readonly index: number
  readonly leaf: Uint8Array
  readonly proof: readonly Uint8Array[]
}

export interface ProvenEntry extends PageItem {
  readonly entry: LedgerEntry
}

/** `child` is a code directly under `parent` (both canonical). */
export function isDirectChild (child: string, parent: string): boolean {
  return child.length > parent.length + 1 && child.startsWith(parent) && child[parent.length] === '.' && !child.includes('.', parent.length + 1)
}

/** Whether an entry belongs to the listing (its index aside); `children` also needs it to be the child's first allocation. */
export function entryMatches (entry: LedgerEntry, query: Pick<PageQuery, 'of' | 'code'>): boolean {
  switch (query.of) {
    case 'code': return entry.code === query.code
    case 'children': return entry.type === 'allocation' && isDirectChild(entry.code, query.code as string)
    case 'range': return true
  }
}

/** A well-formed query: InvalidProofError (`reason: "bad-query"`) otherwise. */
export function checkPageQuery (query: PageQuery): void {
  const bad = (why: string): never => { throw new InvalidProofError(`page query: ${why}`, { reason: 'bad-query' }) }
  if (!(PAGE_KINDS as readonly string[]).includes(query.of)) bad(`unknown listing ${String(query.of)}`)
  if (query.of === 'range' ? query.code !== undefined : (typeof query.code !== 'string' || !isCode(query.code))) bad('code')
  for (const n of [query.from, query.bound, query.limit]) if (!Number.isSafeInteger(n) || n < 0) bad('from, bound and limit must be non-negative integers')
  if (query.from > query.bound) bad('from is beyond bound')
  if (query.limit < 1) bad('limit must be at least 1')
}

/**
 * Checks a served page against a verified head: every leaf decodes, answers the query, lies in
 * [from, bound) in increasing order, and is proven at its index under the head's root; a `range`
 * page is contiguous from `from` and as long as asked; `next` (where the listing goes on) lies
 * beyond the last item and within bound. Throws InvalidProofError (`details.reason`); returns the entries.
 */
export function verifyPage (items: readonly PageItem[], next: number | undefined, query: PageQuery, head: Pick<TreeHead, 'size' | 'root'>): ProvenEntry[] {
  checkPageQuery(query)
  const bad = (reason: string, why: string, index?: number): never => {
    throw new InvalidProofError(`page of ${query.of}${query.code !== undefined ? ` ${query.code}` : ''}: ${why}`, { reason, ...(index !== undefined ? { index } : {}) })
  }
  if (query.bound > head.size) bad('bound-beyond-head', `bound ${query.bound} is beyond the head's ${head.size} leaves`)
  if (items.length > query.limit) bad('page-too-long', `${items.length} items, ${query.limit} asked`)
  const out: ProvenEntry[] = []
  let last = query.from - 1
  for (const item of items) {
    if (!Number.isSafeInteger(item.index) || item.index <= last || item.index >= query.bound) bad('page-order', `item ${item.index} is out of order or outside ${query.from}..${query.bound}`, item.index)
    if (query.of === 'range' && item.index !== last + 1) bad('page-gap', `entry ${last + 1} is missing`, last + 1)
    const entry = decodeLeaf(item.leaf)
    if (!entryMatches(entry, query)) bad('page-mismatch', `entry ${item.index} does not belong to this listing`, item.index)
    verifyInclusion(leafHash(item.leaf), item.index, head.size, item.proof, head.root)
    out.push({ ...item, entry })
    last = item.index
  }
  if (query.of === 'range' && out.length < Math.min(query.limit, query.bound - query.from)) bad('page-gap', `${out.length} entries from ${query.from}, ${Math.min(query.limit, query.bound - query.from)} expected`)
  if (next !== undefined && (!Number.isSafeInteger(next) || next <= last || next >= query.bound)) bad('page-next', `next ${next} is not beyond the last item and within ${query.bound}`)
  if (query.of === 'range') {
    const expected = last + 1 < query.bound ? last + 1 : undefined
    if (next !== expected) bad('page-next', `a range page continues at ${String(expected)}, not ${String(next)}`)
  }
  return out
}
