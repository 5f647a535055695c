import type { AbortOptions } from '@libp2p/interface'
import { equalBytes } from '../../core/crypto/hash.ts'
import { CitycodeError } from '../../core/errors.ts'
import { InvalidProofError } from '../../core/ledger/errors.ts'
import { decodeLeaf, MerkleLog } from '../../core/ledger/log.ts'
import type { LedgerEntry } from '../../core/ledger/log.ts'
import type { HeadRecord } from '../../core/record/head-record.ts'
import type { RecordValidator } from '../../core/record/validator.ts'
import { MAX_ENTRIES_PER_REQUEST } from '../../network/protocols/ledger.ts'
import type { LedgerAnswers, LedgerOp, LedgerRequest } from '../../network/protocols/ledger.ts'
import { NotFoundError } from '../errors.ts'
import type { PeerRef } from '../resolver/index.ts'

/** Entries a reader fetches at most for one log (16 requests): beyond, LogTooLargeError. */
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
