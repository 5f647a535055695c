import assert from 'node:assert/strict'
import { decodeCertificate, listsRevoked, toHex } from '../../../src/core/index.ts'
import { revokeCertificate } from '../../../src/services/proof/revoke.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import { startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'

const certOf = (node: CitycodeNode): ReturnType<typeof decodeCertificate> => decodeCertificate(node.identity!.chain.at(-1)!)

/**
 * A resolver that sets a freshness bound (SPEC 4.6) takes a record only with a revocation status
 * statement from the issuer of every link of its chain no older than the bound: stapled to direct
 * answers, fetched from the issuer when a copy (DHT) comes without, refused when it cannot be had.
 */
describe('revocation status statements (real libp2p nodes)', function () {
  this.timeout(120_000)
  let net: TestNetwork
  let resolver: CitycodeNode

  before(async () => {
    net = await startTestNetwork(3)
    resolver = await net.add('resolver', { resolver: { directTimeoutMs: 2_000, timeoutMs: 15_000, revocationStatusMaxAgeMs: 3_000 } })
    await resolver.knowAuthority({ namespace: 'MA', addr: net.addrOf(net.root) })
  })
  after(async () => { await net?.stop() })

  it('a direct answer carries the statements of its chain\'s issuers, signed by them, not listing it', async () => {
    const city = net.cities[0]!
    const code = city.identity!.namespace
    const r = await resolver.resolve(code)
    assert.equal(r.verified.record.body.code, code)
    const held = resolver.statuses.forIssuers(['MA', 'MA.156'])
    assert.deepEqual([...new Set(held.map(s => s.namespace))].sort(), ['MA', 'MA.156'])
    const country = held.find(s => s.namespace === 'MA.156')!
    assert.equal(toHex(country.key), toHex(net.country.authorityKey!.publicKey), 'the country signed its own')
    assert.ok(Date.now() - country.issuedAt < 3_000)
    assert.equal(listsRevoked(country, certOf(city).hash), false)
  })

  it('a copy from the DHT without statements: the resolver asks the issuers itself', async () => {
    const code = net.cities[1]!.identity!.namespace
    // past the bound, so what the first test left does not count
    await new Promise(resolve => setTimeout(resolve, 3_200))
    const r = await resolver.resolve(code, { dhtOnly: true, fresh: true })
    assert.equal(r.source, 'dht')
    const newest = Math.max(...resolver.statuses.forIssuers(['MA.156']).map(s => s.issuedAt))
    assert.ok(Date.now() - newest < 3_000, 'fetched from the country during the lookup')
  })

  it('after a revocation the issuer\'s statement lists the certificate', async () => {
    const city = net.cities[2]!
    await revokeCertificate(net.country, city.identity!.namespace, { reason: 'key compromised', revokedAt: Date.now() - 1000 })
    const statement = net.country.statuses.ownStatus()!
    assert.ok(listsRevoked(statement, certOf(city).hash))
    await assert.rejects(resolver.resolve(city.identity!.namespace, { fresh: true }), { name: 'RevokedError' })
  })

  it('an issuer that cannot be reached: the answer is refused, saying which status is missing and how old the newest is', async () => {
    const code = net.cities[0]!.identity!.namespace
    await new Promise(resolve => setTimeout(resolve, 3_200))
    await net.country.stop()
    await assert.rejects(resolver.resolve(code, { dhtOnly: true, fresh: true }), (err: Error & { details: Record<string, unknown> }) =>
      err.name === 'StaleRevocationStatusError' && err.details.issuer === 'MA.156' && err.details.namespace === code &&
      /no revocation status from MA\.156 newer than 3 s \(the newest is \d+ s old\)/.test(err.message))
  })
})
