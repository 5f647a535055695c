import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRecord, decodeCertificate, issueRotation, sha256, toHex } from '../../../src/core/index.ts'
import { saveIdentity } from '../../../src/services/node/identity-store.ts'
import { closeDatastore, openDatastore } from '../../../src/storage/datastore.ts'
import { KeyStore } from '../../../src/storage/keys.ts'
import { TEST_KEYCHAIN } from '../../utils/test-keychain.ts'
import { decodeLeaf } from '../../../src/core/ledger/log.ts'
import type { Signer } from '../../../src/core/index.ts'
import { adminOperations } from '../../../src/services/admin/index.ts'
import { revokeCertificate } from '../../../src/services/proof/revoke.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import { eventually, startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'
import { seededSigner } from '../../utils/fixtures.ts'
import { errorName } from '../../utils/errors.ts'

/** A record of `code` signed by `signer` under `chain`, as a holder of an old key could still make one. */
function forged (node: CitycodeNode, code: string, signer: Signer, chain: readonly Uint8Array[], seq: number): Uint8Array {
  const now = node.validator.now()
  return createRecord({ code, seq, issuedAt: now, expiresAt: now + 86_400_000, ttl: 60_000, values: [{ type: 'name', lang: 'en', value: 'forged' }] }, signer, [...chain]).bytes
}

async function keyOf (node: CitycodeNode, code: string): Promise<string> {
  return toHex((await node.resolve(code, { fresh: true })).verified.record.body.key)
}

/** Issue #18 §1 on real nodes (memory transport): rotation, re-certification after a revocation, and a lost key re-applying. */
describe('operator lifecycle: rotate, reinstate, re-apply after a lost data directory', function () {
  this.timeout(120_000)
  let net: TestNetwork
  before(async () => { net = await startTestNetwork(3) })
  after(async () => { await net?.stop() })

  it('rotate: the new key signs, the chain verifies everywhere, the ledger logs it, the old key signs nothing more', async () => {
    const city = net.cities[0] as CitycodeNode
    const code = city.identity?.namespace as string
    const resolver = await net.add('resolver')
    const oldKey = city.authorityKey as Signer
    const oldChain = [...(city.identity?.chain ?? [])]
    assert.equal(await keyOf(resolver, code), toHex(oldKey.publicKey))

    // a trust anchor's key is rotated in the anchors' configuration, a resolver has nothing to rotate
    await assert.rejects(adminOperations()({ node: net.root }).rotate(), { name: 'RotationError' })
    await assert.rejects(adminOperations()({ node: resolver }).rotate(), { name: 'NotAllocatedError' })
    const rotation = await adminOperations()({ node: city }).rotate()
    assert.equal(rotation.code, code)
    assert.equal(rotation.previousKey, toHex(oldKey.publicKey))
    assert.notEqual(rotation.key, rotation.previousKey)
    assert.equal(rotation.serial, 2)
    assert.ok(rotation.republished >= 1)
    assert.equal(toHex((city.authorityKey as Signer).publicKey), rotation.key)

    // a resolver that was listening, and one that starts afterwards (sync at start), see the new key
    assert.ok(await eventually(async () => await keyOf(resolver, code).catch(() => '') === rotation.key, 20_000), 'the listening resolver sees the new key')
    const late = await net.add('resolver')
    const seen = await late.resolve(code, { fresh: true })
    assert.equal(toHex(seen.verified.record.body.key), rotation.key)
    assert.deepEqual(seen.verified.chain.certificates.map(c => c.body.kind), ['delegation', 'delegation', 'rotation'])
    // and one that requires fresh revocation status (SPEC 4.6): the retirement is not listed by the
    // country, which vouches for the rotation link as the issuer of the certificate it succeeds
    const strict = await net.add('resolver', { resolver: { directTimeoutMs: 2_000, timeoutMs: 15_000, revocationStatusMaxAgeMs: 30_000 } })
    assert.equal(toHex((await strict.resolve(code, { fresh: true })).verified.record.body.key), rotation.key)
    // the parent serves the new version
    assert.ok(await eventually(async () => toHex((await net.country.held(code))?.record.body.key ?? new Uint8Array(0)) === rotation.key, 10_000))

    // the old key, under its old chain, is refused by both: its holder retired the certificate
    const stale = forged(city, code, oldKey, oldChain, 1000)
    assert.ok(await eventually(() => errorName(() => resolver.validator.validate(stale)) === 'RevokedError', 10_000))
    assert.equal(errorName(() => late.validator.validate(stale)), 'RevokedError')

    // the rotation and the retirement are in the city's own log, in that order
    assert.ok(rotation.ledgerIndex !== null)
    const [entry, next] = (await city.ledger?.entries(rotation.ledgerIndex, rotation.ledgerIndex + 2) ?? []).map(e => decodeLeaf(e))
    assert.equal(entry?.type, 'rotation')
    assert.equal(entry?.code, code)
    assert.equal(next?.type, 'revocation')

    // and the node can rotate again from the key the link committed to
    const again = await adminOperations()({ node: city }).rotate()
    assert.equal(again.previousKey, rotation.key)
    assert.equal(again.serial, 3)
    assert.equal(toHex((await late.resolve(code, { fresh: true })).verified.record.body.key), again.key)

    // the parent's revocation of the certificate it issued takes the rotated chain down with it
    const revoked = await revokeCertificate(net.country, code, { reason: 'taken back' })
    assert.equal(toHex(revoked.revocation.target), toHex(decodeCertificate(oldChain.at(-1) as Uint8Array).hash))
    const after = await net.add('resolver')
    await assert.rejects(after.resolve(code, { fresh: true }), { name: 'RevokedError' })
    assert.ok(await eventually(async () => await late.resolve(code, { fresh: true }).then(() => '', (err: Error) => err.name) === 'RevokedError', 10_000))
  })

  it('reinstate after a revocation: the code resolves with the new key for a resolver that holds the old revocation; the old key stays refused', async () => {
    const city = net.cities[1] as CitycodeNode
    const code = city.identity?.namespace as string
    const oldKey = city.authorityKey as Signer
    const oldChain = [...(city.identity?.chain ?? [])]
    const resolver = await net.add('resolver')
    assert.equal(await keyOf(resolver, code), toHex(oldKey.publicKey))
    await revokeCertificate(net.country, code, { reason: 'key compromised' })
    assert.ok(await eventually(async () => await resolver.resolve(code, { fresh: true }).then(() => '', (err: Error) => err.name) === 'RevokedError', 15_000))
    await city.stop()

    const fresh = seededSigner(777_001)
    const operator = adminOperations()({ node: net.country })
    await assert.rejects(operator.reinstate({ code: 'MA.156.1309', key: toHex(fresh.publicKey) }), { name: 'AllocationError' })
    const reinstated = await operator.reinstate({ code, key: toHex(fresh.publicKey) })
    assert.equal(reinstated.serial, 2)
    assert.equal(reinstated.revokedPrevious, false, 'it was revoked already')
    assert.equal((await operator.reinstate({ code, key: toHex(fresh.publicKey) })).duplicate, true)

    // the city comes back on the new key: its application is answered at once with the new certificate
    const back = await net.add('city', { authorityKey: fresh })
    assert.equal(await back.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'City again', officialCode: '130200' }), code)
    assert.equal(decodeCertificate(back.identity?.chain.at(-1) as Uint8Array).body.serial, 2)
    await back.publishOwn()
    assert.ok(await eventually(async () => await keyOf(resolver, code).catch(() => '') === toHex(fresh.publicKey), 20_000), 'the resolver holding the old revocation takes the new certificate')
    assert.equal(errorName(() => resolver.validator.validate(forged(back, code, oldKey, oldChain, 5000))), 'RevokedError')
    const late = await net.add('resolver')
    assert.equal(await keyOf(late, code), toHex(fresh.publicKey))
  })

  it('a lost data directory re-applies: plain approval says how, approval with reinstate re-certifies the code and revokes the old certificate', async () => {
    const city = net.cities[2] as CitycodeNode
    const code = city.identity?.namespace as string
    const oldKey = city.authorityKey as Signer
    const oldChain = [...(city.identity?.chain ?? [])]
    await city.stop()
    const lost = seededSigner(777_002)
    const again = await net.add('city', { authorityKey: lost })
    // not preapproved: the application waits for the operator
    const applying = again.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'City 130300', officialCode: '130300' }, { timeoutMs: 60_000, poll: { intervalMs: 200 } })
    const operator = adminOperations()({ node: net.country })
    let id: string | undefined
    assert.ok(await eventually(async () => { id = (await operator.pending()).find(p => p.officialCode === '130300')?.id; return id !== undefined }, 10_000))
    const plain = await operator.approve([id as string])
    assert.equal(plain[0]?.status, 'failed')
    assert.match(plain[0]?.status === 'failed' ? plain[0].error.message : '', /already allocated.*--reinstate/)
    const consented = await operator.approve([id as string], { reinstate: true })
    assert.deepEqual(consented, [{ id, status: 'allocated', code, duplicate: false }])
    assert.equal(await applying, code)
    await again.publishOwn()
    const resolver = await net.add('resolver')
    assert.equal(await keyOf(resolver, code), toHex(lost.publicKey))
    // the old certificate was revoked by the parent in the same step, so a stale record under it is refused
    assert.equal(errorName(() => resolver.validator.validate(forged(again, code, oldKey, oldChain, 9000))), 'RevokedError')
    assert.equal(errorName(() => net.country.validator.validate(forged(again, code, oldKey, oldChain, 9000))), 'RevokedError')
  })

  it('a country that rotates keeps its cities: chains it certified before stand, one it certifies after carries the rotation link', async () => {
    const city = net.cities[2] as CitycodeNode
    const code = city.identity?.namespace as string
    const rotation = await adminOperations()({ node: net.country }).rotate()
    assert.equal(rotation.code, 'MA.156')
    const late = await net.add('resolver')
    assert.equal(await keyOf(late, 'MA.156'), rotation.key)
    // the city's own chain still holds the country's old certificate, which its holder retired for the rotation
    const stands = await late.resolve(code, { fresh: true })
    assert.deepEqual(stands.verified.chain.certificates.map(c => c.body.kind), ['delegation', 'delegation'])
    // a resolver that requires fresh revocation status (SPEC 4.6) takes the rotated country: the
    // retirement is not listed, and the rotation link is vouched for by the root, which issued the
    // certificate it succeeds
    const strict = await net.add('resolver', { resolver: { directTimeoutMs: 2_000, timeoutMs: 15_000, revocationStatusMaxAgeMs: 30_000 } })
    assert.equal(await keyOf(strict, 'MA.156'), rotation.key)
    // and the city certified before: its issuer's key is the one the country rotated away from, which
    // signs the country's statement too
    assert.equal(toHex((await strict.resolve(code, { fresh: true })).verified.record.body.key), toHex(stands.verified.record.body.key))
    // a city allocated now is certified by the new key, under the rotated chain
    const newcomer = await net.add('city')
    const allocated = await newcomer.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'City 130400', officialCode: '130400' })
    await newcomer.publishOwn()
    const seen = await late.resolve(allocated, { fresh: true })
    assert.deepEqual(seen.verified.chain.certificates.map(c => c.body.kind), ['delegation', 'rotation', 'delegation'])
    assert.equal((await strict.resolve(allocated, { fresh: true })).verified.record.body.code, allocated)
  })

  it('a rotation cut off between storing the rotated chain and moving the keys is finished when the node starts again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-rotation-crash-'))
    try {
      const open = async (): Promise<{ node: CitycodeNode, keys: KeyStore, datastore: Awaited<ReturnType<typeof openDatastore>> }> => {
        const datastore = await openDatastore(dir)
        const keys = new KeyStore(datastore, 'a passphrase of twenty chars', TEST_KEYCHAIN)
        const authorityKey = await keys.authoritySigner('authority')
        net.country.authority?.preapprove({ key: authorityKey.publicKey })
        const node = await net.add('city', { datastore, peerKey: await keys.peerKey(), authorityKey, authorityKeys: keys.keyring() })
        return { node, keys, datastore }
      }
      const first = await open()
      const code = await first.node.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'City 130500', officialCode: '130500' })
      const old = first.node.authorityKey as Signer
      const ring = first.keys.keyring()
      const next = await ring.next()
      const after = await ring.after()
      const identity = first.node.identity as NonNullable<CitycodeNode['identity']>
      const link = issueRotation(decodeCertificate(identity.chain.at(-1) as Uint8Array), old, next, { nextCommitment: sha256(after.publicKey), now: Date.now() })
      // what rotate stores first; the process dies before the keys move
      await saveIdentity(first.datastore, { ...identity, chain: [...identity.chain, link.bytes] })
      await first.node.stop()
      await closeDatastore(first.datastore)

      const second = await open()
      assert.equal(toHex((second.node.authorityKey as Signer).publicKey), toHex(next.publicKey), 'the node signs with the key its stored chain names')
      assert.equal(toHex((await second.keys.authoritySigner('authority')).publicKey), toHex(next.publicKey), 'and the keychain says so')
      assert.equal(toHex((await second.keys.keyring().next()).publicKey), toHex(after.publicKey))
      await second.node.publishOwn()
      const resolver = await net.add('resolver')
      assert.equal(await keyOf(resolver, code), toHex(next.publicKey))
      // and the retirement the cut-off rotation did not sign is signed now: the old key signs nothing more
      assert.equal(errorName(() => resolver.validator.validate(forged(second.node, code, old, identity.chain, 99))), 'RevokedError')
      assert.equal(toHex(second.node.validator.revocations.get(decodeCertificate(identity.chain.at(-1) as Uint8Array).hash)?.successor ?? new Uint8Array(0)), toHex(link.hash))
      await second.node.stop()
      await closeDatastore(second.datastore)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
