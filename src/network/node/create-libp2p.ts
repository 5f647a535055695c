import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub } from '@libp2p/gossipsub'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import { RECORDS_TOPIC } from '../gossip/record-updates.ts'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { memory } from '@libp2p/memory'
import { ping } from '@libp2p/ping'
import { plaintext } from '@libp2p/plaintext'
import { tcp } from '@libp2p/tcp'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import type { Libp2pOptions } from 'libp2p'
import { DHT_NAMESPACE } from '../../core/record/dht-key.ts'
import { DHT_PROTOCOL } from './index.ts'
import type { CitycodeLibp2p, CitycodeLibp2pInit } from './index.ts'

/**
 * Peer scoring for the records topic. Updates are rare, so the mesh-delivery-rate penalty (P3) is
 * off: it would punish honest peers of a quiet topic. What counts is P4: every message the topic
 * validator rejects (forged or junk records) costs its sender 10 x (invalid count)^2, so a flooding
 * peer crosses the graylist threshold after a handful of junk messages, and its traffic is then
 * ignored. IP colocation is not penalised: city nodes behind one NAT, and every node of a local
 * network or simulation, share an address.
 */
export const RECORD_TOPIC_SCORING = {
  IPColocationFactorWeight: 0,
  topics: {
    [RECORDS_TOPIC]: createTopicScoreParams({
      topicWeight: 1,
      timeInMeshWeight: 0.01,
      timeInMeshQuantum: 1000,
      timeInMeshCap: 3600,
      firstMessageDeliveriesWeight: 1,
      firstMessageDeliveriesDecay: 0.9,
      firstMessageDeliveriesCap: 100,
      meshMessageDeliveriesWeight: 0,
      meshFailurePenaltyWeight: 0,
      invalidMessageDeliveriesWeight: -10,
      invalidMessageDeliveriesDecay: 0.9
    })
  }
}

export const SCORE_THRESHOLDS = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 20
}

/**
 * Builds a citycode libp2p node. kad-dht keeps every peer address it learns (`passthroughMapper`):
 * city networks and test networks run on private and loopback addresses, which kad-dht's default
 * mapper would strip, leaving routing tables with peers nobody can dial.
 */
export async function createCitycodeLibp2p (init: CitycodeLibp2pInit): Promise<CitycodeLibp2p> {
  const transports = init.customTransport !== undefined ? [init.customTransport] : init.transport === 'tcp' ? [tcp()] : [memory()]
  const options: Libp2pOptions<CitycodeLibp2p['services']> = {
    privateKey: init.privateKey,
    datastore: init.datastore ?? new MemoryDatastore(),
    addresses: { listen: init.listen },
    transports: transports as Libp2pOptions['transports'],
    connectionEncrypters: [init.encryption === 'plaintext' ? plaintext() : noise()],
    streamMuxers: [yamux()],
    peerDiscovery: (init.bootstrap ?? []).length > 0 ? [bootstrap({ list: init.bootstrap ?? [] })] : [],
    connectionManager: {
      maxConnections: init.maxConnections ?? 64,
      // The per-host inbound rate limit (default 5/s) would refuse the many nodes that share one
      // host in a local network or simulation; connection counts stay bounded by maxConnections.
      inboundConnectionThreshold: init.inboundConnectionThreshold ?? 100,
      maxIncomingPendingConnections: init.inboundConnectionThreshold ?? 100
    },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: init.clientMode ?? false,
        peerInfoMapper: passthroughMapper,
        validators: { [DHT_NAMESPACE]: init.validateRecord },
        selectors: { [DHT_NAMESPACE]: init.selectRecord },
        ...(init.dht?.querySelfIntervalMs !== undefined ? { querySelfInterval: init.dht.querySelfIntervalMs } : {}),
        ...(init.dht?.initialQuerySelfIntervalMs !== undefined ? { initialQuerySelfInterval: init.dht.initialQuerySelfIntervalMs } : {}),
        ...(init.dht?.kBucketSize !== undefined ? { kBucketSize: init.dht.kBucketSize } : {})
      }),
      pubsub: gossipsub({
        emitSelf: false,
        scoreParams: RECORD_TOPIC_SCORING,
        scoreThresholds: SCORE_THRESHOLDS,
        // the first records are published before the mesh forms; the DHT copy covers them
        allowPublishToZeroTopicPeers: true,
        globalSignaturePolicy: 'StrictSign'
      })
    },
    ...(init.metrics !== undefined ? { metrics: init.metrics as Libp2pOptions['metrics'] } : {}),
    ...(init.logger !== undefined ? { logger: init.logger } : {})
  }
  return await createLibp2p(options)
}
