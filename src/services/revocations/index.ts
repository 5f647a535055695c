import type { ComponentLogger, Startable } from '@libp2p/interface'
import type { GossipSub } from '@libp2p/gossipsub'
import type { RecordValidator } from '../../core/record/validator.ts'
import type { VerifiedRevocationAnnouncement } from '../../core/trust/revocation-announcement.ts'
import type { RevocationGossipCounters } from '../../network/gossip/revocations.ts'
import type { RevocationStore } from '../../storage/revocation-store.ts'
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
/** Revocations a node honours and keeps at most (see RevocationStore). */
export { DEFAULT_MAX_STORED_REVOCATIONS } from '../../storage/revocation-store.ts'

export interface RevocationsInit {
  /** @default DEFAULT_REANNOUNCE_INTERVAL_MS */
  reannounceIntervalMs?: number
  /** @default DEFAULT_FIRST_REANNOUNCE_DELAY_MS */
  firstReannounceDelayMs?: number
}

export interface RevocationsComponents {
  validator: RecordValidator
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
  readonly counters: RevocationGossipCounters
}

export function revocations (init: RevocationsInit = {}): (components: RevocationsComponents) => Revocations {
  return (components) => new RevocationsService(init, components)
}
