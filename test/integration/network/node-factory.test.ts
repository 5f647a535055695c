import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DHT_NAMESPACE } from '../../../src/core/record/dht-key.ts'
import { RECORDS_TOPIC } from '../../../src/network/gossip/record-updates.ts'
import { createCitycodeLibp2p, DEFAULT_SCORED_TOPICS, DHT_KEY_NAMESPACE, DHT_PROTOCOL, routingTableSize } from '../../../src/network/node/index.ts'
import type { CitycodeLibp2p, CitycodeLibp2pInit } from '../../../src/network/node/index.ts'
import { dhtGet, dhtPut, startNetwork, stopNetwork } from '../../utils/network.ts'

let run = 0
const memoryInit = (name: string, extra: Partial<CitycodeLibp2pInit> = {}): CitycodeLibp2pInit => ({
  transport: 'memory',
  listen: [`/memory/${name}`],
  validateRecord: async () => {},
  selectRecord: () => 0,
  ...extra
})

describe('citycode libp2p factory', function () {
  this.timeout(30_000)
  const started: CitycodeLibp2p[] = []
  afterEach(async () => {
    await Promise.allSettled(started.splice(0).map(async node => { await node.stop() }))
    await stopNetwork()
  })

  it('repeats the record core\'s DHT namespace and records topic', () => {
    assert.equal(DHT_KEY_NAMESPACE, DHT_NAMESPACE)
    assert.ok(DEFAULT_SCORED_TOPICS.includes(RECORDS_TOPIC))
  })

  it('spaces kad-dht\'s closest-peer tagging and routing-table refresh when asked (the settings kad-dht does not expose)', async () => {
    const spaced = await createCitycodeLibp2p(memoryInit(`factory-${process.pid}-${run++}`, { dht: { closestPeerTagIntervalMs: 60_000, tableRefreshIntervalMs: 1_800_000 } }))
    const plain = await createCitycodeLibp2p(memoryInit(`factory-${process.pid}-${run++}`))
    started.push(spaced, plain)
    const periods = (node: CitycodeLibp2p): { tag: unknown, refresh: unknown } => {
      const dht = node.services.dht as unknown as { routingTable?: { closestPeerTagger?: { refreshInterval?: unknown } }, routingTableRefresh?: { refreshInterval?: unknown } }
      return { tag: dht.routingTable?.closestPeerTagger?.refreshInterval, refresh: dht.routingTableRefresh?.refreshInterval }
    }
    // fails when a kad-dht upgrade moves these: the lean simulation profile would silently lose them
    assert.deepEqual(periods(spaced), { tag: 60_000, refresh: 1_800_000 })
    assert.deepEqual(periods(plain), { tag: 5_000, refresh: 300_000 })
  })

  it('uses the injected private key, and stop() frees the node\'s listening address', async () => {
    const name = `factory-${process.pid}-${run++}`
    const privateKey = await generateKeyPair('Ed25519')
    const node = await createCitycodeLibp2p(memoryInit(name, { privateKey }))
    started.push(node)
    assert.ok(node.peerId.equals(peerIdFromPrivateKey(privateKey)))
    assert.ok(node.getProtocols().includes(DHT_PROTOCOL))
    await node.stop()
    assert.equal(node.status, 'stopped')
    // the @libp2p/memory address table is process-wide: reusing the name proves the listener closed
    const again = await createCitycodeLibp2p(memoryInit(name))
    started.push(again)
    assert.equal(again.status, 'started')
  })

  it('plaintext connections only when asked for (simulations)', async () => {
    const a = await createCitycodeLibp2p(memoryInit(`factory-${process.pid}-${run++}`, { encryption: 'plaintext' }))
    const b = await createCitycodeLibp2p(memoryInit(`factory-${process.pid}-${run++}`, { encryption: 'plaintext' }))
    started.push(a, b)
    const connection = await a.dial(b.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(5_000) })
    assert.equal(connection.encryption, '/plaintext/2.0.0')
  })

  it('a client-mode (resolver) node queries the DHT without serving it', async () => {
    const net = await startNetwork(5, { node: (i) => (i === 4 ? { clientMode: true } : {}) })
    const [server, resolver] = [net.nodes[0]!, net.nodes[4]!]
    assert.equal(resolver.services.dht.getMode(), 'client')
    assert.ok(!resolver.getProtocols().includes(DHT_PROTOCOL))
    assert.ok(routingTableSize(resolver.services.dht) >= 2, 'the client knows servers to ask')
    const key = new TextEncoder().encode('/citycode/r/MA.156.1305')
    const stored = await dhtPut(server, key, Uint8Array.of(1, 2, 3))
    assert.ok(!stored.includes(resolver.peerId.toString()), 'the client holds no records for others')
    assert.deepEqual([...(await dhtGet(resolver, key)) ?? []], [1, 2, 3])
  })
})
