import type { AbortOptions } from '@libp2p/interface'
import { lineage, parseCode } from '../../core/code/grammar.ts'
import { equalBytes, fromHex, toHex } from '../../core/crypto/hash.ts'
import { compareTreeHeads } from '../../core/ledger/fork.ts'
import type { ForkKind } from '../../core/ledger/fork.ts'
import { decodeLeaf, encodeLeaf } from '../../core/ledger/log.ts'
import type { LedgerEntry } from '../../core/ledger/log.ts'
import { leafHash, MerkleFrontier } from '../../core/ledger/merkle.ts'
import { verifyInclusion } from '../../core/ledger/proofs.ts'
import type { HeadRecord } from '../../core/record/head-record.ts'
import type { RecordValidator } from '../../core/record/validator.ts'
import type { LedgerAnswers, LedgerOp, LedgerRequest } from '../../network/protocols/ledger.ts'
import type { PeerRef } from '../resolver/index.ts'
import { decodeEntryBundle, TILE_WIDTH, tileWidth } from '../../core/ledger/tiles.ts'
import type { ForkAlarm } from './index.ts'

/**
 * `citycode audit`: fetch the ledgers that hold a code's history (the log of the authority that
 * signs its record, which is the code's own log for an authority, and its parent's log, which holds
 * its allocation), check every entry against the signed head, check the head against every head
 * this node holds of that log (seen on gossip, in the DHT, its own), and report the code's history
 * and any alarm. Everything is verified here; the nodes asked are not trusted.
 */

/** `resumed`: the head an earlier, resumed audit of this log ended on. */
export type HeadSourceName = 'owner' | 'dht' | 'seen' | 'own' | 'resumed'

export interface AuditedHead {
  readonly source: HeadSourceName
  readonly size: number
  readonly time: number
  /** `rollback`: the log's node now serves a smaller tree than this head it signed. */
  readonly status: 'consistent' | 'fork' | 'rollback' | 'other-key' | 'undecided'
}

export interface AuditedLog {
  readonly log: string
  readonly peer?: string
  readonly key?: string
  readonly head?: { size: number, root: string, time: number, cosignatures: number }
  /** Entries fetched and decoded; their Merkle root equals the head's root when `rootMatches`. */
  readonly entries: number
  readonly rootMatches: boolean
  readonly inclusionChecked: number
  readonly inclusionFailed: number
  readonly heads: AuditedHead[]
  /** Why this log could not be audited (no node found, no ledger, unreachable). */
  readonly error?: string
}

export interface HistoryItem {
  readonly log: string
  readonly index: number
  readonly type: LedgerEntry['type']
  readonly code: string
  readonly seq?: number
  readonly time: number
  readonly object: string
  readonly included: boolean
}

export interface AuditAlarm {
  readonly log: string
  readonly kind: ForkKind | 'rollback' | 'entries-mismatch' | 'inclusion-failed'
  readonly detail: string
  readonly key?: string
  /** Fork evidence (hex), re-checkable by anyone holding the key. */
  readonly evidence?: string
}

/** A revocation in force on the target's lineage (the code itself or a namespace above it). */
export interface AuditedRevocation {
  readonly namespace: string
  /** Hash (hex) of the revoked certificate. */
  readonly certificate: string
  readonly revokedAt: number
  readonly reason: string
  /**
   * Whether it revokes the certificate of the namespace's latest allocation in the logs fetched:
   * true or false when that allocation was seen, undefined when it was not (a log not reached).
   */
  readonly current?: boolean
}

export interface AuditReport {
  readonly target: string
  /** No alarm: every entry included, every held head consistent. */
  readonly ok: boolean
  /**
   * The code does not stand: a revocation in force takes down its current certificate or one above
   * it (or, where the current one is not known, any certificate of its namespace or above).
   */
  readonly revoked: boolean
  readonly revocations: AuditedRevocation[]
  readonly logs: AuditedLog[]
  readonly history: HistoryItem[]
  readonly alarms: AuditAlarm[]
}

export interface AuditContext {
  validator: RecordValidator
  now: () => number
  locate: (log: string, options: AbortOptions) => Promise<PeerRef | undefined>
  ask: <K extends LedgerOp>(peer: string | PeerRef, request: Extract<LedgerRequest, { op: K }>, options: AbortOptions) => Promise<LedgerAnswers[K]>
  dhtHeads: (log: string, options: AbortOptions) => Promise<Uint8Array[]>
  heldHeads: (log: string) => Array<{ source: 'seen' | 'own', record: HeadRecord }>
  alarms: () => ForkAlarm[]
  raiseAlarm: (alarm: Omit<ForkAlarm, 'detectedAt'>) => Promise<void>
  /** Progress of earlier audits, to go on from (resumable audits). */
  state?: AuditStateStore
  onProgress?: (progress: AuditProgress) => void
}

export async function auditTarget (target: string, ctx: AuditContext, options: AbortOptions = {}): Promise<AuditReport> {
  const code = parseCode(target)
  const logs = [code.text]
  if (code.segments.length > 1) logs.push(code.segments.slice(0, -1).join('.'))
  const audited: AuditedLog[] = []
  const history: HistoryItem[] = []
  const alarms: AuditAlarm[] = []
  for (const log of logs) audited.push(await auditLog(log, code.text, ctx, history, alarms, options))
  for (const a of ctx.alarms()) {
    if (!logs.includes(a.log) || alarms.some(x => x.key === toHex(a.key) && x.evidence !== undefined)) continue
    alarms.push({ log: a.log, kind: a.kind, detail: `fork alarm (${a.source}) raised at ${new Date(a.detectedAt).toISOString()}`, key: toHex(a.key), evidence: toHex(a.evidence) })
  }
  history.sort((a, b) => a.time - b.time || (a.log < b.log ? -1 : a.log > b.log ? 1 : a.index - b.index))
  const revocations = revocationsOnLineage(code.text, history, ctx)
  const revoked = revocations.some(r => r.current !== false)
  return { target: code.text, ok: alarms.length === 0, revoked, revocations, logs: audited, history, alarms }
}

/** The revocations this node honours (learnt at start from its peers, or on gossip) on the code's lineage. */
function revocationsOnLineage (code: string, history: readonly HistoryItem[], ctx: AuditContext): AuditedRevocation[] {
  const now = ctx.now()
  const out: AuditedRevocation[] = []
  for (const ancestor of lineage(parseCode(code))) {
    const allocations = history.filter(h => h.type === 'allocation' && h.code === ancestor.text)
    const latest = allocations[allocations.length - 1]
    for (const r of ctx.validator.revocations.inForceFor(ancestor.text, now)) {
      const certificate = toHex(r.target)
      out.push({ namespace: ancestor.text, certificate, revokedAt: r.revokedAt, reason: r.reason, ...(latest !== undefined ? { current: latest.object === certificate } : {}) })
    }
  }
  return out
}

/**
 * Where an audit of one log stands, so a later audit goes on from there: the compact range of the
 * leaves checked so far (MerkleFrontier: one hash per set bit of `size`), the target's entries
 * found among them, and the signed head whose root they made once a whole pass matched. A resumed
 * audit fetches only the entries after `size`; the root it ends with still covers every entry, and
 * the saved head is checked against the current one like any head this node holds.
 */
export interface AuditLogState {
  readonly log: string
  /** The log key (hex) the entries were checked under; another key starts over. */
  readonly key: string
  readonly size: number
  /** The frontier's hashes (hex), largest subtree first. */
  readonly frontier: readonly string[]
  /** The target's entries among the first `size`. */
  readonly found: ReadonlyArray<Omit<HistoryItem, 'included'>>
  /** HeadRecord bytes (hex) of the head of `size` entries the frontier's root matched; absent mid-pass. */
  readonly head?: string
}

/** Where audits keep their progress (the CLI: a file named by --state). */
export interface AuditStateStore {
  load(log: string, target: string): AuditLogState | undefined
  save(state: AuditLogState, target: string): Promise<void> | void
}

export interface AuditProgress { readonly log: string, readonly done: number, readonly total: number }

/** Pages between two saves of the progress of a pass. */
const SAVE_EVERY_PAGES = 16

async function auditLog (log: string, code: string, ctx: AuditContext, history: HistoryItem[], alarms: AuditAlarm[], options: AbortOptions): Promise<AuditedLog> {
  const empty = { log, entries: 0, rootMatches: false, inclusionChecked: 0, inclusionFailed: 0, heads: [] }
  let peer: PeerRef | undefined
  try {
    peer = await ctx.locate(log, options)
  } catch (err) {
    return { ...empty, error: `no node found for ${log}: ${(err as Error).message}` }
  }
  if (peer === undefined) return { ...empty, error: `no node found for ${log}` }
  let head: HeadRecord
  try {
    head = ctx.validator.validateHead((await ctx.ask(peer, { op: 'get-head', log }, options)).record, log).record
  } catch (err) {
    return { ...empty, peer: peer.id, error: `no signed head of ${log}: ${(err as Error).name}: ${(err as Error).message}` }
  }
  const size = head.sth.head.size
  const root = head.sth.head.root
  const key = toHex(head.key)

  // every head this node holds of the log, gathered first: the pass notes the root at each one's size
  const held: Array<{ source: HeadSourceName, record: HeadRecord }> = [...ctx.heldHeads(log)]
  for (const bytes of await ctx.dhtHeads(log, options)) {
    try {
      held.push({ source: 'dht', record: ctx.validator.validateHead(bytes, log).record })
    } catch {}
  }

  // where an earlier audit stopped, when it was of this log under this key and not beyond its head
  let frontier = new MerkleFrontier()
  const found: Array<Omit<HistoryItem, 'included'>> = []
  const saved = ctx.state?.load(log, code)
  if (saved !== undefined && saved.log === log && saved.key === key) {
    try {
      if (saved.head !== undefined) held.push({ source: 'resumed', record: ctx.validator.validateHead(fromHex(saved.head), log).record })
      if (saved.size <= size) {
        frontier = MerkleFrontier.restore(saved.size, saved.frontier.map(fromHex))
        found.push(...saved.found.filter(f => f.log === log && f.code === code))
      }
    } catch {
      frontier = new MerkleFrontier()
      found.length = 0
    }
  }
  let start = frontier.size
  // the root of the streamed tree at each held head's size (a resumed frontier gives its own at once)
  const rootsAt = new Map<number, Uint8Array>()
  const save = async (withHead: boolean): Promise<void> => {
    await ctx.state?.save({ log, key, size: frontier.size, frontier: frontier.hashes.map(toHex), found, ...(withHead ? { head: toHex(head.bytes) } : {}) }, code)
  }

  // every entry, streamed into the frontier (memory: one page and log2(n) hashes): its root must be the signed root
  const pass = async (): Promise<void> => {
    const wanted = new Set(held.map(({ record }) => record.sth.head.size).filter(n => n > start && n < size))
    rootsAt.clear()
    if (start > 0) rootsAt.set(start, frontier.root())
    let pages = 0
    let bundles = true
    // entry bundles (tiles: immutable, a mirror's or a cache's as good as the node's), aligned to 256
    for (let from = start; from < size;) {
      const n = Math.floor(from / TILE_WIDTH)
      const to = Math.min(size, (n + 1) * TILE_WIDTH)
      let page: Uint8Array[] | undefined
      if (bundles) {
        try {
          const width = tileWidth(0, n, size)
          const bundle = (await ctx.ask(peer, { op: 'get-tile', log, tile: { kind: 'entries', level: 0, index: n, width } }, options)).data
          page = decodeEntryBundle(bundle, width).slice(from - n * TILE_WIDTH)
        } catch (err) {
          // a node that serves no tiles (older than them) still serves entries; a bad bundle is just short
          if (options.signal?.aborted === true) throw err
          if ((err as Error).name !== 'InvalidTileError') bundles = false
        }
      }
      page ??= bundles ? [] : (await ctx.ask(peer, { op: 'get-entries', log, from, to }, options)).entries.slice(0, to - from)
      for (const leaf of page) {
        let entry: LedgerEntry
        try {
          entry = decodeLeaf(leaf)
        } catch {
          return
        }
        const index = frontier.size
        frontier.appendLeaf(leaf)
        if (wanted.has(frontier.size)) rootsAt.set(frontier.size, frontier.root())
        if (entry.code === code) found.push({ log, index, type: entry.type, code: entry.code, ...(entry.seq !== undefined ? { seq: entry.seq } : {}), time: entry.time, object: toHex(entry.object) })
      }
      if (page.length !== to - from) return
      from = to
      ctx.onProgress?.({ log, done: frontier.size, total: size })
      if (++pages % SAVE_EVERY_PAGES === 0) await save(false)
    }
  }
  await pass()
  if (start > 0 && !(frontier.size === size && equalBytes(frontier.root(), root))) {
    // the saved progress is this node's own and may be damaged: only a whole pass can accuse the log
    frontier = new MerkleFrontier()
    found.length = 0
    start = 0
    await pass()
  }
  const rootMatches = frontier.size === size && equalBytes(frontier.root(), root)
  if (!rootMatches) alarms.push({ log, kind: 'entries-mismatch', key, detail: `the ${frontier.size} entries served do not make the signed root of size ${size}` })
  else await save(true)

  // the code's entries with the proofs the log's node serves; every other one is in the signed tree
  // by construction when the streamed root is the signed root (a per-leaf proof would recompute it)
  let codeChecked = 0
  for (const f of found) {
    let included = false
    try {
      const leaf = encodeLeaf({ type: f.type, code: f.code, ...(f.seq !== undefined ? { seq: f.seq } : {}), time: f.time, object: fromHex(f.object) })
      const answer = await ctx.ask(peer, { op: 'get-inclusion', log, index: f.index, size }, options)
      if (!equalBytes(answer.leaf, leaf)) throw new Error('served another leaf')
      verifyInclusion(leafHash(leaf), f.index, size, answer.proof, root)
      included = true
      codeChecked++
    } catch {}
    history.push({ ...f, included })
  }
  const others = frontier.size - found.length
  const inclusionChecked = codeChecked + (rootMatches ? others : 0)
  const inclusionFailed = (found.length - codeChecked) + (rootMatches ? 0 : others)
  if (inclusionFailed > 0) alarms.push({ log, kind: 'inclusion-failed', key, detail: `${inclusionFailed} entries are not provably in the signed head of size ${size}` })

  // every head this node holds of the log must be a prefix of (or equal to) the current one
  const heads: AuditedHead[] = [{ source: 'owner', size, time: head.sth.head.time, status: 'consistent' }]
  for (const { source, record } of held) {
    const h = record.sth.head
    const seen = (status: AuditedHead['status']): void => { heads.push({ source, size: h.size, time: h.time, status }) }
    if (!equalBytes(record.key, head.key)) {
      seen('other-key')
      continue
    }
    if (h.size > size) {
      seen('rollback')
      alarms.push({ log, kind: 'rollback', key, detail: `a head of size ${h.size} (${source}) is larger than the ${size} the log's node serves now` })
      continue
    }
    // the streamed tree (now proven to be the signed one) decides it without a question
    const prefixRoot = rootMatches ? rootsAt.get(h.size) : undefined
    if (prefixRoot !== undefined && equalBytes(prefixRoot, h.root)) {
      seen('consistent')
      continue
    }
    let proof: Uint8Array[] | undefined
    if (h.size < size) {
      try {
        proof = (await ctx.ask(peer, { op: 'get-consistency', log, oldSize: h.size, newSize: size }, options)).proof
      } catch {
        seen('undecided')
        continue
      }
    }
    let result
    try {
      result = compareTreeHeads(record.sth, head.sth, head.key, proof)
    } catch {
      seen('undecided')
      continue
    }
    if (result.status === 'consistent') {
      seen('consistent')
      continue
    }
    seen('fork')
    alarms.push({ log, kind: result.kind, key, evidence: toHex(result.evidence), detail: `the head of size ${h.size} (${source}) and the current head of size ${size} cannot both be views of one log` })
    await ctx.raiseAlarm({ log, key: head.key, chain: head.chain, kind: result.kind, evidence: result.evidence, source: 'local' })
  }
  return {
    log,
    peer: peer.id,
    key,
    head: { size, root: toHex(root), time: head.sth.head.time, cosignatures: head.cosignatures.length },
    entries: frontier.size,
    rootMatches,
    inclusionChecked,
    inclusionFailed,
    heads
  }
}
