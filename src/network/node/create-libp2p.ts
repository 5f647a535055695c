import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub } from '@libp2p/gossipsub'
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
