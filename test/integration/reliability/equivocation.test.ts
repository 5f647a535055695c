import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { createRecord, toHex, verifyEquivocationEvidence } from '../../../src/core/index.ts'
import { publishRecordUpdate } from '../../../src/network/gossip/record-updates.ts'
import { decodePushResponse, encodePushRequest, PUSH_PROTOCOL } from '../../../src/network/protocols/push.ts'
import { sendRequest } from '../../../src/network/rpc/index.ts'
import { eventually, startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'

/**
 * Issue #16 section 2: a city's key signs two versions of one seq, gossips one to everyone and
 * pushes the other to its country. Before, each node kept whichever hashed higher and answered
 * with it as valid; now the node where they meet holds typed evidence, announces both, and no
 * resolver hands either out.
 */
describe('equivocation: two versions of one seq signed by one key, over real nodes', function () {
  this.timeout(60_000)
  let net: TestNetwork
  let resolver: CitycodeNode

  before(async () => {
    net = await startTestNetwork(1)
    resolver = await net.add('resolver', { network: { transport: 'memory', listen: [`/memory/equivocation-resolver-${process.pid}-${Date.now()}`], bootstrap: [net.addrOf(net.root), net.addrOf(net.country)] } })
    await resolver.knowAuthority({ namespace: 'MA.156', addr: net.addrOf(net.country) })
  })
  after(async () => { await net?.stop() })

  it('is detected where the two meet, counted, spread on gossip, and the resolver refuses to pick one', async () => {
    const city = net.cities[0] as CitycodeNode
    const identity = city.identity
    const key = city.authorityKey
    assert.ok(identity !== undefined && key !== undefined)
    const code = identity.namespace
    assert.equal((await resolver.resolve(code)).verified.record.body.code, code)
    await eventually(() => resolver.libp2p.services.pubsub.getSubscribers('/citycode/records/1.0.0').length > 0 && city.libp2p.services.pubsub.getSubscribers('/citycode/records/1.0.0').length > 0, 10_000)

    const now = Date.now()
    const version = (values: Parameters<typeof createRecord>[0]['values']): Uint8Array =>
      createRecord({ code, seq: 1_000, issuedAt: now, expiresAt: now + 3_600_000, ttl: 300_000, values }, key, identity.chain).bytes
    const honest = version([{ type: 'name', lang: 'en', value: 'Shijiazhuang' }])
    const forged = version([{ type: 'name', lang: 'en', value: 'Shijiazhuang Urban Management Bureau' }, { type: 'service', name: 'pay', url: 'https://pay.example/' }])

    // one version to everyone on gossip; the resolver caches it as the newer record
    await publishRecordUpdate(city.libp2p.services.pubsub, honest)
    assert.ok(await eventually(() => resolver.resolver.cached(code)?.record.body.seq === 1_000, 10_000), 'the resolver took the gossiped version')
    assert.ok(await eventually(async () => { const held = await net.country.records.get('held', code); return held !== undefined && net.country.validator.decode(held.bytes).body.seq === 1_000 }, 10_000), 'the country holds the gossiped version')
    // the other straight to the country, which holds the first
    decodePushResponse(await sendRequest(city.libp2p, multiaddr(net.addrOf(net.country)), PUSH_PROTOCOL, encodePushRequest(forged), { timeoutMs: 10_000 }))

    assert.ok(await eventually(() => net.country.validator.equivocationCount === 1, 10_000), 'the country holds evidence')
    const [evidence] = net.country.validator.equivocations()
    assert.ok(evidence !== undefined)
    const checked = verifyEquivocationEvidence(evidence.bytes)
    assert.deepEqual([checked.code, checked.seq, toHex(checked.key)], [code, 1_000, toHex(key.publicKey)])
    assert.equal(net.country.rejections.get('equivocation:EquivocationError'), 1)

    // the country announced both: the resolver, which had only the gossiped one, meets the other
    assert.ok(await eventually(() => resolver.validator.equivocationCount === 1, 10_000), 'the resolver holds evidence too')
    await assert.rejects(resolver.resolve(code), (err: Error & { code?: string, evidence?: Uint8Array }) =>
      err.name === 'EquivocationError' && err.code === 'ERR_EQUIVOCATION' && err.evidence !== undefined && verifyEquivocationEvidence(err.evidence).seq === 1_000)

    // a later version from the key supersedes both: resolution works again
    const later = createRecord({ code, seq: 1_001, issuedAt: now, expiresAt: now + 3_600_000, ttl: 300_000, values: [{ type: 'name', lang: 'en', value: 'Shijiazhuang' }] }, key, identity.chain).bytes
    await publishRecordUpdate(city.libp2p.services.pubsub, later)
    assert.ok(await eventually(async () => await resolver.resolve(code).then(r => r.verified.record.body.seq === 1_001, () => false), 10_000))
  })
})
