import assert from 'node:assert/strict'
import { Key } from 'interface-datastore'
import { MemoryDatastore } from 'datastore-core'
import { issueCertificate, revoke, toHex } from '../../../src/core/index.ts'
import type { Certificate } from '../../../src/core/index.ts'
import { encodeRevocationAnnouncement } from '../../../src/core/trust/revocation-announcement.ts'
import { RevocationStore } from '../../../src/storage/revocation-store.ts'
import { DAY_MS, hierarchy, NOW, seededSigner, YEAR_MS } from '../../utils/fixtures.ts'

const h = hierarchy()
const announce = (cert: Certificate, revokedAt: number, reason = 'compromised'): Uint8Array =>
  encodeRevocationAnnouncement({ revocation: revoke(cert, h.country, reason, revokedAt).bytes, certificate: cert.bytes, chain: [h.countryCert.bytes] })
const cityCert = (n: number): Certificate => issueCertificate({ namespace: `MA.156.${1301 + n}`, subject: seededSigner(500 + n).publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + YEAR_MS, perms: ['sign'] }, [h.country])

async function targets (store: RevocationStore): Promise<string[]> {
  const out: string[] = []
  for await (const e of store.list()) out.push(`${toHex(e.announcement.revocation.target)}@${e.announcement.revocation.revokedAt}`)
  return out.sort()
}

describe('RevocationStore', () => {
  it('keeps one announcement per certificate: the revocation in force earliest; a later one never replaces it', async () => {
    const store = new RevocationStore(new MemoryDatastore())
    assert.equal(await store.put(announce(h.cityCert, NOW), NOW), 'stored')
    assert.equal(await store.put(announce(h.cityCert, NOW + 1000, 'again'), NOW), 'kept-earlier')
    assert.equal(await store.put(announce(h.cityCert, NOW), NOW), 'kept-earlier')
    assert.deepEqual(await targets(store), [`${toHex(h.cityCert.hash)}@${NOW}`])
    assert.equal(await store.put(announce(h.cityCert, NOW - 1000), NOW), 'stored')
    assert.deepEqual(await targets(store), [`${toHex(h.cityCert.hash)}@${NOW - 1000}`])
    assert.equal(await store.size(), 1)
  })

  it('refuses bytes that are not an announcement with a typed error and leaves what it holds alone', async () => {
    const store = new RevocationStore(new MemoryDatastore())
    await store.put(announce(h.cityCert, NOW), NOW)
    const before = await targets(store)
    for (const bad of [new Uint8Array([1, 2, 3]), announce(h.cityCert, NOW).subarray(0, 100), new Uint8Array(20_000)]) {
      await assert.rejects(store.put(bad, NOW), (err: Error) => ['MalformedRecordError', 'RecordTooLargeError'].includes(err.name))
    }
    assert.deepEqual(await targets(store), before)
  })

  it('is bounded: past maxEntries it takes no new certificate, but still an earlier revocation of one it holds', async () => {
    const store = new RevocationStore(new MemoryDatastore(), { maxEntries: 2 })
    assert.equal(await store.put(announce(cityCert(1), NOW), NOW), 'stored')
    assert.equal(await store.put(announce(cityCert(2), NOW), NOW), 'stored')
    assert.equal(await store.put(announce(cityCert(3), NOW), NOW), 'full')
    assert.equal(await store.put(announce(cityCert(2), NOW - 5), NOW), 'stored')
    assert.equal(await store.size(), 2)
    await store.delete(cityCert(1).hash)
    assert.equal(await store.put(announce(cityCert(3), NOW), NOW), 'stored')
    assert.equal((await targets(store)).length, 2)
  })

  it('skips a damaged entry when listing instead of failing', async () => {
    const datastore = new MemoryDatastore()
    const store = new RevocationStore(datastore)
    await store.put(announce(h.cityCert, NOW), NOW)
    await datastore.put(new Key(`/citycode/revocations/${'ab'.repeat(32)}`), new Uint8Array([0xff, 0x00]))
    assert.deepEqual(await targets(store), [`${toHex(h.cityCert.hash)}@${NOW}`])
  })
})
