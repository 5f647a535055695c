import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createCitycodeLibp2p } from '../../../src/network/node/index.ts'
import type { CitycodeLibp2p, GossipTuning } from '../../../src/network/node/index.ts'
import { waitUntil } from '../../utils/network.ts'

const TOPIC = '/citycode/test-px/1.0.0'
/** One more than gossipsub's D_hi (12): the children alone fill the authority's mesh. */
const CHILDREN = 13
/**
 * The authority and its children beat once a minute: nothing reaches the client by IHAVE gossip
 * (sent at a heartbeat) within the test, only through a mesh. The client beats often, so a peer
 * it learned by PX is grafted at once.
 */
const SLOW_HEARTBEAT_MS = 60_000
const CLIENT_HEARTBEAT_MS = 200
const DELIVERY_MS = 3_000

/**
 * Issue #21: in latency-50 one resolver was connected to the root and three countries only. Their
 * meshes were full of their children, gossipsub refuses a GRAFT from a peer that dialled in once a
 * mesh holds D_hi peers, and the resolver got updates seconds late by IHAVE, or never. Authorities
 * now name other peers in their PRUNE (peer exchange), and a node follows that only from the
 * authorities it trusts.
 */
describe('gossip peer exchange: a client that reaches only a full authority', function () {
  this.timeout(60_000)
  let run = 0
  const started: CitycodeLibp2p[] = []

  const start = async (listen: boolean, gossip: GossipTuning): Promise<CitycodeLibp2p> => {
    const node = await createCitycodeLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      transport: 'memory',
      listen: listen ? [`/memory/gossip-px-${process.pid}-${run++}`] : [],
      validateRecord: async () => {},
      selectRecord: () => 0,
      // no DHT self-query: it would connect the client to the children and hide the hole
      dht: { initialQuerySelfIntervalMs: 3_600_000, querySelfIntervalMs: 3_600_000 },
      connectionMonitor: { enabled: false },
      gossip: { heartbeatIntervalMs: SLOW_HEARTBEAT_MS, ...gossip }
    })
    started.push(node)
    return node
  }

  /** The topic's mesh peers of a node (the class has them; the service interface does not). */
  const meshOf = (node: CitycodeLibp2p): string[] => (node.services.pubsub as unknown as { getMeshPeers: (topic: string) => string[] }).getMeshPeers(TOPIC)

  /** Dials `hub`, waits until it knows the hub's subscription, then subscribes (so GRAFTs it). */
  const join = async (node: CitycodeLibp2p, hub: CitycodeLibp2p): Promise<void> => {
    await node.dial(hub.getMultiaddrs()[0]!)
    assert.ok(await waitUntil(() => node.services.pubsub.getSubscribers(TOPIC).some(p => p.equals(hub.peerId)), 5_000), 'the hub\'s subscription arrived')
    node.services.pubsub.subscribe(TOPIC)
  }

  /** `clientMesh`: the client's mesh peers other than the authority. */
  interface Outcome { clientMesh: number, clientPeers: number, received: boolean }

  /**
   * An authority whose children fill its mesh, a publisher hanging off the first child, and a
   * client with no listen address connected to the authority alone. The publisher's flood reaches
   * that child only, so the client gets the message only through a mesh.
   */
  const scenario = async (hubGossip: GossipTuning, clientTrustsHub: boolean): Promise<Outcome> => {
    const hub = await start(true, hubGossip)
    hub.services.pubsub.subscribe(TOPIC)
    const children: CitycodeLibp2p[] = []
    for (let i = 0; i < CHILDREN; i++) {
      const child = await start(true, {})
      await join(child, hub)
      children.push(child)
    }
    assert.ok(await waitUntil(() => meshOf(hub).length >= 12, 5_000), 'the children filled the authority\'s mesh')
    const publisher = await start(true, {})
    await join(publisher, children[0]!)

    const hubId = hub.peerId.toString()
    const client = await start(false, {
      heartbeatIntervalMs: CLIENT_HEARTBEAT_MS,
      trustedPeer: (peerId) => clientTrustsHub && peerId === hubId
    })
    await join(client, hub)
    // the client's own GRAFT put the authority in its mesh until the PRUNE comes; then PX dials,
    // and the next client heartbeat grafts: wait for a mesh peer that is not the authority
    const beyondHub = (): string[] => meshOf(client).filter(p => p !== hubId)
    await waitUntil(() => beyondHub().length > 0, 3_000)
    let received = false
    client.services.pubsub.addEventListener('message', (evt) => { if (evt.detail.topic === TOPIC) received = true })
    await publisher.services.pubsub.publish(TOPIC, new TextEncoder().encode('update 1'))
    await waitUntil(() => received, DELIVERY_MS)
    return {
      clientMesh: beyondHub().length,
      clientPeers: client.getConnections().length,
      received
    }
  }

  afterEach(async () => {
    await Promise.allSettled(started.splice(0).map(async n => { await n.stop() }))
  })

  it('without peer exchange the full mesh refuses the client, which stays alone and misses the update', async () => {
    const r = await scenario({}, true)
    assert.equal(r.clientPeers, 1, 'connected to the authority alone')
    assert.equal(r.clientMesh, 0)
    assert.equal(r.received, false)
  })

  it('with peer exchange from a trusted authority the client joins the children\'s meshes and gets the update', async () => {
    const r = await scenario({ peerExchange: true }, true)
    assert.ok(r.clientPeers > 1, `the client dialled the peers the PRUNE named (${r.clientPeers} connections)`)
    assert.ok(r.clientMesh >= 1, `the client has a mesh (${r.clientMesh} peers)`)
    assert.equal(r.received, true, `the update arrived within ${DELIVERY_MS} ms`)
  })

  it('a PRUNE\'s peers from an authority the client does not trust are not dialled', async () => {
    const r = await scenario({ peerExchange: true }, false)
    assert.equal(r.clientPeers, 1, 'a stranger cannot make this node dial whom it names')
    assert.equal(r.clientMesh, 0)
  })
})
