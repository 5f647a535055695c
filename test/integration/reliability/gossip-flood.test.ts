import assert from 'node:assert/strict'
import { encodeCbor } from '../../../src/core/index.ts'
import { RECORDS_TOPIC, peerScore } from '../../../src/network/gossip/record-updates.ts'
import { SCORE_THRESHOLDS } from '../../../src/network/node/create-libp2p.ts'
import { eventually, startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'

describe('gossip flood', function () {
  this.timeout(120_000)
  let net: TestNetwork
  before(async () => { net = await startTestNetwork(5) })
  after(async () => { await net?.stop() })

  it('a peer flooding invalid messages is graylisted by peer scoring within 30 s, and honest updates still arrive', async () => {
    const spammer = net.cities[4]!
    const spammerId = spammer.peerId.toString()
    const honest = net.cities.slice(0, 3)
    // make sure the spammer is in some honest node's mesh first
    await eventually(() => honest.some(h => h.libp2p.services.pubsub.getSubscribers(RECORDS_TOPIC).some(p => p.toString() === spammerId)), 10_000)
    const code = net.cities[3]!.identity!.namespace
    for (const h of honest) await h.resolve(code)
    const t0 = performance.now()
    let sent = 0
    const flood = setInterval(() => {
      for (let i = 0; i < 5; i++) {
        sent++
        void spammer.libp2p.services.pubsub.publish(RECORDS_TOPIC, encodeCbor({ junk: new Uint8Array(32).fill(sent % 256) })).catch(() => undefined)
      }
    }, 20)
    try {
      const graylisted = await eventually(() => honest.some(h => peerScore(h.libp2p.services.pubsub, spammerId) < SCORE_THRESHOLDS.graylistThreshold), 30_000, 100)
      const elapsed = performance.now() - t0
      assert.ok(graylisted, `the spammer was graylisted (scores ${honest.map(h => peerScore(h.libp2p.services.pubsub, spammerId).toFixed(1)).join(', ')})`)
      assert.ok(elapsed < 30_000)
      // an honest update during the flood still reaches the others
      const { record } = await net.cities[3]!.publishOwn([{ type: 'data', name: 'during', value: 'flood' }], { background: true })
      assert.ok(await eventually(() => honest.every(h => h.resolver.cached(code)?.record.body.seq === record.body.seq), 15_000), 'honest update delivered during the flood')
    } finally {
      clearInterval(flood)
    }
    assert.ok(sent > 0)
  })
})
