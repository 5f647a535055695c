import type { AbortOptions } from '@libp2p/interface'
import { lineage, parseCode } from '../../core/code/grammar.ts'
import { equalBytes, toHex } from '../../core/crypto/hash.ts'
import { compareTreeHeads } from '../../core/ledger/fork.ts'
import type { ForkKind } from '../../core/ledger/fork.ts'
import { decodeLeaf, MerkleLog } from '../../core/ledger/log.ts'
import type { LedgerEntry } from '../../core/ledger/log.ts'
import { leafHash } from '../../core/ledger/merkle.ts'
import { verifyInclusion } from '../../core/ledger/proofs.ts'
import type { HeadRecord } from '../../core/record/head-record.ts'
import type { RecordValidator } from '../../core/record/validator.ts'
import type { LedgerAnswers, LedgerOp, LedgerRequest } from '../../network/protocols/ledger.ts'
import type { PeerRef } from '../resolver/index.ts'
import { fetchLeaves } from './log-reader.ts'
import type { ForkAlarm } from './index.ts'

/**
 * `citycode audit`: fetch the ledgers that hold a code's history (the log of the authority that
 * signs its record, which is the code's own log for an authority, and its parent's log, which holds
 * its allocation), check every entry against the signed head, check the head against every head
 * this node holds of that log (seen on gossip, in the DHT, its own), and report the code's history
 * and any alarm. Everything is verified here; the nodes asked are not trusted.
 */

export type HeadSourceName = 'owner' | 'dht' | 'seen' | 'own'

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

  // every entry, rebuilt into a tree: its root must be the signed root
  const tree = new MerkleLog()
  const leaves = await fetchLeaves(log, size, peer, ctx.ask, options)
  const entries = leaves.map(decodeLeaf)
  for (const leaf of leaves) tree.appendLeaf(leaf)
  const rootMatches = tree.size === size && equalBytes(tree.root(), root)
  if (!rootMatches) alarms.push({ log, kind: 'entries-mismatch', key, detail: `the ${tree.size} entries served do not make the signed root of size ${size}` })

  // inclusion of every entry: the code's history with the proofs the log's node serves, the rest locally
  let inclusionChecked = 0
  let inclusionFailed = 0
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as LedgerEntry
    const leaf = leaves[i] as Uint8Array
    let included = false
    try {
      if (entry.code === code) {
        const answer = await ctx.ask(peer, { op: 'get-inclusion', log, index: i, size }, options)
        if (!equalBytes(answer.leaf, leaf)) throw new Error('served another leaf')
        verifyInclusion(leafHash(leaf), i, size, answer.proof, root)
      } else if (!rootMatches) {
        // when the rebuilt root is the signed root, every leaf it was built from is in the signed
        // tree by construction: a per-leaf proof would recompute the same hashes
        verifyInclusion(leafHash(leaf), i, size, tree.inclusionProof(i, size), root)
      }
      included = true
      inclusionChecked++
    } catch {
      inclusionFailed++
    }
    if (entry.code === code) {
      history.push({ log, index: i, type: entry.type, code: entry.code, ...(entry.seq !== undefined ? { seq: entry.seq } : {}), time: entry.time, object: toHex(entry.object), included })
    }
  }
  if (inclusionFailed > 0) alarms.push({ log, kind: 'inclusion-failed', key, detail: `${inclusionFailed} entries are not provably in the signed head of size ${size}` })

  // every head this node holds of the log must be a prefix of (or equal to) the current one
  const held: Array<{ source: HeadSourceName, record: HeadRecord }> = [...ctx.heldHeads(log)]
  for (const bytes of await ctx.dhtHeads(log, options)) {
    try {
      held.push({ source: 'dht', record: ctx.validator.validateHead(bytes, log).record })
    } catch {}
  }
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
    let proof: Uint8Array[] | undefined
    if (h.size < size) {
      try {
        proof = rootMatches ? tree.consistencyProof(h.size, size) : (await ctx.ask(peer, { op: 'get-consistency', log, oldSize: h.size, newSize: size }, options)).proof
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
    entries: entries.length,
    rootMatches,
    inclusionChecked,
    inclusionFailed,
    heads
  }
}
