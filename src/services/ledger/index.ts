import type { AbortOptions, ComponentLogger, Startable } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { Signer } from '../../core/crypto/signature.ts'
import type { ForkKind } from '../../core/ledger/fork.ts'
import type { LedgerEntry } from '../../core/ledger/log.ts'
import type { TileRef } from '../../core/ledger/tiles.ts'
import type { HeadRecord, VerifiedHeadRecord } from '../../core/record/head-record.ts'
import type { RecordValidator } from '../../core/record/validator.ts'
import type { VerifiedRecord } from '../../core/record/verify.ts'
import type { SignedRecord } from '../../core/record/record.ts'
import type { CitycodeLibp2p } from '../../network/node/index.ts'
import type { AllocationStore } from '../../storage/allocation-store.ts'
import type { RecordStore } from '../../storage/record-store.ts'
import type { PeerRef } from '../resolver/index.ts'
import type { AuditProgress, AuditReport, AuditStateStore } from './audit.ts'
import { LedgerService } from './ledger.ts'
import type { TileReader } from './tiles.ts'
import type { LogPage, PageRequest, ReadLogOptions, VerifiedLog } from './log-reader.ts'

export type { AuditReport, AuditedLog, AuditedHead, HistoryItem, AuditLogState, AuditStateStore, AuditProgress } from './audit.ts'
export type { LogPage, PageRequest, ReadLogOptions, VerifiedLog } from './log-reader.ts'
export { DEFAULT_MAX_LOG_ENTRIES, LogTooLargeError, listingId } from './log-reader.ts'
export { TileReader } from './tiles.ts'

/**
 * A streamed audit: every log read page by page into a Merkle frontier (memory does not grow with
 * the log), its progress reported, and kept in `state` so an interrupted or later audit goes on
 * from where the last one stopped.
 */
export interface AuditOptions extends AbortOptions {
  state?: AuditStateStore
  onProgress?: (progress: AuditProgress) => void
}

/** At most one signed head per this interval: appends in between share the next head. */
export const DEFAULT_HEAD_INTERVAL_MS = 1_000
/** kad-dht forgets values after 36 h: the latest head is put again well within. */
export const DEFAULT_HEAD_REPUBLISH_INTERVAL_MS = 3_600_000
/** One ledger protocol question (proof, head, entries) to one peer. */
export const DEFAULT_LEDGER_REQUEST_TIMEOUT_MS = 5_000
/** How long an authority waits for each witness's cosignature before announcing a head without it. */
export const DEFAULT_COSIGN_TIMEOUT_MS = 5_000
export const DEFAULT_HEAD_DHT_PUT_TIMEOUT_MS = 30_000
/**
 * Heads go on gossip at once, but into the DHT at most this often (the latest one, trailing): a DHT
 * PUT walks to a new key's closest peers (the ledger's extra PUT per publication is part of why it
 * raised a 67-node simulation's CPU time from 37 s to 63 s), and the DHT copy is only the fallback
 * for nodes that missed gossip and cannot reach the log's node (any head there is still checked).
 */
export const DEFAULT_HEAD_DHT_INTERVAL_MS = 10 * 60_000
/** Heads of other logs kept (one per authority seen); beyond this, new logs are checked but not kept. */
export const MAX_KNOWN_LOGS = 100_000

/** A witness this authority asks to cosign its heads: its node's multiaddr (with /p2p/<peer id>). */
export interface WitnessRef {
  readonly addr: string
  /** The witness's namespace, for logs and reports only. */
  readonly namespace?: string
}

/** Resolution refuses records whose authority's latest head lacks `k` valid cosignatures of these keys. */
export interface CosignatureRequirement {
  readonly k: number
  readonly witnesses: readonly Uint8Array[]
}

export interface LedgerInit {
  /**
   * Keep this node's own ledger (allocations, record versions, rotations, revocations it signs) and
   * check other logs' heads. Off: no ledger at all (benchmarks compare the two).
   * @default true
   */
  enabled?: boolean
  /** @default DEFAULT_HEAD_INTERVAL_MS */
  headIntervalMs?: number
  /** @default DEFAULT_HEAD_REPUBLISH_INTERVAL_MS */
  republishIntervalMs?: number
  /** @default DEFAULT_HEAD_DHT_INTERVAL_MS */
  headDhtIntervalMs?: number
  /**
   * Gossip the first head of a city-level (or deeper) log. Large single-process simulations turn
   * it off (the lean profile, docs/SIMULATION.md): every node verifying every new city's first head
   * is an N-squared cost there. Production keeps it: a split view shown from a log's first head on
   * is caught only if watchers hold that head. @default true
   */
  gossipFirstCityHeads?: boolean
  /** @default DEFAULT_LEDGER_REQUEST_TIMEOUT_MS */
  requestTimeoutMs?: number
  /** Witnesses asked to cosign each new head. @default [] */
  witnesses?: WitnessRef[]
  /** @default DEFAULT_COSIGN_TIMEOUT_MS */
  cosignTimeoutMs?: number
  /** Act as a witness: cosign heads of other logs once checked consistent with what this node saw. @default false */
  witness?: boolean
  /** Check every head seen on gossip against the previous one of its log. @default true */
  monitor?: boolean
}

export interface LedgerComponents {
  datastore: Datastore
  validator: RecordValidator
  /** Absent: no network (no protocol, gossip or DHT); the log, heads and proofs still work. */
  libp2p?: CitycodeLibp2p
  /** The authority key that signs this node's heads; undefined for resolver-only nodes. */
  signer: () => Signer | undefined
  /** The namespace (the log's id) and chain of this node; undefined until it holds a code. */
  identity: () => { namespace: string, chain: readonly Uint8Array[] } | undefined
  /** Finds the node that keeps a log (the holder of the log's namespace record). */
  locate?: (log: string, options: AbortOptions) => Promise<PeerRef | undefined>
  /** Reconciled at start: allocations and own records not yet in the log are appended. */
  allocations?: AllocationStore
  records?: RecordStore
  now: () => number
  logger: ComponentLogger
}

/** A verified proof that a record version is in its signer's log. */
export interface VerifiedRecordInclusion {
  /** RecordInclusion bytes (core/record/record-inclusion.ts): anyone with the anchors can re-check them. */
  readonly inclusion: Uint8Array
  readonly head: HeadRecord
  readonly index: number
}

/** Verified fork evidence against one authority's log key. */
export interface ForkAlarm {
  readonly log: string
  readonly key: Uint8Array
  readonly kind: ForkKind
  /** ForkEvidence bytes (core/ledger/fork.ts): anyone holding `key` can re-check them. */
  readonly evidence: Uint8Array
  /** The chain that certifies `key` for `log` (sent with the evidence). */
  readonly chain: readonly Uint8Array[]
  readonly detectedAt: number
  /** `local`: this node proved it; `gossip`: another node did and this one re-checked it. */
  readonly source: 'local' | 'gossip'
}

/**
 * What checking a head of another log concluded:
 * `first` (none seen before: kept), `same` (same tree), `consistent` (extends the previous: kept),
 * `stale` (an older prefix of the kept head), `key-changed` (a new key for the namespace: kept),
 * `fork` (alarm raised), `undecided` (no usable proof: the previous head stays), `own` (this node's log).
 */
export type HeadCheck = 'first' | 'same' | 'consistent' | 'stale' | 'key-changed' | 'fork' | 'undecided' | 'own'

export interface HeadSource {
  /** The peer that sent the head directly (a cosign requester): asked for proofs first. */
  peer?: string
  /** A consistency proof from a head of `fromSize` leaves to this head (sent with a head update). */
  proof?: { fromSize: number, hashes: readonly Uint8Array[] }
}

export interface LedgerCounters {
  appended: number
  headsSigned: number
  /** Heads put in the DHT (coalesced: see DEFAULT_HEAD_DHT_INTERVAL_MS). */
  headsPut: number
  headsSeen: number
  consistent: number
  forks: number
  undecided: number
  cosigned: number
}

export interface Ledger extends Startable {
  /** Entries in this node's own log. */
  readonly size: number
  readonly counters: LedgerCounters
  /** Appends an entry to the own log; a head covering it is signed within `headIntervalMs`. */
  append(entry: LedgerEntry): Promise<number>
  /** Appends entries in one store batch and schedules one head for all (bulk registration); returns the first index. */
  appendMany(entries: readonly LedgerEntry[]): Promise<number>
  /** True when the own log holds this entry (by type, code and object). */
  holds(entry: Pick<LedgerEntry, 'type' | 'code' | 'object'>): boolean
  appendAllocation(code: string, certificate: Uint8Array): Promise<number>
  /** Logs a record version (signed record bytes); a version already logged is not logged twice. */
  appendRecord(record: Uint8Array): Promise<number>
  appendRevocation(revocation: Uint8Array): Promise<number>
  /** A rotation link this node made for its own code (SPEC 4.4): `object` is the link's SHA-256. */
  appendRotation(code: string, certificate: Uint8Array): Promise<number>
  /** The own log's latest signed head. */
  head(): HeadRecord | undefined
  /** Signs (and announces) a head of the current log now, unless the latest already covers it. */
  signHead(): Promise<HeadRecord | undefined>
  inclusionProof(index: number, size?: number): Uint8Array[]
  consistencyProof(oldSize: number, newSize?: number): Uint8Array[]
  entries(from: number, to: number): Promise<Uint8Array[]>
  /** The latest verified head this node holds of another log (kept compact: its `chain` is empty). */
  knownHead(log: string): HeadRecord | undefined
  /** Checks a head of another log against the one held, fetching a consistency proof as needed. */
  checkHead(head: Uint8Array | VerifiedHeadRecord, source?: HeadSource, options?: AbortOptions): Promise<HeadCheck>
  alarms(): ForkAlarm[]
  /** The operator's decision after a fork alarm: forget it and trust the key again. */
  clearAlarm(key: Uint8Array): Promise<boolean>
  /** An inclusion proof (RecordInclusion bytes) of one of this node's own record versions, under a head covering it. */
  proveRecord(record: SignedRecord): Promise<Uint8Array>
  /**
   * Fetches (or, for an own record, makes) and verifies the proof that a record version is in its
   * signer's log; checks the head against the one held of that log. Throws NotLoggedError,
   * UnknownLogError, InvalidProofError, WrongKeyError, InconsistentTreeError (a fork, alarm raised).
   */
  recordInclusion(verified: VerifiedRecord, options?: AbortOptions): Promise<VerifiedRecordInclusion>
  /** Throws InsufficientCosignaturesError unless the record's authority's latest head meets `requirement`. */
  requireCosignatures(verified: VerifiedRecord, requirement: CosignatureRequirement, options?: AbortOptions): Promise<void>
  /** Fetches and checks the ledgers that hold a code's history (or an authority's whole log). */
  audit(target: string, options?: AuditOptions): Promise<AuditReport>
  /**
   * One log as of its latest signed head, every entry checked against the head's root: this node's
   * own log from its store, another from the log's node (UnknownLogError, NotFoundError,
   * LogTooLargeError, InvalidProofError when it cannot be read whole and checked).
   */
  readLog(log: string, options?: ReadLogOptions): Promise<VerifiedLog>
  /**
   * One page of a listing of a log (a code's entries, a code's children, a range), every entry
   * proven under the log's latest signed head: from the store for this node's own log, else one
   * `get-page` question to the log's node. Whatever the log's size. Throws InvalidCursorError (a
   * cursor of another listing, mangled, or of a larger tree than the log serves), UnknownLogError,
   * NotFoundError, InvalidProofError (the page does not check against the head).
   */
  readPage(log: string, request: PageRequest, options?: AbortOptions): Promise<LogPage>
  /** A consistency proof between two sizes of a log (own: from the store; else from the log's node, unchecked: compare it against two heads). */
  consistencyOf(log: string, oldSize: number, newSize: number, options?: AbortOptions): Promise<Uint8Array[]>
  /**
   * A log's latest signed head (its checkpoint): this node's own, or validated from the log's node
   * and checked against the head this node holds of it (CheckpointRollbackError for an older tree,
   * InconsistentTreeError for a fork).
   */
  checkpoint(log: string, options?: AbortOptions): Promise<HeadRecord>
  /**
   * A tile of a log (C2SP tlog-tiles layout, core/ledger/tiles.ts): from the store for the own log,
   * else fetched from the log's node (`get-tile`) and checked against its checkpoint before it is
   * returned (InvalidTileError); verified full tiles are kept and served again without asking.
   */
  tile(log: string, ref: TileRef, options?: AbortOptions): Promise<Uint8Array>
  /** The tile reader of another log (proofs and leaves built from its tiles, each checked). */
  tiles(log: string): TileReader
}

export function ledger (init: LedgerInit = {}): (components: LedgerComponents) => Ledger {
  return (components) => new LedgerService(init, components)
}
