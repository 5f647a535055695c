import { REVOCATION_SYNC_PAGE_BYTES } from '../../../src/network/protocols/revocation-sync.ts'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRecord, decodeCertificate, decodeRecord, recordKey, revoke, toHex } from '../../../src/core/index.ts'
import type { Certificate, Signer } from '../../../src/core/index.ts'
import { encodeRevocationAnnouncement } from '../../../src/core/trust/revocation-announcement.ts'
import { issueCertificate } from '../../../src/core/trust/certificate.ts'
import { RECORDS_TOPIC, peerScore } from '../../../src/network/gossip/record-updates.ts'
import { REVOCATIONS_TOPIC } from '../../../src/network/gossip/revocations.ts'
import { revokeCertificate } from '../../../src/services/proof/revoke.ts'
import type { CitycodeNode, CitycodeNodeInit } from '../../../src/services/node/index.ts'
import { closeDatastore, openDatastore } from '../../../src/storage/datastore.ts'
import { KeyStore } from '../../../src/storage/keys.ts'
import { TEST_KEYCHAIN } from '../../utils/test-keychain.ts'
import { RevocationStore } from '../../../src/storage/revocation-store.ts'
import { eventually, startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'
import { seededSigner } from '../../utils/fixtures.ts'

/** Generous on a loaded machine; gossip takes well under a second when idle. */
const LEARN_MS = 20_000

const keyOf = (node: CitycodeNode): Signer => (node as unknown as { init: { authorityKey: Signer } }).init.authorityKey
const certOf = (node: CitycodeNode): Certificate => decodeCertificate(node.identity!.chain.at(-1) as Uint8Array)
const subscribed = (from: CitycodeNode, to: CitycodeNode): boolean =>
  from.libp2p.services.pubsub.getSubscribers(REVOCATIONS_TOPIC).some(p => p.equals(to.peerId))
async function storedTargets (node: CitycodeNode): Promise<string[]> {
  const out: string[] = []
  for await (const e of new RevocationStore(node.datastore).list()) out.push(toHex(e.announcement.revocation.target))
  return out.sort()
}

describe('revocations over the network (real libp2p nodes)', function () {
  this.timeout(120_000)
  let net: TestNetwork

  before(async () => { net = await startTestNetwork(4) })
  after(async () => { await net?.stop() })

  it('A revokes the certificate of city C; B learns it by gossip and refuses C\'s records at every door with RevokedError', async () => {
    const a = net.country
    const c = net.cities[0]!
    const b = net.cities[1]!
    const code = c.identity!.namespace
    const cert = certOf(c)
    // B knows C's record first (cached), so the cache cannot answer for a revoked certificate either
    assert.equal((await b.resolve(code)).verified.record.body.code, code)
    const stored = (await c.held(code))!.record
    assert.ok(await eventually(() => subscribed(a, b), 10_000), 'A sees B on the revocations topic')
    assert.equal(b.validator.revocations.get(cert.hash), undefined)

    const { revocation } = await revokeCertificate(a, code, { reason: 'key compromised', revokedAt: Date.now() - 1000 })
    assert.ok(await eventually(() => b.validator.revocations.get(cert.hash) !== undefined, LEARN_MS), 'B learnt the revocation by gossip')
    assert.equal(toHex(b.validator.revocations.get(cert.hash)!.bytes), toHex(revocation.bytes))
    assert.ok(await eventually(async () => (await storedTargets(b)).includes(toHex(cert.hash)), 5_000), 'B stored it')
    assert.deepEqual(await storedTargets(a), [toHex(cert.hash)])

    // resolver: the cached answer and a fresh lookup
    await assert.rejects(b.resolve(code), { name: 'RevokedError' })
    await assert.rejects(b.resolve(code, { fresh: true, signal: AbortSignal.timeout(15_000) }), { name: 'RevokedError' })
    // DHT validation: the validator kad-dht calls for a PUT or a GET answer
    assert.throws(() => b.validator.validateDhtRecord(recordKey(code), stored.bytes), { name: 'RevokedError' })
    // gossip validation: a new version signed under the revoked certificate, sent straight to B
    const rejectedBefore = b.gossip.rejected
    const next = createRecord({ code, seq: stored.body.seq + 1, issuedAt: Date.now(), expiresAt: Date.now() + 3_600_000, ttl: 60_000, prev: null, values: [] }, keyOf(c), c.identity!.chain)
    assert.ok(await eventually(() => c.libp2p.services.pubsub.getSubscribers(RECORDS_TOPIC).some(p => p.equals(b.peerId)), 10_000))
    await c.libp2p.services.pubsub.publish(RECORDS_TOPIC, next.bytes).catch(() => undefined)
    assert.ok(await eventually(() => b.gossip.rejected > rejectedBefore, LEARN_MS), 'B\'s gossip validator rejected the record')
    assert.notEqual(b.resolver.cached(code)?.record.body.seq, next.body.seq)
  })

  it('forged announcements are rejected, cost their sender score, and change neither B\'s revocations nor its store', async () => {
    const b = net.cities[1]!
    const d = net.cities[2]!
    const forger = await net.add('resolver')
    await forger.libp2p.dial(b.addresses[0]!)
    assert.ok(await eventually(() => subscribed(forger, b), 10_000), 'the forger sees B on the topic')
    const cert = certOf(d)
    const chain = d.identity!.chain.slice(0, -1)
    const genuine = revoke(cert, keyOf(net.country), 'x', Date.now())
    const flipped = Uint8Array.from(genuine.bytes)
    flipped[flipped.length - 3] = (flipped[flipped.length - 3] as number) ^ 0x01
    // a country certificate from a root nobody configured, for the same namespace and key
    const stranger = seededSigner(4242)
    const strangeCountry = issueCertificate({ namespace: net.country.identity!.namespace, subject: keyOf(net.country).publicKey, serial: 9, notBefore: Date.now() - 1000, notAfter: Date.now() + 3_600_000, perms: ['sign', 'delegate'] }, [stranger])
    const forged = [
      encodeRevocationAnnouncement({ revocation: flipped, certificate: cert.bytes, chain }),
      encodeRevocationAnnouncement({ revocation: revoke(cert, seededSigner(77), 'hostile', Date.now()).bytes, certificate: cert.bytes, chain }),
      encodeRevocationAnnouncement({ revocation: revoke(strangeCountry, stranger, 'hostile', Date.now()).bytes, certificate: strangeCountry.bytes, chain: [] })
    ]
    const heldBefore = [...b.validator.revocations.values()].map(r => toHex(r.bytes)).sort()
    const storedBefore = await storedTargets(b)
    const rejectedBefore = b.revocations.counters.rejected
    for (const bytes of forged) await forger.libp2p.services.pubsub.publish(REVOCATIONS_TOPIC, bytes)
    assert.ok(await eventually(() => b.revocations.counters.rejected >= rejectedBefore + forged.length, LEARN_MS), `B rejected all ${forged.length} (${b.revocations.counters.rejected - rejectedBefore})`)
    // scores are recomputed at gossipsub's heartbeat
    assert.ok(await eventually(() => peerScore(b.libp2p.services.pubsub, forger.peerId.toString()) < 0, 10_000), `rejections cost the forger score (${peerScore(b.libp2p.services.pubsub, forger.peerId.toString())})`)
    assert.deepEqual([...b.validator.revocations.values()].map(r => toHex(r.bytes)).sort(), heldBefore)
    assert.deepEqual(await storedTargets(b), storedBefore)
    assert.equal(b.validator.revocations.get(cert.hash), undefined)
    assert.equal((await b.resolve(d.identity!.namespace, { fresh: true })).verified.record.body.code, d.identity!.namespace)
  })

  it('a node restarted on its data directory still honours the revocations it signed and learnt, and re-announces them to a newcomer', async function () {
    this.timeout(240_000)
    const dir = mkdtempSync(join(tmpdir(), 'citycode-revocations-'))
    try {
      const open = async (extra: Partial<CitycodeNodeInit> = {}): Promise<CitycodeNode> => {
        const datastore = await openDatastore(dir)
        const keys = new KeyStore(datastore, 'a passphrase of twenty chars', TEST_KEYCHAIN)
        const authorityKey = await keys.authoritySigner('authority')
        // a keychain key the harness did not name: the country's operator names it
        net.country.authority?.preapprove({ key: authorityKey.publicKey })
        return await net.add('city', { datastore, peerKey: await keys.peerKey(), authorityKey, ...extra })
      }
      const first = await open()
      const own = await first.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'Xingtai', officialCode: '130500' })
      const e = net.cities[3]!
      const learnt = certOf(e)
      assert.ok(await eventually(() => subscribed(net.country, first), 10_000))
      // one it learns by gossip (the country revokes city E), one it signs (retiring its own key)
      await revokeCertificate(net.country, e.identity!.namespace, { reason: 'superseded', revokedAt: Date.now() - 1000 })
      assert.ok(await eventually(async () => (await storedTargets(first)).includes(toHex(learnt.hash)), LEARN_MS), 'learnt and stored')
      const signed = (await revokeCertificate(first, own, { reason: 'retired', revokedAt: Date.now() - 1000 })).revocation
      const expected = [toHex(learnt.hash), toHex(signed.target)].sort()
      // (it also holds what its peers handed it at start: earlier tests of this network revoked some)
      assert.deepEqual((await storedTargets(first)).filter(t => expected.includes(t)), expected)
      // past gossipsub's gossip window, so no neighbour hands the announcements to the restarted node
      // again (which would put them in its seen cache and make its own re-announcement a no-op)
      await new Promise(resolve => setTimeout(resolve, 6_000))
      await first.stop()
      await closeDatastore(first.datastore)

      // the timer stays out of the way: the test runs its tick (`reannounce`) once the newcomer listens
      const second = await open({ revocations: { firstReannounceDelayMs: 600_000 } })
      const storedAtRestart = (await storedTargets(second)).filter(t => expected.includes(t))
      assert.deepEqual(storedAtRestart, expected, 'still in the store')
      // at start it also asks its peers for the revocations in force (earlier tests of this network left some)
      const held = [...second.validator.revocations.values()].map(r => toHex(r.target))
      assert.ok(expected.every(t => held.includes(t)), 'honoured from the store at start')
      await assert.rejects(second.resolve(e.identity!.namespace, { fresh: true, signal: AbortSignal.timeout(15_000) }), { name: 'RevokedError' })
      // a newcomer that only the restarted node tells (its other neighbours took the announcements
      // already), with no bootstrap peer to ask at start: what reaches it is the re-announcement
      const newcomer = await net.add('resolver', { network: { transport: 'memory', listen: [], bootstrap: [] } })
      await newcomer.libp2p.dial(second.addresses[0]!)
      assert.ok(await eventually(() => subscribed(second, newcomer), 10_000), 'the restarted node sees the newcomer on the topic')
      assert.equal(newcomer.validator.revocations.size, 0)
      const knows = (): boolean => expected.every(t => [...newcomer.validator.revocations.values()].some(r => toHex(r.target) === t))
      // a timer tick; on a loaded machine a neighbour may still have gossiped them to the restarted node,
      // and gossipsub then refuses to publish them again until its 2-minute seen window has passed
      assert.ok(await eventually(async () => { if (!knows()) await second.revocations.reannounce(); return knows() }, 150_000, 2_000), 'the newcomer learnt both from the re-announcements')
      await second.stop()
      await closeDatastore(second.datastore)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a node that starts asks its first peers for the revocations in force, before it answers anything, page by page', async function () {
    this.timeout(120_000)
    // more announcements than one sync page holds: sub-code certificates a city issues and revokes
    const country = net.cities[0]!
    const signer = keyOf(country)
    const chain = country.identity!.chain
    const bulk: Uint8Array[] = []
    for (let i = 0; i < 120; i++) {
      const cert = issueCertificate({ namespace: `${country.identity!.namespace}.${String(10 + i)}`, subject: seededSigner(5000 + i).publicKey, serial: 100 + i, notBefore: Date.now() - 1000, notAfter: Date.now() + 3_600_000, perms: ['sign'] }, [signer])
      const padded = 'x'.repeat(240)
      bulk.push(encodeRevocationAnnouncement({ revocation: revoke(cert, signer, `bulk ${i} ${padded}`, Date.now() - 500).bytes, certificate: cert.bytes, chain }))
    }
    for (const bytes of bulk) await country.revocations.learn(bytes)
    const pageBytes = bulk.reduce((a, b) => a + b.byteLength, 0)
    assert.ok(pageBytes > REVOCATION_SYNC_PAGE_BYTES, `the announcements (${pageBytes} bytes) need more than one page`)
    const inForce = [...country.validator.revocations.values()].map(r => toHex(r.target))
    // a resolver whose only peer is the country: nothing on gossip reaches it before it starts
    const fresh = await net.add('resolver', { network: { transport: 'memory', listen: [], bootstrap: [net.addrOf(country)] } })
    const held = new Set([...fresh.validator.revocations.values()].map(r => toHex(r.target)))
    assert.ok(inForce.every(t => held.has(t)), `learnt ${held.size} of the country's ${inForce.length} at start`)
    // and stored as its own, so it hands them on in turn
    assert.ok((await storedTargets(fresh)).length >= bulk.length)
    // a peer that cannot be reached costs the sync deadline, not the start
    const started = Date.now()
    const lonely = await net.add('resolver', { network: { transport: 'memory', listen: [], bootstrap: ['/memory/nobody-listens/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'] }, revocations: { syncTimeoutMs: 1_000 } })
    assert.equal(lonely.validator.revocations.size, 0)
    assert.ok(Date.now() - started < 15_000)
  })
})
