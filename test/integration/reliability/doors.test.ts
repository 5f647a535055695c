import assert from 'node:assert/strict'
import fc from 'fast-check'
import { lpStream } from '@libp2p/utils'
import { decodeRecord, recordKey, revoke, decodeCertificate } from '../../../src/core/index.ts'
import { RECORDS_TOPIC } from '../../../src/network/gossip/record-updates.ts'
import { APPLY_PROTOCOL } from '../../../src/network/protocols/apply.ts'
import { PUSH_PROTOCOL, decodePushResponse, encodePushRequest } from '../../../src/network/protocols/push.ts'
import { RESOLVE_PROTOCOL, RESOLVE_RESPONSE_MAX_BYTES, RESOLVE_SESSION_PROTOCOL, decodeResolveResponse, encodeResolveRequest } from '../../../src/network/protocols/resolve.ts'
import { decodeSessionFrame, encodeSessionFrame } from '../../../src/network/rpc/session.ts'
import { sendRequest } from '../../../src/network/rpc/index.ts'
import { badRecords } from '../../utils/bad-inputs.ts'
import { eventually, startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'

/**
 * The adversarial corpus through every network door of a real node: DHT PUT, gossip, push, apply,
 * resolve. Each bad input is refused with its typed error and counted; the node keeps serving the
 * valid record.
 */
describe('bad input through every door', function () {
  this.timeout(120_000)
  let net: TestNetwork
  before(async () => { net = await startTestNetwork(3) })
  after(async () => { await net?.stop() })

  const corpus = async (): Promise<ReturnType<typeof badRecords>> => {
    const holder = net.cities[0]!
    const code = holder.identity!.namespace
    const own = await holder.held(code)
    assert.ok(own !== undefined)
    return badRecords(own.record, (holder as unknown as { init: { authorityKey: Parameters<typeof badRecords>[1] } }).init.authorityKey, net.anchors)
  }

  it('push: every bad record is refused with its typed error and counted, the real one stays', async () => {
    const country = net.country
    const attacker = net.cities[2]!
    const code = net.cities[0]!.identity!.namespace
    for (const bad of await corpus()) {
      if (bad.bytes.length > 10 * 1024 + 256) continue // over the push frame limit: see the length-prefix test
      await assert.rejects(async () => decodePushResponse(await sendRequest(attacker.libp2p, country.peerId, PUSH_PROTOCOL, encodePushRequest(bad.bytes))), bad.error, bad.name)
    }
    assert.ok([...country.rejections.keys()].some(k => k.startsWith('push:')))
    assert.equal((await country.held(code))?.record.body.code, code)
  })

  it('gossip: bad records are rejected by the topic validator and never cached', async () => {
    const attacker = net.cities[2]!
    const before = net.all.reduce((s, n) => s + n.gossip.rejected, 0)
    const bad = await corpus()
    for (const b of bad) await attacker.libp2p.services.pubsub.publish(RECORDS_TOPIC, b.bytes).catch(() => undefined)
    assert.ok(await eventually(() => net.all.reduce((s, n) => s + n.gossip.rejected, 0) >= before + 3, 10_000))
    const code = net.cities[0]!.identity!.namespace
    const r = await net.cities[1]!.resolve(code, { fresh: true })
    assert.equal(r.verified.record.body.code, code)
  })

  it('DHT: a raw PUT of each bad record is stored by no peer', async () => {
    const attacker = net.cities[2]!
    const code = net.cities[0]!.identity!.namespace
    for (const bad of (await corpus()).slice(0, 5)) {
      let stored = 0
      for await (const e of attacker.libp2p.services.dht.put(recordKey(code), bad.bytes, { signal: AbortSignal.timeout(10_000) })) {
        if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE') stored++
      }
      assert.equal(stored, 0, bad.name)
    }
    assert.ok([...net.country.rejections.keys(), ...net.root.rejections.keys(), ...net.cities[1]!.rejections.keys()].some(k => k.startsWith('dht:')))
    const r = await net.cities[1]!.resolve(code, { fresh: true, dhtOnly: true })
    assert.equal(decodeRecord(r.verified.record.bytes).body.code, code)
  })

  it('apply and resolve: random garbage frames get typed refusals, never a crash', async () => {
    const attacker = net.cities[2]!
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (garbage) => {
      const apply = await sendRequest(attacker.libp2p, net.country.peerId, APPLY_PROTOCOL, garbage).catch((err: Error) => err)
      assert.ok(apply instanceof Uint8Array, `apply answered: ${String(apply)}`)
      const resolve = decodeResolveResponse(await sendRequest(attacker.libp2p, net.country.peerId, RESOLVE_PROTOCOL, garbage))
      assert.ok(resolve.status === 'refused' || resolve.status === 'not-found')
    }), { numRuns: 40 })
    assert.ok((net.country.rejections.get('apply:MalformedRecordError') ?? 0) > 0)
    const code = net.cities[1]!.identity!.namespace
    assert.equal((await net.cities[0]!.resolve(code, { fresh: true })).verified.record.body.code, code)
  })

  it('resolve sessions: garbage questions in well-formed frames get typed refusals on the same session; a broken frame ends that session only; at most 2 sessions per connection', async () => {
    const attacker = net.cities[2]!
    const stream = await attacker.libp2p.dialProtocol(net.country.peerId, RESOLVE_SESSION_PROTOCOL)
    const lp = lpStream(stream)
    let id = 1
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 250 }), async (garbage) => {
      const asked = id++
      await lp.write(encodeSessionFrame({ id: asked, body: garbage }))
      const frame = decodeSessionFrame((await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray(), RESOLVE_RESPONSE_MAX_BYTES, 'answer')
      assert.equal(frame.id, asked)
      assert.ok('body' in frame, 'answered, not failed')
      const answer = decodeResolveResponse(frame.body)
      assert.ok(answer.status === 'refused' || answer.status === 'not-found')
    }), { numRuns: 30 })
    await lp.write(Uint8Array.of(0xa1, 0x01))
    await assert.rejects(lp.read({ signal: AbortSignal.timeout(5_000) }), 'the session was reset')
    // sessions past the per-connection limit are refused; the attacker's own node may hold one already
    const extra = await Promise.allSettled([1, 2, 3].map(async () => {
      const s = await attacker.libp2p.dialProtocol(net.country.peerId, RESOLVE_SESSION_PROTOCOL)
      const l = lpStream(s)
      await l.write(encodeSessionFrame({ id: 1, body: encodeResolveRequest('MA.156.9999') }))
      return await l.read({ signal: AbortSignal.timeout(5_000) })
    }))
    assert.ok(extra.filter(r => r.status === 'fulfilled').length <= 2, 'no more than 2 sessions served on one connection')
    const code = net.cities[1]!.identity!.namespace
    assert.equal((await net.cities[0]!.resolve(code, { fresh: true })).verified.record.body.code, code)
  })

  it('a huge length prefix is refused without reading or allocating the body', async () => {
    const attacker = net.cities[2]!
    const heapBefore = process.memoryUsage().heapUsed
    for (let i = 0; i < 20; i++) {
      const stream = await attacker.libp2p.dialProtocol(net.country.peerId, PUSH_PROTOCOL)
      // varint of 2^31: the server must drop the stream on the prefix alone
      stream.send(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x08, 1, 2, 3]))
      const lp = lpStream(stream)
      await assert.rejects(lp.read({ signal: AbortSignal.timeout(5_000) }))
    }
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024, 'no 2 GiB buffers were allocated')
    const code = net.cities[1]!.identity!.namespace
    assert.equal((await net.cities[0]!.resolve(code, { fresh: true })).verified.record.body.code, code)
  })

  it('a revoked key: once the issuer revokes the city certificate, its records stop verifying', async () => {
    const city = net.cities[1]!
    const resolver = net.cities[0]!
    const code = city.identity!.namespace
    const cert = decodeCertificate(city.identity!.chain.at(-1) as Uint8Array)
    const countryKey = (net.country as unknown as { init: { authorityKey: Parameters<typeof revoke>[1] } }).init.authorityKey
    resolver.validator.revocations.add(revoke(cert, countryKey, 'compromised', Date.now() - 1000), cert)
    await assert.rejects(resolver.resolve(code, { fresh: true, signal: AbortSignal.timeout(8_000) }), { name: 'RevokedError' })
  })
})
