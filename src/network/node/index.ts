import type { GossipSub } from '@libp2p/gossipsub'
import type { PeerScoreThresholds } from '@libp2p/gossipsub/score'
import type { Identify } from '@libp2p/identify'
import type { ComponentLogger, Libp2p, Metrics, PrivateKey, Transport } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Datastore } from 'interface-datastore'
import type { DhtRecords, DhtStoreLimits } from '../dht/guarded-datastore.ts'

export { createCitycodeLibp2p, routingTableSize } from './create-libp2p.ts'
export { publishOnTopic, subscribeTopic } from './topic.ts'
export type { TopicMessage, TopicSubscription, TopicValidation, SubscribeTopicOptions } from './topic.ts'
export { SCORE_THRESHOLDS, TRUSTED_PEER_SCORE, citycodePeerScoreParams, citycodeTopicScoreParams } from './scoring.ts'
export * from './constants.ts'
export { allowListFor, pendingConnectionGate } from './pending-gate.ts'
export type { DhtRecords, DhtStoreLimits } from '../dht/guarded-datastore.ts'

/**
 * The services every citycode node runs. kad-dht is `services.dht`, gossipsub `services.pubsub`:
 * in libp2p 3 services are reached by the key they were configured under, never by a global.
 */
// a type alias, not an interface: libp2p's ServiceMap constraint needs the implicit index signature
// that only type aliases get
export type CitycodeServices = {
  dht: KadDHT
  /** The records kad-dht holds for others: re-validation after a revocation (`purgeInvalid`), usage. */
  dhtRecords: DhtRecords
  pubsub: GossipSub
  identify: Identify
  ping: Ping
}

export type CitycodeLibp2p = Libp2p<CitycodeServices>

/**
 * A libp2p transport factory. libp2p calls it with its full components object; the parameter is
 * typed `never` so that a factory declaring only the components it reads (peerId, logger,
 * upgrader: the link model's transport, or `memory({ latency })`) fits without a cast.
 */
export type TransportFactory = (components: never) => Transport

/**
 * kad-dht background work, for lean simulated nodes. Self-queries are what fill routing tables
 * (shared/BASELINE.md): turning them off without another way to fill tables leaves nodes that
 * cannot find anything.
 */
export interface DhtTuning {
  /** kad-dht `querySelfInterval`. @default 300_000 */
  querySelfIntervalMs?: number
  /** kad-dht `initialQuerySelfInterval`, until the first self-query succeeds. @default 1_000 */
  initialQuerySelfIntervalMs?: number
  /** @default 20 */
  kBucketSize?: number
  /** Peers asked in parallel per query. @default 10 */
  alpha?: number
  /** Routing table trie depth; tables hold up to 2^prefixLength x kBucketSize peers. @default 6 */
  prefixLength?: number
  /** Concurrent pings deciding whether a newly met peer joins the routing table. @default 10 */
  pingNewContactConcurrency?: number
  /** Concurrent pings deciding whether to evict a peer from a full bucket. @default 10 */
  pingOldContactConcurrency?: number
  /** Deadline for answering one incoming DHT request. @default 10_000 */
  incomingMessageTimeoutMs?: number
  /** Queries wait for a routing table peer unless this is set (a lone first node). @default false */
  allowQueryWithZeroPeers?: boolean
  /**
   * How often kad-dht re-tags its closest peers (keep-alive tags in the peer store). kad-dht does
   * this every 5 s and does not expose the setting; simulations with hundreds of nodes in one
   * process space it out (see `kad-dht-timers.ts`). @default 5_000
   */
  closestPeerTagIntervalMs?: number
  /** How often kad-dht refreshes its routing table buckets with lookups (fixed in kad-dht; see `kad-dht-timers.ts`). @default 300_000 */
  tableRefreshIntervalMs?: number
}

export interface GossipTuning {
  /** Topics whose senders are scored (invalid messages graylist them). @default DEFAULT_SCORED_TOPICS */
  scoredTopics?: readonly string[]
  /** @default SCORE_THRESHOLDS */
  scoreThresholds?: PeerScoreThresholds
  /** Mesh maintenance period. @default 1_000 */
  heartbeatIntervalMs?: number
  /** Messages at least this large are followed by IDONTWANT to mesh peers. @default DEFAULT_IDONTWANT_MIN_DATA_SIZE */
  idontwantMinDataSize?: number
  /**
   * Name other peers of the topic (signed peer records) in every PRUNE this node sends (gossipsub
   * v1.1 peer exchange). Authorities do: their meshes fill with their children, and a GRAFT from a
   * peer that dialled in is then refused; with PX the refused peer learns where else to join.
   * @default false
   */
  peerExchange?: boolean
  /**
   * Peers whose PX this node follows (they score `TRUSTED_PEER_SCORE`); asked on every score
   * computation, so the answer may change as the node learns its authorities. @default none
   */
  trustedPeer?: (peerId: string) => boolean
}

export interface CitycodeLibp2pInit {
  /** The libp2p identity; a new Ed25519 key when absent (then the peer id changes every start). */
  privateKey?: PrivateKey
  /**
   * Where kad-dht keeps the records it holds for others, and libp2p its peer store. Persisted
   * nodes pass a LevelDatastore. @default new MemoryDatastore()
   */
  datastore?: Datastore
  transport: 'tcp' | 'memory'
  /** `/ip4/127.0.0.1/tcp/0` for tcp, `/memory/<unique name>` for memory; none for a dial-only node. */
  listen: string[]
  /** Replaces the stock transport (e.g. the simulator's link model on `/memory/` addresses). */
  customTransport?: TransportFactory
  /** Multiaddrs (with `/p2p/<id>`) dialled at start. */
  bootstrap?: string[]
  /**
   * `plaintext` skips encryption and peer authentication: ONLY for large single-process
   * simulations, where noise handshakes and encryption are about half the CPU
   * (shared/BASELINE.md). Production nodes always use noise.
   * @default 'noise'
   */
  encryption?: 'noise' | 'plaintext'
  /**
   * Resolver-only nodes query the DHT but neither serve it nor hold records for others.
   * kad-dht's own default is client mode with an automatic switch to server only on public
   * addresses, which city and test networks lack, so servers are set explicitly.
   * @default false
   */
  clientMode?: boolean
  dht?: DhtTuning
  gossip?: GossipTuning
  /** @default DEFAULT_MAX_CONNECTIONS */
  maxConnections?: number
  /** Inbound connections accepted per second per host. @default DEFAULT_INBOUND_CONNECTIONS_PER_SECOND */
  inboundConnectionThreshold?: number
  /** Inbound connections one IP address may have upgrading at once. @default DEFAULT_MAX_PENDING_PER_HOST */
  maxPendingPerHost?: number
  /** An inbound connection not upgraded within this many ms is dropped. @default DEFAULT_INBOUND_UPGRADE_TIMEOUT_MS */
  inboundUpgradeTimeoutMs?: number
  /**
   * Multiaddrs of peers this node depends on besides `bootstrap` (its parent authority, root
   * authorities): their IP addresses skip the pending-connection and connection caps.
   */
  knownPeers?: string[]
  /** Quotas on what remote peers may make this node's DHT store. */
  dhtLimits?: DhtStoreLimits
  /** Told of every remote DHT store the guarded store refused (`DhtRollbackError`, `DhtQuotaExceededError`, `DhtRecordRefusedError`). */
  onDhtRefusal?: (err: Error) => void
  /** Whether the node verified a newer version of a key's value elsewhere (`DhtRecordPolicy.newerKnown`). */
  dhtNewerKnown?: (key: Uint8Array, value: Uint8Array) => Promise<boolean>
  /** libp2p pings every open connection periodically; simulations may space or stop this. */
  connectionMonitor?: { enabled?: boolean, pingIntervalMs?: number }
  /**
   * kad-dht validator for `/citycode/...` keys: throw (a typed error) when `value` is not valid
   * under `key`. Remote PUTs, every value a GET receives and every record read back from the DHT
   * store (dht/guarded-datastore.ts: one that fails is deleted, never served) go through it. A
   * *local* `dht.put` does not: kad-dht stores it without validation and does not throw (the store
   * keeps the record it holds when that one is preferred), so callers validate before publishing.
   */
  validateRecord: (key: Uint8Array, value: Uint8Array) => Promise<void>
  /**
   * kad-dht selector for `/citycode/...` keys: index of the best of `values` (at least two). The
   * DHT store also asks it `[held, offered]` before replacing a record: only index 1 replaces.
   */
  selectRecord: (key: Uint8Array, values: Uint8Array[]) => number
  metrics?: (components: never) => Metrics
  logger?: ComponentLogger
}
