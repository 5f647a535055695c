import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { MemoryDatastore } from 'datastore-core'
import { ChainVerifier, createApplication, createRecord, verifyAbsence, verifyRecord, encodeCbor } from '../../../src/core/index.ts'
import type { Signer } from '../../../src/core/index.ts'
import { authority } from '../../../src/services/authority/index.ts'
import type { Authority } from '../../../src/services/authority/index.ts'
import { AllocationStore } from '../../../src/storage/allocation-store.ts'
import { DAY_MS, NOW, seededSigner } from '../../utils/fixtures.ts'

/** The applicant keys these tests use, named beforehand (approval is manual by default). */
const NAMED = [...Array.from({ length: 19 }, (_, i) => seededSigner(2 + i)), ...Array.from({ length: 20 }, (_, i) => seededSigner(100 + i))].map(s => ({ key: s.publicKey }))

function rootAuthority (approval: 'auto' | 'manual' = 'auto'): { root: Authority, rootKey: Signer } {
  const rootKey = seededSigner(1)
  const root = authority({ approval, preapproved: NAMED })({ namespace: 'MA', signer: rootKey, chain: [], store: new AllocationStore(new MemoryDatastore()), now: () => NOW, logger: defaultLogger() })
  return { root, rootKey }
}

function apply (parent: string, signer: Signer, name: string, officialCode: string | null): Uint8Array {
  return createApplication({ parent, name, officialCode, peer: null, next: null, time: NOW }, signer).bytes
}

describe('authority', () => {
  it('root -> country -> city: the returned chain verifies a record of the city', async () => {
    const { root, rootKey } = rootAuthority()
    const countryKey = seededSigner(2)
    const c = await root.apply(apply('MA', countryKey, 'China', 'CN'))
    assert.equal(c.status, 'allocated')
    if (c.status !== 'allocated') return
    assert.equal(c.code, 'MA.156')
    const country = authority({ approval: 'auto', preapproved: NAMED })({ namespace: c.code, signer: countryKey, chain: c.chain, store: new AllocationStore(new MemoryDatastore()), now: () => NOW, logger: defaultLogger() })
    const cityKey = seededSigner(3)
    const s = await country.apply(apply('MA.156', cityKey, 'Shijiazhuang', '130100'))
    assert.ok(s.status === 'allocated' && s.code === 'MA.156.1301')
    const record = createRecord({ code: 'MA.156.1301', seq: 1, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 1, values: [] }, cityKey, s.chain)
    const v = verifyRecord(record.bytes, new ChainVerifier([{ name: 'root', namespace: 'MA', keys: [rootKey.publicKey], threshold: 1 }]), { now: NOW })
    assert.equal(v.chain.namespace, 'MA.156.1301')
  })

  it('a duplicate application returns the existing allocation; a second key never gets the same code', async () => {
    const { root } = rootAuthority()
    const key = seededSigner(2)
    const first = await root.apply(apply('MA', key, 'China', 'CN'))
    const again = await root.apply(apply('MA', key, 'China', 'CN'))
    assert.ok(first.status === 'allocated' && again.status === 'allocated')
    assert.equal(again.code, first.code)
    assert.ok(again.duplicate)
    await assert.rejects(root.apply(apply('MA', seededSigner(9), 'Impostor', 'CN')), { name: 'AllocationError' })
  })

  it('concurrent applications for serial codes get distinct codes', async () => {
    const store = new AllocationStore(new MemoryDatastore())
    const de = authority({ approval: 'auto', preapproved: NAMED })({ namespace: 'MA.276', signer: seededSigner(5), chain: [], store, now: () => NOW, logger: defaultLogger() })
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => de.apply(apply('MA.276', seededSigner(100 + i), `City ${i}`, null))))
    const codes = outcomes.map(o => o.status === 'allocated' ? o.code : '')
    assert.equal(new Set(codes).size, 20)
    assert.ok(codes.every(c => /^MA\.276\.00(0[1-9]|1\d|20)$/.test(c)), codes.join(' '))
  })

  it('manual approval queues, then allocates on approve', async () => {
    const { root } = rootAuthority('manual')
    const key = seededSigner(2)
    const p = await root.apply(apply('MA', key, 'Germany', 'DE'))
    assert.equal(p.status, 'pending')
    if (p.status !== 'pending') return
    assert.deepEqual((await root.pending()).map(x => x.name), ['Germany'])
    assert.equal((await root.apply(apply('MA', key, 'Germany', 'DE'))).status, 'pending')
    const done = await root.approve(p.id)
    assert.ok(done.status === 'allocated' && done.code === 'MA.276')
    assert.equal((await root.pending()).length, 0)
    const later = await root.apply(apply('MA', key, 'Germany', 'DE'))
    assert.ok(later.status === 'allocated' && later.duplicate)
  })

  it('a rejected application is refused when asked again, and cannot be approved; a new one queues', async () => {
    const { root } = rootAuthority('manual')
    const key = seededSigner(2)
    const p = await root.apply(apply('MA', key, 'Germany', 'DE'))
    assert.ok(p.status === 'pending')
    await root.reject(p.id)
    assert.deepEqual(await root.pending(), [])
    await assert.rejects(root.apply(apply('MA', key, 'Germany', 'DE')), (err: Error & { details?: Record<string, unknown> }) => err.name === 'AllocationError' && err.details?.rejected === true && err.details?.id === p.id)
    assert.deepEqual(await root.pending(), [], 'a rejected application is not queued again')
    await assert.rejects(root.approve(p.id), { name: 'AllocationError' })
    await assert.rejects(root.reject(p.id), { name: 'AllocationError' })
    await assert.rejects(root.reject('0123456789abcdef'), { name: 'AllocationError' })
    const fresh = createApplication({ parent: 'MA', name: 'Germany', officialCode: 'DE', peer: null, next: null, time: NOW + 1 }, key).bytes
    const again = await root.apply(fresh)
    assert.ok(again.status === 'pending' && again.id !== p.id)
  })

  it('approve and reject of one application are serialised: exactly one wins', async () => {
    const { root } = rootAuthority('manual')
    const p = await root.apply(apply('MA', seededSigner(2), 'Germany', 'DE'))
    assert.ok(p.status === 'pending')
    const [approved, rejected] = await Promise.allSettled([root.approve(p.id), root.reject(p.id)])
    assert.equal(approved.status, 'fulfilled')
    assert.equal(rejected.status, 'rejected')
    assert.equal((await root.allocations()).length, 1)
  })

  it('refuses bad applications with typed errors', async () => {
    const { root } = rootAuthority()
    await assert.rejects(root.apply(apply('MA.156', seededSigner(2), 'x', 'CN')), { name: 'AllocationError' })
    await assert.rejects(root.apply(new Uint8Array([1, 2, 3])), { name: 'MalformedRecordError' })
    const good = createApplication({ parent: 'MA', name: 'x', officialCode: 'CN', peer: null, next: null, time: NOW }, seededSigner(2))
    const forged = encodeCbor({ body: good.bodyBytes, sig: seededSigner(3).sign('application', good.bodyBytes) })
    await assert.rejects(root.apply(forged), { name: 'BadSignatureError' })
    await assert.rejects(root.apply(apply('MA', seededSigner(4), 'Nowhere', 'XX')), { name: 'AllocationRuleError' })
  })

  it('proves codes it has not allocated absent, and never one it has: the set is signed again after each allocation', async () => {
    let now = NOW
    const rootKey = seededSigner(1)
    const anchors = [{ name: 'root', namespace: 'MA', keys: [rootKey.publicKey], threshold: 1 }]
    const root = authority({ absenceTtlMs: 60_000, approval: 'auto', preapproved: NAMED })({ namespace: 'MA', signer: rootKey, chain: [], store: new AllocationStore(new MemoryDatastore()), now: () => now, logger: defaultLogger() })
    const before = await root.proveAbsence('MA.156')
    assert.ok(before !== undefined)
    const v = verifyAbsence(before, new ChainVerifier(anchors), { now, code: 'MA.156' })
    assert.equal(v.proof.set.body.size, 0)
    assert.equal(v.expiresAt, NOW + 60_000)

    const c = await root.apply(apply('MA', seededSigner(2), 'China', 'CN'))
    assert.ok(c.status === 'allocated')
    assert.equal(await root.proveAbsence('MA.156'), undefined, 'allocated: no proof of absence')
    assert.equal(await root.proveAbsence('MA.156.1301'), undefined, 'below an allocated code, its holder answers')
    const after = await root.proveAbsence('MA.276.0001')
    assert.ok(after !== undefined)
    const v2 = verifyAbsence(after, new ChainVerifier(anchors), { now, code: 'MA.276.0001' })
    assert.equal(v2.code, 'MA.276')
    assert.equal(v2.proof.set.body.size, 1, 'the new set holds the allocation')
    assert.ok((v2.proof.left?.code ?? v2.proof.right?.code) === 'MA.156')

    now += 31_000
    const refreshed = verifyAbsence((await root.proveAbsence('MA.276'))!, new ChainVerifier(anchors), { now })
    assert.equal(refreshed.signedAt, now, 'past half its ttl, the set is signed again')
    await assert.rejects(root.proveAbsence('MA'), { name: 'NamespaceViolationError' })
  })

  describe('who may get a code (issue #16 section 2)', () => {
    const store = (): AllocationStore => new AllocationStore(new MemoryDatastore())
    const city = (init: Parameters<typeof authority>[0] = {}, s = store()): Authority =>
      authority(init)({ namespace: 'MA.156.1301', signer: seededSigner(50), chain: [], store: s, now: () => NOW, logger: defaultLogger() })

    it('by default a stranger asking for a sub-code is queued for the operator, never granted', async () => {
      const outcome = await city().apply(apply('MA.156.1301', seededSigner(60), 'Shijiazhuang Urban Management Bureau', null))
      assert.equal(outcome.status, 'pending')
    })

    it('auto allocates only the keys named beforehand (at start or later), a pinned code exactly; strangers still wait', async () => {
      const named = seededSigner(61)
      const late = seededSigner(63)
      const a = city({ approval: 'auto', preapproved: [{ key: named.publicKey, code: 'MA.156.1301.07' }] })
      const got = await a.apply(apply('MA.156.1301', named, 'Bureau', null))
      assert.ok(got.status === 'allocated' && got.code === 'MA.156.1301.07')
      assert.equal((await a.apply(apply('MA.156.1301', seededSigner(62), 'Stranger', null))).status, 'pending')
      // queued first, then named: asking again allocates, and the queued place is freed
      assert.equal((await a.apply(apply('MA.156.1301', late, 'Named later', null))).status, 'pending')
      a.preapprove({ key: late.publicKey })
      assert.equal((await a.apply(apply('MA.156.1301', late, 'Named later', null))).status, 'allocated')
      assert.deepEqual((await a.pending()).map(p => p.name), ['Stranger'])
      assert.throws(() => { a.preapprove({ key: late.publicKey, code: 'MA.156.1302.01' }) }, { name: 'AllocationError' })
    })

    it('manual queues even a named key: the operator asked to look at every application', async () => {
      const named = seededSigner(64)
      const a = city({ approval: 'manual', preapproved: [{ key: named.publicKey }] })
      assert.equal((await a.apply(apply('MA.156.1301', named, 'Bureau', null))).status, 'pending')
    })

    it('pending applications are bounded per key, per peer and in total: past a bound PendingLimitError and nothing stored', async () => {
      const s = store()
      const a = city({ pendingLimits: { perKey: 2, perPeer: 3, total: 5 } }, s)
      const key = seededSigner(70)
      const at = (signer: Signer, t: number): Uint8Array => createApplication({ parent: 'MA.156.1301', name: 'x', officialCode: null, peer: null, next: null, time: NOW + t }, signer).bytes
      assert.equal((await a.apply(at(key, 1), { peer: 'p1' })).status, 'pending')
      assert.equal((await a.apply(at(key, 2), { peer: 'p2' })).status, 'pending')
      await assert.rejects(a.apply(at(key, 3), { peer: 'p3' }), (err: Error & { code?: string, details?: { bound?: string } }) => err.name === 'PendingLimitError' && err.code === 'ERR_PENDING_LIMIT' && err.details?.bound === 'per key')
      // the same application again is the same entry, not a new one
      assert.equal((await a.apply(at(key, 1), { peer: 'p1' })).status, 'pending')
      assert.equal((await a.apply(at(seededSigner(71), 1), { peer: 'p1' })).status, 'pending')
      assert.equal((await a.apply(at(seededSigner(72), 1), { peer: 'p1' })).status, 'pending')
      await assert.rejects(a.apply(at(seededSigner(73), 1), { peer: 'p1' }), { name: 'PendingLimitError' })
      assert.equal((await a.apply(at(seededSigner(74), 1), { peer: 'p4' })).status, 'pending')
      await assert.rejects(a.apply(at(seededSigner(75), 1), { peer: 'p5' }), (err: Error & { details?: { bound?: string } }) => err.details?.bound === 'total')
      assert.equal((await a.pending()).length, 5)
      // a decision frees a place
      const first = (await a.pending())[0]
      assert.ok(first !== undefined)
      await a.reject(first.id)
      assert.equal((await a.apply(at(seededSigner(75), 1), { peer: 'p5' })).status, 'pending')
      // a restarted authority counts what its store holds
      const again = city({ pendingLimits: { perKey: 2, perPeer: 3, total: 5 } }, s)
      await assert.rejects(again.apply(at(seededSigner(76), 1), { peer: 'p6' }), { name: 'PendingLimitError' })
    })

    it('an invitation the authority signed admits its key under auto (to its pinned code); a stranger presenting it, or a forged one, is refused typed', async () => {
      const a = city({ approval: 'auto' })
      const invitee = seededSigner(80)
      const invitation = a.invite({ key: invitee.publicKey, code: 'MA.156.1301.05' })
      const withInvitation = (signer: Signer, bytes: Uint8Array): Uint8Array => createApplication({ parent: 'MA.156.1301', name: 'Invited', officialCode: null, peer: null, next: null, time: NOW, invitation: bytes }, signer).bytes
      const got = await a.apply(withInvitation(invitee, invitation))
      assert.ok(got.status === 'allocated' && got.code === 'MA.156.1301.05')
      await assert.rejects(a.apply(withInvitation(seededSigner(81), invitation)), (err: Error & { details?: { reason?: string } }) => err.name === 'InvitationError' && err.details?.reason === 'invitee')
      const other = authority({ approval: 'auto' })({ namespace: 'MA.156.1301', signer: seededSigner(51), chain: [], store: store(), now: () => NOW, logger: defaultLogger() })
      await assert.rejects(a.apply(withInvitation(seededSigner(82), other.invite({ key: seededSigner(82).publicKey }))), (err: Error & { details?: { reason?: string } }) => err.details?.reason === 'signature')
      const expired = authority({ approval: 'auto' })({ namespace: 'MA.156.1301', signer: seededSigner(50), chain: [], store: store(), now: () => NOW - 8 * DAY_MS, logger: defaultLogger() }).invite({ key: seededSigner(83).publicKey })
      await assert.rejects(a.apply(withInvitation(seededSigner(83), expired)), (err: Error & { details?: { reason?: string } }) => err.details?.reason === 'expired')
      // under manual an invitation is only a note: the operator still decides
      const manual = city({ approval: 'manual' })
      assert.equal((await manual.apply(withInvitation(seededSigner(84), manual.invite({ key: seededSigner(84).publicKey })))).status, 'pending')
      assert.equal((await a.allocations()).length, 1)
    })
  })
})
