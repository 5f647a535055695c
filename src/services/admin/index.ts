import type { BatchLine, BatchLineFields } from '../../core/allocation/batch.ts'
import type { BulkProgress, BulkRegisterOptions, BulkReport } from '../authority/bulk-register.ts'
import type { Authority } from '../authority/index.ts'
import type { RecordValue } from '../../core/record/values.ts'
import type { PublishResult } from '../publisher/index.ts'
import type { Rotation } from '../node/index.ts'
import type { RevocationSource } from '../proof/revoke.ts'
import { AdminOperationsService } from './operations.ts'
import type { AccessPolicy } from '../../core/catalogue/catalogue.ts'
import type { LogVerification } from '../../core/catalogue/exchange-log.ts'
import type { Exchange, ExchangeLogView, FetchResult, ShareRequest } from '../exchange/index.ts'

export { AdminRequestError, AdminRequestTooLargeError, UnknownAdminOpError, AdminRequestTimeoutError } from './errors.ts'

/**
 * What an operator may do to a node while it runs: list, approve and reject pending applications
 * and sign proof bundles. The CLI reaches these operations through the node's admin socket when
 * the node runs (src/interfaces/admin/), or builds them on a node of its own over the data
 * directory of a stopped node: either way the same code, so both paths have the same outcomes.
 */

/** How an authority names a pending application: the first 16 hex digits of its hash. */
export const APPLICATION_ID = /^[0-9a-f]{16}$/
/** At most this many application ids in one request (an operator's batch, not a bulk import). */
export const MAX_IDS_PER_REQUEST = 256
/** How long a prove may resolve its code at most. */
export const MAX_PROVE_TIMEOUT_MS = 120_000
export const DEFAULT_PROVE_TIMEOUT_MS = 10_000

export interface PendingApplicationView {
  readonly id: string
  readonly name: string
  readonly officialCode: string | null
  /** Unix milliseconds. */
  readonly receivedAt: number
}

/** The outcome for one id of an approve or reject: the error is kept per id, so one bad id does not hide the others' outcomes. */
export type Decision =
  | { readonly id: string, readonly status: 'allocated', readonly code: string, readonly duplicate: boolean }
  | { readonly id: string, readonly status: 'pending' }
  | { readonly id: string, readonly status: 'rejected' }
  | { readonly id: string, readonly status: 'failed', readonly error: { readonly name: string, readonly code: string, readonly message: string } }

export interface ProveRequest {
  readonly code: string
  /** Add the ledger inclusion proof and cosignatures. @default true */
  readonly ledger?: boolean
  /** Deadline for resolving the code. @default DEFAULT_PROVE_TIMEOUT_MS */
  readonly timeoutMs?: number
}

/** A signed bundle and what the CLI prints about it (the node verified it before answering). */
export interface ProofResult {
  readonly code: string
  readonly bytes: Uint8Array
  readonly text: string
  /** Unix milliseconds: when the bundle was signed. */
  readonly madeAt: number
  readonly ledger: { readonly log: string, readonly index: number, readonly size: number, readonly cosignatures: number } | null
}

export interface RevokeRequest {
  /** The code whose certificate is revoked: this node's own, or a child's it issued. */
  readonly code: string
  readonly reason: string
  /** Unix milliseconds from which it is revoked. @default now */
  readonly revokedAt?: number
  /** Deadline for resolving a child's chain. @default DEFAULT_PROVE_TIMEOUT_MS */
  readonly timeoutMs?: number
}

/** A signed revocation (SPEC 4.4), recorded in the node's ledger and honoured by the node from then on. */
export interface RevocationResult {
  readonly code: string
  readonly bytes: Uint8Array
  readonly revokedAt: number
  readonly reason: string
  /** Its entry in the node's ledger; null for a node without one. */
  readonly ledgerIndex: number | null
}

/** An invitation to make (SPEC 2.2): the invitee's authority key (64 hex), optionally its one code, and for how many days. */
export interface InviteRequest {
  readonly key: string
  readonly code?: string
  /** @default 7 */
  readonly validDays?: number
}

export interface InvitationResult {
  readonly namespace: string
  readonly key: string
  readonly code: string | null
  readonly expiresAt: number
  /** The Invitation bytes to hand to the applicant. */
  readonly bytes: Uint8Array
}

/** An invitation is valid at most this long: a forgotten one should not admit someone years later. */
export const MAX_INVITATION_DAYS = 365

/** What `rotate` did (SPEC 4.4): the node signs with `key` from now on. */
export interface RotationResult {
  readonly code: string
  /** The new key and the one it replaced, 64 hex each. */
  readonly key: string
  readonly previousKey: string
  readonly serial: number
  readonly ledgerIndex: number | null
  readonly republished: number
}

/** Re-certify `code`, a direct child of this authority, to the key `key` (64 hex). */
export interface ReinstateRequest {
  readonly code: string
  readonly key: string
  /** SHA-256 of the holder's next key (64 hex), when it committed to one. */
  readonly next?: string
}

export interface ReinstateResult {
  readonly code: string
  readonly key: string
  readonly serial: number
  /** Whether the certificate it replaced was revoked now (false: it was revoked already, or the same key asked again). */
  readonly revokedPrevious: boolean
  readonly duplicate: boolean
}

/** Publish this node's own record (or a new own sub-code named `sub`) with extra data values. */
export interface PublishRequest {
  readonly sub?: string
  readonly values?: ReadonlyArray<{ readonly name: string, readonly value: string }>
}

export interface PublishOutcome {
  readonly code: string
  readonly seq: number
  readonly dhtPeers: number
}

export interface NodeStatus {
  readonly role: string
  /** The code this node holds; null before it has one. */
  readonly namespace: string | null
  readonly peerId: string
  readonly approval: 'auto' | 'manual' | null
}

export interface AdminOperations {
  status(): Promise<NodeStatus>
  pending(): Promise<PendingApplicationView[]>
  /** `reinstate`: re-certify the code an application names to its key although another key holds it (SPEC 4.4). */
  approve(ids: readonly string[], options?: { reinstate?: boolean }): Promise<Decision[]>
  reject(ids: readonly string[]): Promise<Decision[]>
  prove(request: ProveRequest): Promise<ProofResult>
  revoke(request: RevokeRequest): Promise<RevocationResult>
  /** Signs an invitation with this authority's key; under `auto` the invitee is allocated at once. */
  invite(request: InviteRequest): Promise<InvitationResult>
  /** Registers checked sub-code lines as this city's own (issue #20); `check` only says what a write would do. */
  registerBatch(request: RegisterBatchRequest): Promise<BulkReport>
  /** Shares a file (issue #19): imported, listed in the code's catalogue, the record republished naming it. */
  shareAdd(request: ShareAddRequest): Promise<ShareResult>
  shareList(): Promise<ShareResult[]>
  shareRemove(request: ShareRemoveRequest): Promise<ShareResult>
  /** Fetches `code/name` from its holder, checking every block; writes it to `out` when given. */
  fetch(request: FetchRequest): Promise<FetchResult>
  /** The exchange log (both roles), and its verification. */
  exchangeLog(request: ExchangeLogRequest): Promise<ExchangeLogResult>
  /** Moves this node to its pre-committed next key (SPEC 4.4). */
  rotate(): Promise<RotationResult>
  /** Re-certifies a child's code to a new key; the certificate it replaces is revoked. */
  reinstate(request: ReinstateRequest): Promise<ReinstateResult>
  publish(request: PublishRequest): Promise<PublishOutcome>
}

/** The file is read by the node itself (same user, same machine as the socket), so no bytes cross the socket. */
export type ShareAddRequest = ShareRequest

export interface ShareRemoveRequest {
  readonly name: string
  readonly code?: string
}

/** A dataset as the operator sees it. */
export interface ShareResult {
  readonly code: string
  readonly catalogue: string
  readonly seq: number
  readonly name: string
  readonly version: number
  readonly cid: string
  readonly size: number
  readonly mediaType: string
  readonly licence: string
  readonly description: string
  /** `public`, a namespace, or `codes:A,B`. */
  readonly access: string
}

export interface FetchRequest {
  readonly code: string
  readonly name: string
  /** An absolute path the node writes the dataset to. */
  readonly out?: string
  /** @default DEFAULT_FETCH_TIMEOUT_MS */
  readonly timeoutMs?: number
}

export interface ExchangeLogRequest {
  readonly from?: number
  /** @default MAX_LOG_ENTRIES_PER_REQUEST */
  readonly limit?: number
}

export interface ExchangeLogResult {
  readonly entries: ExchangeLogView[]
  readonly verified: LogVerification
}

/** Log entries one answer carries: an answer stays well under the socket's 1 MiB. */
export const MAX_LOG_ENTRIES_PER_REQUEST = 1000
/** A fetch may take at most this long. */
export const MAX_FETCH_TIMEOUT_MS = 60 * 60_000

export interface RegisterBatchRequest {
  lines: readonly BatchLineFields[]
  check?: boolean
  /** Called after each written chunk; only on the data directory (the socket answers once). */
  onProgress?: (p: BulkProgress) => void
}

/** What the operations need from a node (CitycodeNode has all of it). */
export interface AdminNode extends RevocationSource {
  readonly role: string
  /** Read at every call: a node gets its authority once its application is allocated. */
  readonly authority: Authority | undefined
  readonly peerId: { toString(): string }
  /** Absent on a node that cannot register sub-codes in bulk. */
  registerBatch?: (lines: readonly BatchLine[], options?: BulkRegisterOptions) => Promise<BulkReport>
  /** Absent (or undefined) on a node that shares and fetches no data (resolver-only). */
  readonly exchange?: Exchange | undefined
  /** Absent on a node that cannot rotate its key. */
  rotate?: () => Promise<Rotation>
  publishOwn?: (extra?: RecordValue[]) => Promise<PublishResult>
  publish?: (code: string, values: RecordValue[]) => Promise<PublishResult>
}

export interface AdminOperationsInit {
  /** The approval mode the node was configured with, reported by `status`. */
  approval?: 'auto' | 'manual'
}

export interface AdminOperationsComponents {
  node: AdminNode
}

export function adminOperations (init: AdminOperationsInit = {}): (components: AdminOperationsComponents) => AdminOperations {
  return (components) => new AdminOperationsService(init, components)
}
