import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { LinkNetwork } from '../../../src/network/link-model/link-network.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import { eventually, startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'

/**
 * A network split by the link model (links cut and dials refused across the split), then healed:
 * what a lookup gets on each side, and what the parent serves once the two sides meet again.
 */
describe('partition and heal (real nodes on the link model)', function () {
  this.timeout(120_000)
  let net: TestNetwork | undefined

  afterEach(async () => {
    await net?.stop()
    net = undefined
  })

  const codeOf = (node: CitycodeNode): string => node.identity?.namespace as string
  const seqAt = async (node: CitycodeNode, code: string): Promise<number | undefined> => (await node.held(code))?.record.body.seq

  it('cut off from the holder and the parent, a lookup answers from a DHT copy on its side well under the 2 s DHT delay', async () => {
    const links = new LinkNetwork({ latencyMs: () => 1 })
    net = await startTestNetwork(3, { links, resolverInit: { timeoutMs: 15_000, directTimeoutMs: 5_000 } })
    const [holder, asker, other] = net.cities as [CitycodeNode, CitycodeNode, CitycodeNode]
    const code = codeOf(holder)
    // published again now that every node is up: a PUT reaches only the peers known at the time, and
    // the first one went out while the network was still forming
    let latest = 1
    let reached = 0
    const spread = await eventually(async () => {
      const put = await holder.publishOwn([])
      latest = put.record.body.seq
      reached = put.dhtPeers
      return reached >= 4
    }, 30_000, 500)
    assert.ok(spread, `the DHT PUT reached both future sides (${reached} peers)`)
    const n = net
    links.partition([[holder, n.country, n.root].map(x => n.nameOf(x)), [asker, other].map(x => n.nameOf(x))])
    const t0 = performance.now()
    const res = await asker.resolve(code)
    const elapsed = performance.now() - t0
    assert.equal(res.source, 'dht')
    assert.equal(res.verified.record.body.seq, latest)
    assert.ok(elapsed < 1_500, `answered in ${elapsed.toFixed(0)} ms`)
  })

  it('after the heal, the holder\'s newer version wins over the parent\'s copy that missed the push, and the push lands once they reconnect', async () => {
    const links = new LinkNetwork({ latencyMs: () => 1 })
    // no timed retry during the test: only reconnecting can bring the parent the new version
    net = await startTestNetwork(3, { links, publisherInit: { pushRetryFirstDelayMs: 600_000 } })
    const [holder, asker] = net.cities as [CitycodeNode, CitycodeNode]
    const code = codeOf(holder)
    assert.equal(await seqAt(net.country, code), 1, 'the parent holds version 1')
    const n = net
    links.partition([[holder].map(x => n.nameOf(x)), [n.root, n.country, ...n.cities.slice(1)].map(x => n.nameOf(x))])
    const v2 = await holder.publishOwn([{ type: 'data', name: 'version', value: '2' }], { background: true })
    assert.equal(v2.record.body.seq, 2)
    links.heal()
    assert.equal(await seqAt(net.country, code), 1, 'the push of version 2 was lost in the split')

    // the asker meets the holder again (any connection will do): the holder's answer is taken over the parent's copy
    await asker.libp2p.dial(multiaddr(net.addrOf(holder)), { signal: AbortSignal.timeout(10_000) })
    const res = await asker.resolve(code)
    assert.equal(res.verified.record.body.seq, 2, 'the newer version, not the parent\'s copy')
    assert.equal(res.from, holder.libp2p.peerId.toString())

    // the holder meets its parent again (any connection will do): the pending push goes at once
    await holder.libp2p.dial(multiaddr(net.addrOf(net.country)), { signal: AbortSignal.timeout(10_000) })
    // (gossip's own repair took ~10 s here without the reconnect trigger)
    assert.ok(await eventually(async () => await seqAt(n.country, code) === 2, 3_000), 'the parent took version 2 soon after they reconnected')
  })
})
