import { noise } from '@chainsafe/libp2p-noise'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper, Record as DhtRecord } from '@libp2p/kad-dht'
import type { KadDHT, KadDHTComponents, KadDHTInit, SingleKadDHT } from '@libp2p/kad-dht'
import type { PeerId } from '@libp2p/interface'
import { memory } from '@libp2p/memory'
import { ping } from '@libp2p/ping'
import { plaintext } from '@libp2p/plaintext'
import { tcp } from '@libp2p/tcp'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import type { Libp2pOptions } from 'libp2p'
import { DEFAULT_IDONTWANT_MIN_DATA_SIZE, DEFAULT_INBOUND_CONNECTIONS_PER_SECOND, DEFAULT_INBOUND_UPGRADE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING_PER_HOST, DEFAULT_SCORED_TOPICS, DHT_KEY_NAMESPACE, DHT_PROTOCOL } from './constants.ts'
import { GuardedDhtDatastore } from '../dht/guarded-datastore.ts'
import { allowListFor, pendingConnectionGate } from './pending-gate.ts'
import { SCORE_THRESHOLDS, citycodePeerScoreParams } from './scoring.ts'
import { guardedYamux } from './guarded-yamux.ts'
import { respaceClosestPeerTagging, respaceRoutingTableRefresh } from './kad-dht-timers.ts'
import type { CitycodeLibp2p, CitycodeLibp2pInit, CitycodeServices, DhtTuning } from './index.ts'

export { SCORE_THRESHOLDS } from './scoring.ts'

type Options = Libp2pOptions<CitycodeServices>
type TransportFactories = NonNullable<Options['transports']>

/**
 * Builds (and starts) a citycode libp2p node: one transport, noise (or, for simulations only,
 * plaintext), yamux, identify, ping, kad-dht under `/citycode/kad/1.0.0` with the injected
 * validator and selector, and gossipsub with unsigned, self-certifying messages (StrictNoSign) and peer scoring. Everything the node
 * uses is injected or created here; `stop()` releases all of it.
 *
 * kad-dht keeps every peer address it learns (`passthroughMapper`): city networks and test
 * networks run on private and loopback addresses, which kad-dht's default mapper strips, leaving
 * routing tables of peers nobody can dial.
 */
export async function createCitycodeLibp2p (init: CitycodeLibp2pInit): Promise<CitycodeLibp2p> {
  const transports: TransportFactories = init.customTransport !== undefined
    ? [init.customTransport as TransportFactories[number]]
    : init.transport === 'tcp' ? [tcp()] : [memory()]
  const bootstrapList = init.bootstrap ?? []
  const datastore = init.datastore ?? new MemoryDatastore()
  const dhtStore = new GuardedDhtDatastore(datastore, {
    validate: init.validateRecord,
    select: init.selectRecord,
    ...(init.onDhtRefusal !== undefined ? { onRefusal: init.onDhtRefusal } : {}),
    ...(init.dhtNewerKnown !== undefined ? { newerKnown: init.dhtNewerKnown } : {})
  }, init.dhtLimits)
  // bootstrap peers and authorities keep their way in however many strangers are connecting
  const allow = allowListFor([...bootstrapList, ...(init.knownPeers ?? [])])
  const options: Options = {
    ...(init.privateKey !== undefined ? { privateKey: init.privateKey } : {}),
    datastore,
    addresses: { listen: init.listen },
    transports,
    // plaintext: large single-process simulations only (see CitycodeLibp2pInit.encryption)
    connectionEncrypters: [init.encryption === 'plaintext' ? plaintext() : noise()],
    // yamux, with a stream whose opening frame cannot be sent aborted rather than thrown (guarded-yamux.ts)
    streamMuxers: [guardedYamux()],
    peerDiscovery: bootstrapList.length > 0 ? [bootstrap({ list: bootstrapList })] : [],
    connectionManager: {
      maxConnections: init.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      inboundConnectionThreshold: init.inboundConnectionThreshold ?? DEFAULT_INBOUND_CONNECTIONS_PER_SECOND,
      maxIncomingPendingConnections: init.inboundConnectionThreshold ?? DEFAULT_INBOUND_CONNECTIONS_PER_SECOND,
      inboundUpgradeTimeout: init.inboundUpgradeTimeoutMs ?? DEFAULT_INBOUND_UPGRADE_TIMEOUT_MS,
      allow
    },
    connectionGater: pendingConnectionGate(init.maxPendingPerHost ?? DEFAULT_MAX_PENDING_PER_HOST, allow),
    ...(init.connectionMonitor !== undefined
      ? {
          connectionMonitor: {
            ...(init.connectionMonitor.enabled !== undefined ? { enabled: init.connectionMonitor.enabled } : {}),
            ...(init.connectionMonitor.pingIntervalMs !== undefined ? { pingInterval: init.connectionMonitor.pingIntervalMs } : {})
          }
        }
      : {}),
    services: {
      identify: identify(),
      // kad-dht finds its ping dependency under this exact key
      ping: ping(),
      dhtRecords: () => dhtStore,
      dht: guardedKadDHT(dhtStore, {
        protocol: DHT_PROTOCOL,
        clientMode: init.clientMode ?? false,
        peerInfoMapper: passthroughMapper,
        validators: { [DHT_KEY_NAMESPACE]: init.validateRecord },
        selectors: { [DHT_KEY_NAMESPACE]: init.selectRecord },
        ...dhtTuning(init.dht ?? {})
      }),
      pubsub: gossipsub({
        emitSelf: false,
        // Every payload signs itself (records, ledger heads, fork evidence), so an author signature
        // per gossip message would be a second Ed25519 verify per hop for nothing (the same choice
        // as Ethereum's consensus gossip); message ids are the SHA-256 of the bytes, so one record
        // version is one message however many nodes republish it.
        globalSignaturePolicy: 'StrictNoSign',
        scoreParams: citycodePeerScoreParams(init.gossip?.scoredTopics ?? DEFAULT_SCORED_TOPICS, init.gossip?.trustedPeer),
        doPX: init.gossip?.peerExchange ?? false,
        scoreThresholds: init.gossip?.scoreThresholds ?? SCORE_THRESHOLDS,
        ...(init.gossip?.heartbeatIntervalMs !== undefined ? { heartbeatInterval: init.gossip.heartbeatIntervalMs } : {}),
        // a node's first records are published before any mesh forms; the DHT copy covers them
        allowPublishToZeroTopicPeers: true,
        idontwantMinDataSize: init.gossip?.idontwantMinDataSize ?? DEFAULT_IDONTWANT_MIN_DATA_SIZE
      })
    },
    ...(init.metrics !== undefined ? { metrics: init.metrics as NonNullable<Options['metrics']> } : {}),
    ...(init.logger !== undefined ? { logger: init.logger } : {})
  }
  const node = await createLibp2p(options)
  if (init.dht?.closestPeerTagIntervalMs !== undefined) respaceClosestPeerTagging(node.services.dht, init.dht.closestPeerTagIntervalMs)
  if (init.dht?.tableRefreshIntervalMs !== undefined) respaceRoutingTableRefresh(node.services.dht, init.dht.tableRefreshIntervalMs)
  return node
}

/**
 * kad-dht over the guarded datastore (dht/guarded-datastore.ts), with the stores of each remote
 * PUT_VALUE and ADD_PROVIDER attributed to the peer that sent it (per-peer quotas), and only the
 * `citycode` validator and selector: kad-dht merges its own `pk` ones into whatever it is given, and
 * a `/pk/` key it has a validator for is a key it stores. The guarded datastore refuses non-citycode
 * keys as well, in case a kad-dht version adds defaults elsewhere.
 */
function guardedKadDHT (store: GuardedDhtDatastore, init: KadDHTInit): (components: KadDHTComponents) => KadDHT {
  const factory = kadDHT(init)
  return (components) => {
    const dht = factory(new Proxy(components, {
      get (target, prop, receiver) {
        if (prop === 'datastore') return store
        return Reflect.get(target, prop, receiver)
      }
    }))
    attributeStores(dht, store)
    for (const table of [dht.validators, dht.selectors] as Array<Record<string, unknown>>) {
      for (const namespace of Object.keys(table)) if (namespace !== DHT_KEY_NAMESPACE) Reflect.deleteProperty(table, namespace)
    }
    return dht
  }
}

interface RpcHandler { handle: (peerId: PeerId, msg: { key?: Uint8Array, record?: Uint8Array }) => Promise<unknown> }

/**
 * kad-dht hands each message's handler the peer that sent it; its PUT_VALUE and ADD_PROVIDER
 * handlers are wrapped so the datastore knows whose store it is taking. These handlers are
 * kad-dht internals: a version that moves them fails here at start, not silently without quotas
 * (test/integration/network/dht-guard.test.ts counts stores per attacker).
 */
function attributeStores (dht: KadDHT, store: GuardedDhtDatastore): void {
  const handlers = (dht as unknown as { rpc?: { handlers?: Record<string, RpcHandler | undefined> } }).rpc?.handlers
  const put = handlers?.PUT_VALUE
  const provide = handlers?.ADD_PROVIDER
  if (put === undefined || provide === undefined) throw new Error('kad-dht no longer exposes its PUT_VALUE / ADD_PROVIDER handlers: the DHT store quotas cannot tell senders apart')
  const original = { put: put.handle.bind(put), provide: provide.handle.bind(provide) }
  put.handle = async (peerId, msg) => {
    let key: Uint8Array | undefined
    try {
      key = msg.record !== undefined ? DhtRecord.deserialize(msg.record).key : undefined
    } catch {}
    return key === undefined ? await original.put(peerId, msg) : await store.expectFrom(peerId.toString(), key, async () => await original.put(peerId, msg))
  }
  provide.handle = async (peerId, msg) => msg.key === undefined ? await original.provide(peerId, msg) : await store.expectFrom(peerId.toString(), msg.key, async () => await original.provide(peerId, msg))
}

/** Our unit-named tuning as kad-dht options; absent fields keep kad-dht's defaults. */
function dhtTuning (tuning: DhtTuning): Partial<KadDHTInit> {
  const out: Partial<KadDHTInit> = {}
  if (tuning.querySelfIntervalMs !== undefined) out.querySelfInterval = tuning.querySelfIntervalMs
  if (tuning.initialQuerySelfIntervalMs !== undefined) out.initialQuerySelfInterval = tuning.initialQuerySelfIntervalMs
  if (tuning.kBucketSize !== undefined) out.kBucketSize = tuning.kBucketSize
  if (tuning.alpha !== undefined) out.alpha = tuning.alpha
  if (tuning.prefixLength !== undefined) out.prefixLength = tuning.prefixLength
  if (tuning.pingNewContactConcurrency !== undefined) out.pingNewContactConcurrency = tuning.pingNewContactConcurrency
  if (tuning.pingOldContactConcurrency !== undefined) out.pingOldContactConcurrency = tuning.pingOldContactConcurrency
  if (tuning.incomingMessageTimeoutMs !== undefined) out.incomingMessageTimeout = tuning.incomingMessageTimeoutMs
  if (tuning.allowQueryWithZeroPeers !== undefined) out.allowQueryWithZeroPeers = tuning.allowQueryWithZeroPeers
  return out
}

/**
 * Peers in kad-dht's routing table. The public `KadDHT` type hides the table; the single-DHT
 * implementation `kadDHT()` builds exposes it (`SingleKadDHT`). 0 when unavailable.
 */
export function routingTableSize (dht: KadDHT): number {
  return (dht as Partial<SingleKadDHT>).routingTable?.size ?? 0
}
