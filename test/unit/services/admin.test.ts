import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { MemoryDatastore } from 'datastore-core'
import { createApplication } from '../../../src/core/index.ts'
import { adminOperations } from '../../../src/services/admin/index.ts'
import type { AdminNode } from '../../../src/services/admin/index.ts'
import { authority } from '../../../src/services/authority/index.ts'
import type { Authority } from '../../../src/services/authority/index.ts'
import { RecordValidator } from '../../../src/core/record/validator.ts'
import { AllocationStore } from '../../../src/storage/allocation-store.ts'
import { decodeRevocation, verifyRevocation } from '../../../src/core/trust/revocation.ts'
import type { Signer } from '../../../src/core/crypto/signature.ts'
import { cityRecord, hierarchy, NOW, seededSigner } from '../../utils/fixtures.ts'

function node (a: Authority | undefined, role = 'root'): AdminNode {
  return {
    role,
    authority: a,
    identity: a === undefined ? undefined : { namespace: a.namespace, chain: [] },
    peerId: { toString: () => '12D3KooWtest' },
    resolve: async () => { throw new Error('not used') },
    authorityKey: undefined,
    ledger: undefined,
    validator: new RecordValidator([], { now: () => NOW })
  }
}

function manualRoot (): Authority {
  return authority({ approval: 'manual' })({ namespace: 'MA', signer: seededSigner(1), chain: [], store: new AllocationStore(new MemoryDatastore()), now: () => NOW, logger: defaultLogger() })
}

describe('admin operations', () => {
  it('decides each id on its own, in order: a wrong id does not stop the others', async () => {
    const root = manualRoot()
    const ops = adminOperations({ approval: 'manual' })({ node: node(root) })
    const cn = await root.apply(createApplication({ parent: 'MA', name: 'China', officialCode: 'CN', peer: null, next: null, time: NOW }, seededSigner(2)).bytes)
    const de = await root.apply(createApplication({ parent: 'MA', name: 'Germany', officialCode: 'DE', peer: null, next: null, time: NOW }, seededSigner(3)).bytes)
    assert.ok(cn.status === 'pending' && de.status === 'pending')
    assert.deepEqual((await ops.pending()).map(p => p.name).sort(), ['China', 'Germany'])
    const decided = await ops.approve(['ffffffffffffffff', cn.id])
    assert.equal(decided[0]?.status, 'failed')
    assert.deepEqual(decided[1], { id: cn.id, status: 'allocated', code: 'MA.156', duplicate: false })
    assert.deepEqual(await ops.reject([de.id]), [{ id: de.id, status: 'rejected' }])
    assert.deepEqual(await ops.pending(), [])
    assert.deepEqual(await ops.status(), { role: 'root', namespace: 'MA', peerId: '12D3KooWtest', approval: 'manual' })
  })

  it('refuses malformed batches before deciding anything, and a node without an authority', async () => {
    const root = manualRoot()
    const ops = adminOperations()({ node: node(root) })
    const p = await root.apply(createApplication({ parent: 'MA', name: 'China', officialCode: 'CN', peer: null, next: null, time: NOW }, seededSigner(2)).bytes)
    assert.ok(p.status === 'pending')
    await assert.rejects(ops.approve([p.id, 'NOT-AN-ID']), (err: Error & { details?: Record<string, unknown> }) => err.name === 'AdminRequestError' && err.details?.field === 'ids.1')
    await assert.rejects(ops.approve([]), { name: 'AdminRequestError' })
    await assert.rejects(ops.reject(Array.from({ length: 257 }, () => p.id)), { name: 'AdminRequestError' })
    assert.equal((await ops.pending()).length, 1, 'nothing was decided')
    await assert.rejects(ops.prove({ code: 'MA.156', timeoutMs: 0 }), { name: 'AdminRequestError' })
    await assert.rejects(ops.prove({ code: 'MA.15' }), { name: 'MalformedCodeError' })

    const waiting = adminOperations()({ node: node(undefined, 'country') })
    await assert.rejects(waiting.pending(), { name: 'NotAllocatedError' })
    assert.deepEqual(await waiting.status(), { role: 'country', namespace: null, peerId: '12D3KooWtest', approval: null })
  })

  it('revoke: the holder retires its own certificate, its issuer revokes a child\'s; anyone else is refused', async () => {
    const h = hierarchy()
    const holderOf = (key: Signer, identity: { namespace: string, chain: Uint8Array[] }): AdminNode & { validator: RecordValidator } => {
      const validator = new RecordValidator(h.anchors, { now: () => NOW })
      return {
        role: 'city',
        authority: undefined,
        identity,
        peerId: { toString: () => '12D3KooWtest' },
        // the chain of a code not held here comes from resolving it
        resolve: async (code: string) => ({ code, verified: validator.validate(cityRecord(h).bytes), source: 'local', elapsedMs: 0 }),
        authorityKey: key,
        ledger: undefined,
        validator
      }
    }
    const city = holderOf(h.city, { namespace: 'MA.156.1301', chain: h.chain })
    const own = await adminOperations()({ node: city }).revoke({ code: 'MA.156.1301', reason: 'key compromised', revokedAt: NOW - 5 })
    assert.deepEqual({ code: own.code, reason: own.reason, revokedAt: own.revokedAt, ledgerIndex: own.ledgerIndex }, { code: 'MA.156.1301', reason: 'key compromised', revokedAt: NOW - 5, ledgerIndex: null })
    const revocation = decodeRevocation(own.bytes)
    verifyRevocation(revocation, h.cityCert)
    assert.equal(city.validator.revocations.revoked(h.cityCert.hash, NOW)?.reason, 'key compromised', 'the node honours it from then on')

    const country = holderOf(h.country, { namespace: 'MA.156', chain: [h.countryCert.bytes] })
    const child = await adminOperations()({ node: country }).revoke({ code: 'MA.156.1301', reason: 'allocation withdrawn' })
    verifyRevocation(decodeRevocation(child.bytes), h.cityCert)
    assert.equal(child.revokedAt, NOW, 'from now unless told otherwise')

    const upward = holderOf(h.city, { namespace: 'MA.156.1301', chain: h.chain })
    await assert.rejects(adminOperations()({ node: upward }).revoke({ code: 'MA.156', reason: 'coup' }), { name: 'PermissionError' })
    await assert.rejects(adminOperations()({ node: upward }).revoke({ code: 'MA.156.1301', reason: '' }), { name: 'AdminRequestError' })
    assert.equal(upward.validator.revocations.size, 0)
  })
})
