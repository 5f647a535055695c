import type { AbortOptions, ComponentLogger, Startable } from '@libp2p/interface'
import type { Signer } from '../../core/crypto/signature.ts'
import type { RecordValidator } from '../../core/record/validator.ts'
import type { RecordValue } from '../../core/record/values.ts'
import type { SignedRecord } from '../../core/record/record.ts'
import type { RecordStore } from '../../storage/record-store.ts'
import { PublisherService } from './publisher.ts'

/** How long a signed record stays valid; republishing re-signs well before. */
export const DEFAULT_RECORD_VALIDITY_MS = 7 * 86_400_000
/** How long resolvers may cache a record (like a DNS TTL): short, since gossip pushes updates anyway. */
export const DEFAULT_RECORD_TTL_MS = 5 * 60_000
/** kad-dht forgets records after 36 h; republish well within. */
export const DEFAULT_REPUBLISH_INTERVAL_MS = 3_600_000
/**
 * A push the parent did not take (a partition, a restarting parent) is retried with doubling delays
 * from this one, up to PUSH_RETRY_MAX_DELAY_MS apart, for DEFAULT_PUSH_RETRY_FOR_MS: the parent
 * answers for its children, and without the retry it would serve the older version until the next
 * publication (measured in the partition simulation).
 */
export const DEFAULT_PUSH_RETRY_FIRST_DELAY_MS = 1_000
/**
 * Kept short: a retry costs one dial, and until it lands the parent serves the older version. A
 * connection to the parent that opens meanwhile triggers the retry at once (`parentReachable`).
 */
export const PUSH_RETRY_MAX_DELAY_MS = 10_000
export const DEFAULT_PUSH_RETRY_FOR_MS = 10 * 60_000
/**
 * Records of the sub-codes a holder registered (its own children: bureaus, facilities), re-sent to
 * the DHT per republish interval, in turn. The holder itself answers for them (it is their
 * authority) and its ledger proves them, so the DHT copy is a fallback: a city of a million
 * sub-codes costs this many PUTs an hour, not a million.
 */
export const DEFAULT_REPUBLISH_BATCH = 1_000

export interface PublisherInit {
  recordValidityMs?: number
  ttlMs?: number
  republishIntervalMs?: number
  /** @default DEFAULT_PUSH_RETRY_FIRST_DELAY_MS */
  pushRetryFirstDelayMs?: number
  /** @default DEFAULT_PUSH_RETRY_FOR_MS */
  pushRetryForMs?: number
  /** @default DEFAULT_REPUBLISH_BATCH */
  republishBatch?: number
}

/** Where a signed record goes once it is stored: the DHT and the gossip topic. */
export interface PublishTargets {
  /** PUTs to the DHT; resolves with the number of peers that stored it. */
  dhtPut(code: string, bytes: Uint8Array, options: AbortOptions): Promise<number>
  gossip(bytes: Uint8Array): Promise<void>
  /** Hands the record to the parent authority (which answers for its children). */
  push?(bytes: Uint8Array, options: AbortOptions): Promise<void>
}

export interface PublisherComponents {
  signer: () => Signer
  /** The holder's current delegation chain (anchor side first). */
  chain: () => readonly Uint8Array[]
  /**
   * The code this node holds itself (its chain's last namespace), undefined before it has one.
   * Only its record goes to the parent (the parent answers for its direct children, not for their
   * sub-codes), and it is re-announced on every republish; sub-codes go by REPUBLISH_BATCH.
   */
  ownCode?: () => string | undefined
  validator: RecordValidator
  store: RecordStore
  targets: PublishTargets
  now: () => number
  logger: ComponentLogger
}

export interface PublishResult {
  readonly record: SignedRecord
  /** Peers that stored it in the DHT (0 when the DHT PUT failed or was skipped). */
  readonly dhtPeers: number
}

export interface PublishOptions extends AbortOptions {
  /** Return once stored and gossiped, leaving the DHT PUT to finish in the background. */
  background?: boolean
}

/** What one republish sent: records walked, re-signed, and the messages it cost. */
export interface RepublishReport {
  records: number
  resigned: number
  dhtPuts: number
  gossiped: number
  pushed: number
}

export interface Publisher extends Startable {
  /** Signs the next version of `code` with `values`, stores it, PUTs it to the DHT and gossips it. */
  publish(code: string, values: RecordValue[], options?: PublishOptions): Promise<PublishResult>
  /**
   * Re-signs every own record close to expiry; re-sends the holder's own and directory records in
   * full (push, gossip, DHT) and the next REPUBLISH_BATCH sub-code records to the DHT only.
   */
  republish(options?: AbortOptions): Promise<RepublishReport>
  /**
   * The parent is reachable again (a connection to it opened, e.g. after a partition healed): pushes
   * it has not taken yet are retried now instead of at their next retry time.
   */
  parentReachable(): void
}

export function publisher (init: PublisherInit = {}): (components: PublisherComponents) => Publisher {
  return (components) => new PublisherService(init, components)
}
