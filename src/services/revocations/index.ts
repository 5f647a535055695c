import type { ComponentLogger, Startable } from '@libp2p/interface'
import type { GossipSub } from '@libp2p/gossipsub'
import type { RecordValidator } from '../../core/record/validator.ts'
import type { VerifiedRevocationAnnouncement } from '../../core/trust/revocation-announcement.ts'
import type { RevocationGossipCounters } from '../../network/gossip/revocations.ts'
import type { RevocationStore } from '../../storage/revocation-store.ts'
import type { SyncPage } from '../../network/protocols/revocation-sync.ts'
import { RevocationsService } from './revocations.ts'

/**
 * Every node re-announces the revocations it holds this often, so a node that joined (or was cut
 * off) since learns them from whichever neighbour it has: gossipsub forwards a message once, and a
 * node that took an announcement already ignores a repeat without passing it on, so only a
 * neighbour's own announcement reaches a newcomer. Nodes that hold none send nothing.
 */
export const DEFAULT_REANNOUNCE_INTERVAL_MS = 10 * 60_000
/** The first re-announcement after start: soon, for a revocation signed while the node was stopped. */
export const DEFAULT_FIRST_REANNOUNCE_DELAY_MS = 30_000
/**
 * Re-announcements per subtree and round: a flood of valid junk revocations is not sent around
 * again every ten minutes for ever; what nodes rely on is sent first.
 */
export const DEFAULT_REANNOUNCE_PER_SUBTREE = 16
/** Revocations a node honours and keeps at most (see RevocationStore). */
export { DEFAULT_MAX_STORED_REVOCATIONS } from '../../storage/revocation-store.ts'

/** A starting node gives its peers this long, together, to hand it the revocations in force. */
export const DEFAULT_SYNC_TIMEOUT_MS = 3_000
/** Peers asked at start (the first of the bootstrap list and the parent). */
export const DEFAULT_SYNC_PEERS = 3
/** Pages taken from one peer at most (4096 stored revocations fit in far fewer). */
export const MAX_SYNC_PAGES = 64

export interface RevocationsInit {
  /** @default DEFAULT_REANNOUNCE_INTERVAL_MS */
  reannounceIntervalMs?: number
  /** @default DEFAULT_SYNC_TIMEOUT_MS */
  syncTimeoutMs?: number
  /** Revocations held at most (memory and store). @default DEFAULT_MAX_STORED_REVOCATIONS */
  capacity?: number
  /** Revocations below one city (or issued by one authority, at city level and above) held at most. @default DEFAULT_REVOCATIONS_PER_SUBTREE */
  perSubtree?: number
  /** Stored revocations re-announced per subtree each round at most (those relied on first). @default DEFAULT_REANNOUNCE_PER_SUBTREE */
  reannouncePerSubtree?: number
  /** @default DEFAULT_FIRST_REANNOUNCE_DELAY_MS */
  firstReannounceDelayMs?: number
}

export interface RevocationsComponents {
  validator: RecordValidator
  /** Whether this node relies on the certificate (its own chain, a record it caches): such a revocation is never dropped for room. */
  reliedOn?: (certHash: Uint8Array, namespace: string) => boolean
  store: RevocationStore
  /** The node's gossipsub, once libp2p runs. */
  pubsub: () => GossipSub
  now: () => number
  logger: ComponentLogger
}

export interface Revocations extends Startable {
  /**
   * Loads the stored revocations into the validator (those whose certificate has expired are
   * dropped): run before the node validates anything. `start` runs it when it has not run yet.
   */
  load(): Promise<number>
  /**
   * Verifies an announcement (SPEC 4.4), honours it, stores it and publishes it on the revocations
   * topic; throws the announcement's typed error when it does not verify. Returns what was verified.
   */
  announce(bytes: Uint8Array): Promise<VerifiedRevocationAnnouncement>
  /** Publishes every stored announcement again; returns how many were sent. */
  reannounce(): Promise<number>
  /**
   * Verifies an announcement a peer handed over (a resolve answer, a sync page) and honours and
   * stores it when it adds to what is held; returns it verified, or throws its typed error. Not
   * published: the node that sent it holds it, and gossip has carried it already.
   */
  learn(bytes: Uint8Array): Promise<VerifiedRevocationAnnouncement>
  /** The stored announcement of the revocation of the certificate `target` (its hash). */
  stored(target: Uint8Array): Promise<Uint8Array | undefined>
  /** A page of the stored announcements for a peer's sync request. */
  page(after: Uint8Array | undefined): Promise<SyncPage>
  /**
   * Takes every page `fetchPage` gets from one peer and learns each announcement; returns how many
   * were new. A bad announcement is skipped (and logged), the rest still count.
   */
  syncFrom(fetchPage: (after: Uint8Array | undefined) => Promise<SyncPage>): Promise<number>
  /** Called with every revocation newly honoured (gossip, sync, answers, own), e.g. to purge copies held under it. */
  onHonoured(listener: (announcement: VerifiedRevocationAnnouncement) => void): () => void
  readonly counters: RevocationGossipCounters
}

export function revocations (init: RevocationsInit = {}): (components: RevocationsComponents) => Revocations {
  return (components) => new RevocationsService(init, components)
}
