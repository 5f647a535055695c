import assert from 'node:assert/strict'
import { ChainVerifier, bundleFromText, decodeBundle, verifyAbsence, verifyBundle } from '../../../src/core/index.ts'
import { NotFoundError } from '../../../src/services/errors.ts'
import { buildBundle } from '../../../src/services/proof/build.ts'
import { readQrPng, renderQrPng } from '../../../src/services/proof/qr.ts'
import { encodeResolveRequest, decodeResolveResponse, RESOLVE_PROTOCOL } from '../../../src/network/protocols/resolve.ts'
import { sendRequest } from '../../../src/network/rpc/index.ts'
import { startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'

describe('proof bundles and proven not-founds in a network (memory transport)', function () {
  this.timeout(120_000)
  let net: TestNetwork
  let stopped = false

  before(async () => { net = await startTestNetwork(1) })
  after(async () => { if (!stopped) await net?.stop() })

  it('a resolver is told, with a proof, that unallocated codes do not exist; the proof is cached', async () => {
    const resolver = await net.add('resolver')
    await resolver.knowAuthority({ namespace: 'MA.156', addr: net.addrOf(net.country) })
    const err = await resolver.resolve('MA.156.1309').then(() => undefined, (e: unknown) => e)
    assert.ok(err instanceof NotFoundError, String(err))
    assert.equal(err.details.proven, true)
    assert.equal(err.absence?.namespace, 'MA.156')
    assert.equal(err.absence?.code, 'MA.156.1309')
    assert.ok(resolver.resolver.cachedAbsence('MA.156.1309') !== undefined)

    const city = net.cities[0]!
    await resolver.knowAuthority({ namespace: city.identity!.namespace, addr: net.addrOf(city) })
    const deep = await resolver.resolve(`${city.identity!.namespace}.77.01`).then(() => undefined, (e: unknown) => e)
    assert.ok(deep instanceof NotFoundError && deep.absence !== undefined, String(deep))
    assert.equal(deep.absence.namespace, city.identity!.namespace, 'the city proves its own sub-codes absent')
    assert.equal(deep.absence.code, `${city.identity!.namespace}.77`)

    // after a fork alarm against the country, its denials are refused like its records
    const countryKey = net.country.authorityKey!.publicKey
    resolver.validator.distrust(countryKey, { log: 'MA.156', reason: 'test' })
    await assert.rejects(resolver.resolve('MA.156.1309'), { name: 'DistrustedAuthorityError' })
    resolver.validator.trust(countryKey)
    await assert.rejects(resolver.resolve('MA.156.1309'), { name: 'NotFoundError' })

    // asked directly, the authority of an allocated code gives no proof of absence for it
    const raw = decodeResolveResponse(await sendRequest(resolver.libp2p, net.country.peerId, RESOLVE_PROTOCOL, encodeResolveRequest('MA.156.1301.05')))
    assert.ok(raw.status === 'not-found' && raw.proof === undefined, 'MA.156.1301 is allocated: only its holder may deny codes below it')
    const proofOfOther = decodeResolveResponse(await sendRequest(resolver.libp2p, net.country.peerId, RESOLVE_PROTOCOL, encodeResolveRequest('MA.156.1308')))
    assert.ok(proofOfOther.status === 'not-found' && proofOfOther.proof !== undefined)
    assert.throws(() => verifyAbsence(proofOfOther.proof!, resolver.validator.chains, { now: Date.now(), code: 'MA.156.1301' }), { name: 'KeyMismatchError' }, 'replayed for an allocated code, it is refused')
  })

  it('the holder builds a bundle with its ledger proof; an authority above fetches it from the holder; a stranger cannot build one', async () => {
    const city = net.cities[0]!
    const code = city.identity!.namespace
    const built = await buildBundle(city, code)
    assert.equal(built.verified.signer.role, 'holder')
    assert.ok(built.verified.ledger !== null, 'the holder keeps the log its record is in')
    assert.equal(built.verified.ledger.log, code)
    assert.deepEqual(bundleFromText(built.text), built.bytes)
    assert.equal(readQrPng(await renderQrPng(built.text)), built.text)

    const byCountry = await buildBundle(net.country, code)
    assert.equal(byCountry.verified.signer.role, 'authority')
    assert.equal(byCountry.verified.signer.namespace, 'MA.156')
    assert.equal(byCountry.verified.ledger?.log, code, 'the country fetched the ledger part from the city\'s node')
    assert.equal(byCountry.verified.ledger?.index, built.verified.ledger.index)
    assert.equal((await buildBundle(net.country, code, { ledger: false })).verified.ledger, null)

    const sub = await city.authority!.allocateOwn('Urban management bureau')
    await city.publish(sub, [{ type: 'name', lang: 'en', value: 'Urban management bureau' }])
    const subBundle = await buildBundle(city, sub)
    assert.equal(subBundle.verified.verified.record.body.code, sub)
    assert.ok(subBundle.verified.ledger !== null)

    const stranger = await net.add('resolver')
    await assert.rejects(buildBundle(stranger, code), { name: 'PermissionError' })
    await assert.rejects(buildBundle(net.cities[0]!, 'MA.156.1309'), { name: 'NotFoundError' })

    // with every node stopped, the bundles still verify against the anchors alone
    await net.stop()
    stopped = true
    const offline = new ChainVerifier(net.anchors)
    for (const b of [built, byCountry, subBundle]) {
      const v = verifyBundle(bundleFromText(b.text), offline, { now: Date.now() })
      assert.equal(v.verified.record.body.code, decodeBundle(b.bytes).record.body.code)
    }
  })
})
