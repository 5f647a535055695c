import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Libp2p } from '@libp2p/interface'
import { memory } from '@libp2p/memory'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { MemoryDatastore } from 'datastore-core'
import { createLibp2p } from 'libp2p'
import { DHT_PROTOCOL } from '../../src/network/node/index.ts'

/**
 * An attacker as the attack pass used: a stock js-libp2p peer (none of our factory, gate or
 * guarded store) speaking our DHT protocol with validators and selectors that accept anything, so
 * whatever it PUTs is sent as is, and gossipsub without scoring.
 */
export type StockPeer = Libp2p<{ dht: KadDHT, pubsub: GossipSub, identify: ReturnType<ReturnType<typeof identify>>, ping: ReturnType<ReturnType<typeof ping>> }>

export async function startStockPeer (options: { transport: 'memory' | 'tcp', listen?: string[] }): Promise<{ peer: StockPeer, datastore: MemoryDatastore }> {
  const datastore = new MemoryDatastore()
  const peer = await createLibp2p({
    datastore,
    addresses: { listen: options.listen ?? [] },
    transports: [options.transport === 'tcp' ? tcp() : memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        peerInfoMapper: passthroughMapper,
        allowQueryWithZeroPeers: true,
        validators: { citycode: async () => {} },
        selectors: { citycode: () => 0 }
      }),
      pubsub: gossipsub({ globalSignaturePolicy: 'StrictNoSign', allowPublishToZeroTopicPeers: true, emitSelf: false })
    }
  })
  return { peer, datastore }
}
