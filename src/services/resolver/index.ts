import type { AbortOptions, ComponentLogger } from '@libp2p/interface'
import type { CostOptions, MessageCost } from '../../network/message-cost.ts'
import type { VerifiedRecord } from '../../core/record/verify.ts'
import type { VerifiedAbsence } from '../../core/proof/absence.ts'
import { ResolverService } from './resolver.ts'
import type { RecordValidator } from '../../core/record/validator.ts'
import type { VerifiedRevocationAnnouncement } from '../../core/trust/revocation-announcement.ts'
import type { RevocationStatus } from '../../core/trust/revocation-status.ts'
import type { VerifiedChain } from '../../core/trust/chain.ts'

export const DEFAULT_RESOLVE_TIMEOUT_MS = 10_000
/** How long one direct question to a known holder or authority may take before trying the next. */
export const DEFAULT_DIRECT_TIMEOUT_MS = 2_000
/**
 * A direct question unanswered after this long gets a second one to the next candidate (a hedged
 * request): a dead or overloaded holder then costs this delay, not a whole direct timeout.
 */
export const DEFAULT_HEDGE_DELAY_MS = 250
/**
 * The DHT walk starts alongside the direct questions when none has answered after this long (at
 * once when all have failed). A walk costs dozens of RPCs and new connections: started after 1 s,
 * walks were most of the resolver's traffic in the 67-node churn run, where slow direct answers came
 * from an overloaded process rather than from dead peers, and no walk won the race.
 */
export const DEFAULT_DHT_DELAY_MS = 2_000
/** The DHT walk answers once this many valid values are in (the newest wins)... */
export const DEFAULT_DHT_QUORUM = 3
/** ...or this long after the first valid value, whichever comes first, instead of waiting for the whole walk. */
export const DEFAULT_DHT_GRACE_MS = 400
/** A peer that failed a direct question is asked after the others for this long. */
export const DEFAULT_FAILED_PEER_MS = 30_000
export const DEFAULT_CACHE_ENTRIES = 50_000
/** A record is never cached longer than this, whatever TTL it asks for. */
export const MAX_CACHE_TTL_MS = 24 * 3_600_000

export type ResolutionSource = 'local' | 'cache' | 'direct' | 'dht'

export interface Resolution {
  readonly code: string
  readonly verified: VerifiedRecord
  readonly source: ResolutionSource
  /** Which peer answered, for `direct` and `dht`. */
  readonly from?: string
  readonly elapsedMs: number
}

/** Where a record can be asked for directly: a peer id and the addresses it published. */
export interface PeerRef {
  readonly id: string
  readonly addrs: readonly string[]
}

/** A peer's signed claim that a code is not allocated (AbsenceProof bytes), checked before it is believed. */
export interface AbsenceAnswer {
  readonly absence: Uint8Array
}

/**
 * A peer's answer that a certificate on the code's chain is revoked (RevocationAnnouncement bytes),
 * in place of the record: believed only once the resolver's own revocations component verified it.
 */
export interface RevokedAnswer {
  readonly revoked: Uint8Array
}

/**
 * A record with what came with it: `live` when the holder's parent answered with a connection open
 * to that holder (SPEC 7: the holder has pushed it every newer version, so the copy needs no
 * confirmation from the holder); `statuses`, revocation status statements stapled to it (SPEC 4.6),
 * kept only once the record's chain is verified and vouches for their issuers.
 */
export interface RecordAnswer {
  readonly record: Uint8Array
  readonly live?: true
  readonly statuses?: readonly Uint8Array[]
}

/** The network, as the resolver sees it: interchangeable record sources (routing backends). */
export interface ResolverRouting {
  /**
   * Asks one peer for the record of `code` over the resolve protocol: the record bytes; null when
   * it has none; `{ record, live?, statuses? }` with what came with it; `{ absence }` when it says, with a proof, that nobody holds it; `{ revoked }` when
   * it says, with the revocation, that the code's delegation is revoked.
   */
  askPeer(peer: PeerRef, code: string, options: CostOptions): Promise<Uint8Array | null | RecordAnswer | AbsenceAnswer | RevokedAnswer>
  /**
   * Walks the DHT for values under the code's key; yields each value with the peer it came from as
   * soon as it arrives (the resolver stops the walk, through the signal, once it has its answer).
   */
  dhtValues(code: string, options: CostOptions): AsyncIterable<{ value: Uint8Array, from: string }>
  /** This node's own peer id (never asked). */
  readonly selfId: string
  /** Whether a connection to the peer is open (a question then costs no handshake). */
  connected?(peerId: string): boolean
}

/** Records this node holds itself (its own, and what it serves for others). */
export interface LocalRecords {
  get(code: string): Promise<Uint8Array | undefined>
}

export interface ResolverInit {
  /** @default 10 s */
  timeoutMs?: number
  /**
   * After this long without an answer a direct question counts as failed: the next candidate is
   * asked, the DHT walk starts when none is left, the peer is asked last for a while. The question
   * itself stays open until the lookup's deadline, and its answer can still win.
   * @default 2 s
   */
  directTimeoutMs?: number
  /** @default DEFAULT_HEDGE_DELAY_MS */
  hedgeDelayMs?: number
  /** @default DEFAULT_DHT_DELAY_MS */
  dhtDelayMs?: number
  /** @default DEFAULT_DHT_QUORUM */
  dhtQuorum?: number
  /** @default DEFAULT_DHT_GRACE_MS */
  dhtGraceMs?: number
  /** @default DEFAULT_FAILED_PEER_MS */
  failedPeerMs?: number
  /** @default 50,000 */
  cacheEntries?: number
  /** Authorities to ask when nothing closer is known (e.g. the root and country nodes from config). */
  authorities?: Array<{ namespace: string, peer: PeerRef }>
  /**
   * Take a record only with, for every link of its chain, a revocation status statement from the
   * link's issuer no older than this (SPEC 4.6): stapled to the answer, held, or fetched from the
   * issuer; an answer that cannot be checked is refused (StaleRevocationStatusError). Unset: no such
   * requirement (revocations are still learnt at start, on gossip and from answers).
   */
  revocationStatusMaxAgeMs?: number
}

/** Revocation status statements, as the resolver gets them (the node's status keeper and its network). */
export interface StatusSource {
  /** The statements held of these issuers (decoded; checked by the resolver against each chain). */
  forIssuers(namespaces: readonly string[]): RevocationStatus[]
  /** Keeps stapled statements whose issuers the verified chain `vouch` names with their keys. */
  offer(statements: readonly Uint8Array[], vouch: VerifiedChain): void
  /** Asks the node of `issuer` for its statements and keeps them; a failure is no throw, the check after it says what is missing. */
  fetch(issuer: string, options: CostOptions): Promise<void>
}

/** How the resolver honours a revocation a peer answered with (the node's revocations service). */
export interface RevocationLearner {
  /** Verifies the announcement against the node's anchors and honours it; throws its typed error. */
  learn(bytes: Uint8Array): Promise<VerifiedRevocationAnnouncement>
}

export interface ResolverComponents {
  validator: RecordValidator
  routing: ResolverRouting
  /** Without it a revoked answer is a failed question (nothing verified, nothing believed). */
  revocations?: RevocationLearner
  /** Needed when `revocationStatusMaxAgeMs` is set. */
  statuses?: StatusSource
  local: LocalRecords
  now: () => number
  logger: ComponentLogger
  /**
   * Told of every direct question that counts as the peer's failure, with its typed error (an answer
   * that does not verify, a stale one, one over the frame cap, none in time): the node counts them.
   */
  onPeerFailure?: (peer: string, err: Error) => void
  /**
   * Called when a root or country record is cached: the node it names is an authority this
   * resolver will ask (the node keeps a resolve session open to it).
   */
  onAuthority?: (peer: PeerRef) => void
}

export interface ResolveOptions extends AbortOptions {
  /** Skip the cache (still updates it). */
  fresh?: boolean
  /** Skip direct questions: the DHT only (tests of the fallback path). */
  dhtOnly?: boolean
  /** Adds up the peers asked, messages and bytes of this resolution (its parent's lookup included). */
  cost?: MessageCost
}

export interface Resolver {
  resolve(code: string, options?: ResolveOptions): Promise<Resolution>
  /**
   * Offers a record learnt elsewhere (gossip): verified (unless this node's validator already did),
   * and cached when it is newer. Returns whether it was taken.
   */
  offer(record: Uint8Array | VerifiedRecord): boolean
  /** Adds a known authority node for a namespace (asked when nothing nearer is cached). */
  addAuthority(namespace: string, peer: PeerRef): void
  /** The freshest verified record in the cache, or undefined. */
  cached(code: string): VerifiedRecord | undefined
  /** What the cache holds for `code`, expired or not (verified when it was cached). */
  cachedStale(code: string): VerifiedRecord | undefined
  /**
   * The newest record of `code` this resolver verified and may still rely on (its TTL may have run
   * out; its own validity, its chain's and the revocations known have not): what no answer may roll back.
   */
  knownNewest(code: string): VerifiedRecord | undefined
  /** A verified, unexpired proof that `code` does not exist, from the negative cache. */
  cachedAbsence(code: string): VerifiedAbsence | undefined
  /** The root and country records this resolver holds and may still rely on (SPEC 7 directory). */
  directory(): VerifiedRecord[]
  readonly cacheSize: number
}

export function resolver (init: ResolverInit = {}): (components: ResolverComponents) => Resolver {
  return (components) => new ResolverService(init, components)
}
