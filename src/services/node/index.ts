import type { ComponentLogger, Metrics, PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { Signer } from '../../core/crypto/signature.ts'
import type { AuthorityKeyring } from '../../storage/keys.ts'
import type { RecordValue } from '../../core/record/values.ts'
import type { TrustAnchor } from '../../core/trust/anchors.ts'
import type { AuthorityInit } from '../authority/index.ts'
import type { PublisherInit } from '../publisher/index.ts'
import type { RevocationsInit } from '../revocations/index.ts'
import type { StatusKeeperInit } from '../revocations/status.ts'
import type { Resolution, ResolutionSource, ResolverInit } from '../resolver/index.ts'
import type { CosignatureRequirement, LedgerInit, VerifiedRecordInclusion } from '../ledger/index.ts'
import type { Transport } from '@libp2p/interface'
import type { ExchangeInit } from '../exchange/index.ts'

export type NodeRole = 'root' | 'country' | 'city' | 'resolver'

export interface NetworkInit {
  transport: 'tcp' | 'memory'
  listen: string[]
  bootstrap?: string[]
  /**
   * Multiaddrs of authorities this node depends on (root and country nodes): their IP addresses,
   * with the bootstrap list's and the parent's, skip the pending-connection caps (issue #16).
   */
  knownPeers?: string[]
  /** An inbound connection not upgraded (noise, yamux) within this many ms is dropped; saturated simulations may give more. @default DEFAULT_INBOUND_UPGRADE_TIMEOUT_MS */
  inboundUpgradeTimeoutMs?: number
  /** Large simulations only: skip noise (clearly not for production). */
  encryption?: 'noise' | 'plaintext'
  /** A transport to use instead of the stock ones (the simulator's link model). */
  customTransport?: (components: never) => Transport
  /** kad-dht tuning for lean simulated nodes. */
  dht?: { querySelfIntervalMs?: number, initialQuerySelfIntervalMs?: number, kBucketSize?: number, closestPeerTagIntervalMs?: number, tableRefreshIntervalMs?: number }
  /** gossipsub mesh maintenance period (lean simulated nodes space it). @default 1_000 */
  gossipHeartbeatIntervalMs?: number
  maxConnections?: number
  /** libp2p metrics (e.g. `prometheusMetrics({ registry })` for the gateway's `/metrics`). */
  metrics?: (components: never) => Metrics
  /** libp2p's connection monitor (a ping per connection every 10 s by default); simulations space it. */
  connectionMonitor?: { enabled?: boolean, pingIntervalMs?: number }
  /**
   * Simulation only: replaces this node's DHT validator and selector, so the simulator can make a
   * node behave as a Sybil that stores and serves stale or forged values. Never set in production.
   */
  dhtPolicyOverride?: { validate: (key: Uint8Array, value: Uint8Array) => Promise<void>, select: (key: Uint8Array, values: Uint8Array[]) => number }
}

export interface CitycodeNodeInit {
  role: NodeRole
  anchors: TrustAnchor[]
  datastore: Datastore
  peerKey: PrivateKey
  /** The authority signing key (not the libp2p key); absent for resolver-only nodes. */
  authorityKey?: Signer
  /**
   * Where the key after `authorityKey` is kept for a rotation (the data directory's keychain, or
   * `memoryKeyring`). Without it the node commits to no next key and cannot rotate.
   */
  authorityKeys?: AuthorityKeyring
  /** For a root: the agency namespace it holds as an anchor (e.g. MA). */
  rootNamespace?: string
  network: NetworkInit
  authority?: AuthorityInit
  /**
   * `requireCosignatures`: resolution refuses records whose authority's latest tree head lacks `k`
   * valid cosignatures of the given witness keys (InsufficientCosignaturesError). `requireInclusion`:
   * resolution refuses a record version without a valid proof that it is in its signer's log (the
   * ledger's errors: NotLoggedError, InvalidProofError, ...), and returns the proof with the answer. @default off
   */
  resolver?: ResolverInit & { requireCosignatures?: CosignatureRequirement, requireInclusion?: boolean }
  /** The authority ledger, its witnesses, and whether this node witnesses others. */
  ledger?: LedgerInit
  publisher?: PublisherInit
  /** Re-announcing the revocations this node holds. */
  revocations?: RevocationsInit
  /** Signing and refreshing revocation status statements (SPEC 4.6). */
  revocationStatus?: StatusKeeperInit
  /** Data exchange (issue #19): serving this node's shares and fetching others'; off on resolver-only nodes. */
  exchange?: ExchangeInit
  /** Values of this node's own record besides its peer id and addresses (names, location, services). */
  values?: RecordValue[]
  now?: () => number
  logger?: ComponentLogger
}

/** What `CitycodeNode.rotate` did (SPEC 4.4). */
export interface Rotation {
  readonly code: string
  readonly key: Uint8Array
  readonly previousKey: Uint8Array
  /** The rotation link's serial. */
  readonly serial: number
  /** The rotation link. */
  readonly certificate: Uint8Array
  /** Its entry in the node's ledger; null for a node without one. */
  readonly ledgerIndex: number | null
  /** Own records signed again under the new key. */
  readonly republished: number
}

/** A resolution, with the ledger inclusion proof of the version when one was required or asked for. */
export interface NodeResolution extends Resolution {
  readonly inclusion?: VerifiedRecordInclusion
}

/** One resolution through `CitycodeNode.resolve`: where the answer came from, or the error. */
export interface ResolutionEvent {
  readonly code: string
  readonly source?: ResolutionSource
  readonly error?: unknown
  readonly elapsedMs: number
}

export { CitycodeNode, createCitycodeNode, ROTATION_REASON } from './citycode-node.ts'
export type { ApplyOptions } from './citycode-node.ts'
