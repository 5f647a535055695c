import type { GossipSub } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { ComponentLogger, Libp2p, Metrics, PrivateKey, Transport } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Datastore } from 'interface-datastore'

export { createCitycodeLibp2p } from './create-libp2p.ts'

/** kad-dht runs under our own protocol id, so citycode nodes form their own DHT. */
export const DHT_PROTOCOL = '/citycode/kad/1.0.0'

export type CitycodeLibp2p = Libp2p<{ dht: KadDHT, pubsub: GossipSub, identify: Identify, ping: Ping }>

export interface CitycodeLibp2pInit {
  privateKey: PrivateKey
  datastore?: Datastore
  transport: 'tcp' | 'memory'
  listen: string[]
  bootstrap?: string[]
  /**
   * `plaintext` only for large single-process simulations, where noise handshakes and encryption
   * are about half the CPU (shared/BASELINE.md). Production nodes always use noise.
   * @default 'noise'
   */
  encryption?: 'noise' | 'plaintext'
  /** Replaces the stock transport (e.g. the simulator's link model). */
  customTransport?: (components: never) => Transport
  /** Resolver-only nodes query the DHT but do not serve it. */
  clientMode?: boolean
  dht?: { querySelfIntervalMs?: number, initialQuerySelfIntervalMs?: number, kBucketSize?: number }
  /** @default 64 */
  maxConnections?: number
  /** Inbound connections accepted per second per host. @default 100 */
  inboundConnectionThreshold?: number
  /** kad-dht validator: throw (a typed error) when `value` is not valid under `key`. */
  validateRecord: (key: Uint8Array, value: Uint8Array) => Promise<void>
  /** kad-dht selector: index of the best of `values`. */
  selectRecord: (key: Uint8Array, values: Uint8Array[]) => number
  metrics?: (components: never) => Metrics
  logger?: ComponentLogger
}
