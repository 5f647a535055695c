import type { AbortOptions, ComponentLogger, Libp2p, PeerId } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { CID } from 'multiformats/cid'
import type { AccessPolicy, DatasetEntry, SignedCatalogue } from '../../core/catalogue/catalogue.ts'
import type { LogVerification } from '../../core/catalogue/exchange-log.ts'
import type { Signer } from '../../core/crypto/signature.ts'
import type { RecordValidator } from '../../core/record/validator.ts'
import type { VerifiedRecord } from '../../core/record/verify.ts'
import { ExchangeService } from './exchange.ts'

/**
 * Data exchange between cities by code (issue #19, SPEC 11): every city node serves the datasets it
 * shares over `/citycode/exchange/1.0.0`, to requesters its catalogue's access policy admits, and
 * fetches other cities' datasets by `CODE/NAME`, checking every block by its hash as it arrives and
 * resuming from the blocks it already holds. Both sides log every transfer.
 */

export interface ExchangeInit {
  /** A provider gives one batch this long. @default DEFAULT_BATCH_TIMEOUT_MS (network) */
  batchTimeoutMs?: number
  /** A provider keeps an idle transfer stream open this long. @default DEFAULT_IDLE_TIMEOUT_MS */
  idleTimeoutMs?: number
  /** Blocks one request asks for (1..MAX_WANT). @default MAX_WANT */
  blocksPerRequest?: number
  /** Nonces the provider remembers inside the request window. @default 100_000 */
  nonceCacheSize?: number
}

export interface ExchangeComponents {
  libp2p: Libp2p
  datastore: Datastore
  validator: RecordValidator
  /** This node's code and chain, read at every call (a node gets them when its application is allocated). */
  identity: () => { readonly namespace: string, readonly chain: readonly Uint8Array[] } | undefined
  signer: () => Signer | undefined
  /** Resolves a code through the node's resolver (every door's validator). */
  resolve: (code: string, options: AbortOptions) => Promise<VerifiedRecord>
  /** Publishes a new version of `code`'s record naming `catalogue` (and this node as its holder). */
  publishCatalogue: (code: string, catalogue: CID, options: AbortOptions) => Promise<void>
  now: () => number
  logger: ComponentLogger
}

export interface ShareRequest {
  /** A file to share. */
  readonly path: string
  readonly name: string
  /** The code whose catalogue lists it: this node's own (default) or a sub-code it registered. */
  readonly code?: string
  /** @default public */
  readonly access?: AccessPolicy
  readonly mediaType?: string
  readonly licence?: string
  readonly description?: string
}

export interface ShareView {
  readonly code: string
  readonly catalogue: string
  readonly seq: number
  readonly dataset: DatasetEntry
}

export interface FetchOptions extends AbortOptions {
  /** Where to write the dataset's bytes; without it the blocks are only kept in the block store. */
  out?: string
  /** Deadline of the whole fetch. @default DEFAULT_FETCH_TIMEOUT_MS */
  timeoutMs?: number
  /** Called after each block kept. */
  onProgress?: (progress: { blocks: number, bytes: number }) => void
  /** Ask this peer instead of the holder the record names (a holder of a copy, a test's provider). */
  provider?: PeerId
}

export interface FetchResult {
  readonly code: string
  readonly dataset: string
  readonly cid: string
  readonly size: number
  readonly mediaType: string
  readonly licence: string
  readonly provider: string
  /** Blocks and bytes moved by this fetch; blocks already held were not asked for again. */
  readonly blocks: number
  readonly bytes: number
  readonly alreadyHeld: number
  readonly receipts: number
  readonly out: string | null
  readonly logSeq: number
}

export interface ExchangeLogView {
  readonly seq: number
  readonly role: 'served' | 'fetched'
  readonly time: number
  readonly peer: string
  readonly requester: string
  readonly provider: string
  readonly dataset: string
  readonly root: string
  readonly bytes: number
  readonly policy: string
  readonly requests: number
  readonly receipts: number
  readonly outcome: string
  readonly hash: string
}

export interface Exchange {
  start(): Promise<void>
  stop(): Promise<void>
  share(request: ShareRequest, options?: AbortOptions): Promise<ShareView>
  unshare(name: string, code?: string, options?: AbortOptions): Promise<ShareView>
  shares(): Promise<ShareView[]>
  /** The catalogue this node signs for `code`, if it shares anything under it. */
  catalogueOf(code: string): SignedCatalogue | undefined
  fetch(code: string, name: string, options?: FetchOptions): Promise<FetchResult>
  log(options?: { from?: number, limit?: number }): Promise<ExchangeLogView[]>
  verifyLog(): Promise<LogVerification>
}

/** Default deadline of one fetch: a 64 MiB dataset over a slow link fits. */
export const DEFAULT_FETCH_TIMEOUT_MS = 10 * 60_000

export function exchange (init: ExchangeInit = {}): (components: ExchangeComponents) => Exchange {
  return (components) => new ExchangeService(init, components)
}
