import assert from 'node:assert/strict'
import { MemoryDatastore } from 'datastore-core'
import { defaultLogger } from '@libp2p/logger'
import type { GossipSub } from '@libp2p/gossipsub'
import { issueCertificate, revoke, toHex } from '../../../src/core/index.ts'
import type { Certificate } from '../../../src/core/index.ts'
import { RecordValidator } from '../../../src/core/record/validator.ts'
import { encodeRevocationAnnouncement } from '../../../src/core/trust/revocation-announcement.ts'
import { REVOCATIONS_TOPIC } from '../../../src/network/gossip/revocations.ts'
import { revocations } from '../../../src/services/revocations/index.ts'
import type { Revocations } from '../../../src/services/revocations/index.ts'
import { RevocationStore } from '../../../src/storage/revocation-store.ts'
import { eventually } from '../../utils/citycode-network.ts'
import { DAY_MS, hierarchy, NOW, seededSigner } from '../../utils/fixtures.ts'

const h = hierarchy()
const announce = (cert: Certificate, revokedAt = NOW - 1000): Uint8Array =>
  encodeRevocationAnnouncement({ revocation: revoke(cert, h.country, 'compromised', revokedAt).bytes, certificate: cert.bytes, chain: [h.countryCert.bytes] })

/** Just what the service uses of gossipsub: it records what is published on which topic. */
function recordingPubsub (): { pubsub: GossipSub, published: Array<{ topic: string, data: Uint8Array }> } {
  const published: Array<{ topic: string, data: Uint8Array }> = []
  const pubsub = {
    topicValidators: new Map(),
    addEventListener: () => {},
    removeEventListener: () => {},
    subscribe: () => {},
    unsubscribe: () => {},
    publish: async (topic: string, data: Uint8Array) => { published.push({ topic, data }); return { recipients: [] } }
  }
  return { pubsub: pubsub as unknown as GossipSub, published }
}

describe('revocations service', () => {
  const started: Revocations[] = []
  afterEach(async () => { await Promise.all(started.splice(0).map(async s => { await s.stop() })) })

  function service (store: RevocationStore, validator: RecordValidator, pubsub: GossipSub, init = {}): Revocations {
    const s = revocations(init)({ validator, store, pubsub: () => pubsub, now: () => NOW, logger: defaultLogger() })
    started.push(s)
    return s
  }

  it('load honours what was stored and drops announcements whose certificate has expired', async () => {
    const store = new RevocationStore(new MemoryDatastore())
    const shortLived = issueCertificate({ namespace: 'MA.156.1302', subject: seededSigner(8).publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW - 1, perms: ['sign'] }, [h.country])
    await store.put(announce(h.cityCert), NOW - 5000)
    await store.put(announce(shortLived, NOW - DAY_MS), NOW - 5000)
    const validator = new RecordValidator(h.anchors, { now: () => NOW })
    assert.equal(await service(store, validator, recordingPubsub().pubsub).load(), 1)
    assert.deepEqual([...validator.revocations.values()].map(r => toHex(r.target)), [toHex(h.cityCert.hash)])
    assert.equal(await store.size(), 1)
    assert.equal(await store.get(shortLived.hash), undefined)
  })

  it('announce verifies, honours, stores and publishes; a forged one changes nothing and throws its typed error', async () => {
    const store = new RevocationStore(new MemoryDatastore())
    const validator = new RecordValidator(h.anchors, { now: () => NOW })
    const { pubsub, published } = recordingPubsub()
    const s = service(store, validator, pubsub, { firstReannounceDelayMs: 600_000 })
    await s.start()
    const forged = encodeRevocationAnnouncement({ revocation: revoke(h.cityCert, seededSigner(77), 'hostile', NOW).bytes, certificate: h.cityCert.bytes, chain: [h.countryCert.bytes] })
    await assert.rejects(s.announce(forged), { name: 'PermissionError' })
    assert.equal(validator.revocations.size + await store.size() + published.length, 0)
    await s.announce(announce(h.cityCert))
    assert.ok(validator.revocations.get(h.cityCert.hash) !== undefined)
    assert.equal(await store.size(), 1)
    assert.deepEqual(published.map(p => p.topic), [REVOCATIONS_TOPIC])
  })

  it('re-announces what it stores on its timer, and stops when stopped', async () => {
    const store = new RevocationStore(new MemoryDatastore())
    await store.put(announce(h.cityCert), NOW)
    const { pubsub, published } = recordingPubsub()
    const s = service(store, new RecordValidator(h.anchors, { now: () => NOW }), pubsub, { firstReannounceDelayMs: 20, reannounceIntervalMs: 40 })
    await s.start()
    assert.ok(await eventually(() => published.length >= 3, 10_000), `re-announced ${published.length} times`)
    assert.ok(published.every(p => p.topic === REVOCATIONS_TOPIC && toHex(p.data) === toHex(announce(h.cityCert))))
    await s.stop()
    const after = published.length
    await new Promise(resolve => setTimeout(resolve, 200))
    assert.equal(published.length, after)
  })
})
