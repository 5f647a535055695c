import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { emptyCost } from '../../../src/network/message-cost.ts'
import { startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'

describe('live answers: a parent connected to its child\'s holder is not second-guessed', function () {
  this.timeout(120_000)
  let net: TestNetwork
  before(async () => { net = await startTestNetwork(2) })
  after(async () => { await net?.stop() })

  it('with the holder connected to both, one question to the parent answers: no confirming question in sequence', async () => {
    const [holder, asker] = net.cities as [NonNullable<TestNetwork['cities'][number]>, NonNullable<TestNetwork['cities'][number]>]
    const code = holder.identity!.namespace
    await asker.libp2p.dial(multiaddr(net.addrOf(holder)), { signal: AbortSignal.timeout(10_000) })
    assert.ok(net.country.libp2p.getConnections(holder.libp2p.peerId).length > 0, 'the parent is connected to the holder')
    const cost = emptyCost()
    const res = await asker.resolve(code, { fresh: true, cost })
    assert.equal(res.from, net.country.peerId.toString())
    assert.equal(cost.peersAsked, 1, 'the parent alone was asked')
  })
  // the other side (the parent cut off from the holder: its copy is confirmed with the holder, and
  // the newer version wins) is reliability/partition.test.ts "after the heal"
})
