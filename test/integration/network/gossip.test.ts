import assert from 'node:assert/strict'
import { publishOnTopic, subscribeTopic } from '../../../src/network/node/index.ts'
import type { TopicSubscription, TopicValidation } from '../../../src/network/node/index.ts'
import { startNetwork, stopNetwork, waitUntil } from '../../utils/network.ts'
import type { TestNetwork } from '../../utils/network.ts'

const TOPIC = '/citycode/test-records/1.0.0'
const N = 8
const DELIVERY_MS = 10_000

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The implementation's `getScore`, which the public GossipSub type does not expose. */
function scoreOf (pubsub: unknown, peerId: string): number {
  const impl = pubsub as { getScore?: (id: string) => number }
  return impl.getScore?.(peerId) ?? Number.NaN
}

describe('gossipsub with injected topic validators (8 memory nodes)', function () {
  this.timeout(60_000)
  let net: TestNetwork
  const subscriptions: TopicSubscription[] = []
  /** texts each node's subscriber received */
  const delivered: string[][] = []
  const verdicts: Array<{ node: number, text: string, verdict: TopicValidation }> = []

  before(async () => {
    net = await startNetwork(N, { node: () => ({ gossip: { scoredTopics: [TOPIC] } }) })
    net.nodes.forEach((node, i) => {
      delivered.push([])
      subscriptions.push(subscribeTopic(node.services.pubsub, TOPIC, {
        validate: async ({ data }) => {
          const text = decoder.decode(data)
          const verdict: TopicValidation = text.startsWith('forged') ? 'reject' : text.startsWith('stale') ? 'ignore' : 'accept'
          verdicts.push({ node: i, text, verdict })
          return verdict
        },
        onMessage: ({ data }) => { delivered[i]!.push(decoder.decode(data)) }
      }))
    })
    // every node must know which of its peers subscribed before a publication can reach them
    const ready = await waitUntil(() => net.nodes.every(n => n.services.pubsub.getSubscribers(TOPIC).length >= 2), 10_000)
    assert.ok(ready, 'subscriptions propagated')
  })

  after(async () => {
    for (const s of subscriptions) s.unsubscribe()
    await stopNetwork(net)
  })

  it('a message published by one node reaches every other node, and not the publisher', async () => {
    await net.nodes[0]!.services.pubsub.publish(TOPIC, encoder.encode('hello 1'))
    const all = await waitUntil(() => delivered.slice(1).every(d => d.includes('hello 1')), DELIVERY_MS)
    assert.ok(all, `delivered to ${delivered.slice(1).filter(d => d.includes('hello 1')).length}/${N - 1}`)
    assert.ok(!delivered[0]!.includes('hello 1'), 'emitSelf is off')
  })

  it('a message the validator rejects (or ignores) reaches no subscriber, and rejection costs the sender', async () => {
    const publisher = net.nodes[3]!
    await publisher.services.pubsub.publish(TOPIC, encoder.encode('forged 2'))
    await publisher.services.pubsub.publish(TOPIC, encoder.encode('stale 2'))
    // a later valid message from the same node marks the point by which the others were processed
    await publisher.services.pubsub.publish(TOPIC, encoder.encode('hello 2'))
    const all = await waitUntil(() => delivered.every((d, i) => i === 3 || d.includes('hello 2')), DELIVERY_MS)
    assert.ok(all, 'the valid message got through')
    assert.ok(verdicts.some(v => v.text === 'forged 2' && v.verdict === 'reject'), 'peers did validate the forgery')
    assert.ok(verdicts.some(v => v.text === 'stale 2' && v.verdict === 'ignore'))
    for (const d of delivered) {
      assert.ok(!d.includes('forged 2') && !d.includes('stale 2'), 'rejected and ignored messages are not delivered')
    }
    // 'reject' (unlike 'ignore') lowers the score of the peer it came from; gossipsub caches scores
    // for one heartbeat (1 s), so the penalty shows up within a couple of seconds
    const sender = publisher.peerId.toString()
    const scores = (): number[] => net.nodes.filter((_n, i) => i !== 3).map(n => scoreOf(n.services.pubsub, sender))
    const penalised = await waitUntil(() => scores().some(s => s < 0), 5_000)
    assert.ok(penalised, `some peer scores the sender below 0: ${scores().map(s => s.toFixed(1)).join(', ')}`)
  })

  it('a copy of a message it accepted or published, back after gossipsub forgot its id, is ignored unvalidated', async () => {
    await publishOnTopic(net.nodes[5]!.services.pubsub, TOPIC, encoder.encode('hello 3'))
    const all = await waitUntil(() => delivered.every((d, i) => i === 5 || d.includes('hello 3')), DELIVERY_MS)
    assert.ok(all, 'delivered once')
    // gossipsub drops a repeat by id for its seen TTL (2 min); after that the copy reaches the topic
    // validator again, as here
    const repeat = { type: 'unsigned' as const, topic: TOPIC, data: encoder.encode('hello 3') }
    const fresh = { type: 'unsigned' as const, topic: TOPIC, data: encoder.encode('hello 4') }
    for (const i of [0, 5]) {
      const node = net.nodes[i]!
      const validate = node.services.pubsub.topicValidators.get(TOPIC)
      assert.ok(validate !== undefined)
      const before = verdicts.length
      assert.equal(await validate(net.nodes[1]!.peerId, repeat), 'ignore', `node ${i} ignores the repeat`)
      assert.equal(verdicts.length, before, 'without validating it again')
      assert.equal(await validate(net.nodes[1]!.peerId, fresh), 'accept', `node ${i} still validates what is new`)
      assert.equal(verdicts.length, before + 1)
    }
  })
})
