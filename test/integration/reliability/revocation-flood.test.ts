import assert from 'node:assert/strict'
import { decodeCertificate, issueCertificate, revoke, toHex } from '../../../src/core/index.ts'
import type { Signer } from '../../../src/core/index.ts'
import { encodeRevocationAnnouncement } from '../../../src/core/trust/revocation-announcement.ts'
import { quotaSubtree } from '../../../src/core/trust/revocation-admission.ts'
import { REVOCATIONS_TOPIC } from '../../../src/network/gossip/revocations.ts'
import { meshPeers } from '../../../src/network/gossip/mesh.ts'
import { revokeCertificate } from '../../../src/services/proof/revoke.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import { eventually, startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'
import { seededSigner } from '../../utils/fixtures.ts'

const keyOf = (node: CitycodeNode): Signer => node.authorityKey!
const subtreeCount = (node: CitycodeNode, subtree: string): number => [...node.validator.revocations.values()].filter(r => quotaSubtree(r.namespace) === subtree).length

/**
 * Issue: a holder of a delegating certificate minted throw-away certificates under its namespace and
 * revoked them: 4200 valid announcements filled every node's 4096-entry store, and the country's
 * real revocation of the squatter was then ignored. The squatter here is a real city node publishing
 * raw announcements on the revocations topic.
 */
describe('a flood of valid junk revocations does not switch revocation off', function () {
  this.timeout(180_000)
  let net: TestNetwork

  before(async () => { net = await startTestNetwork(3) })
  after(async () => { await net?.stop() })

  it('the squatter\'s subtree gets its quota; a node full of junk still honours the country\'s revocation of the squatter at once', async () => {
    const squatter = net.cities[0]!
    const ns = squatter.identity!.namespace
    // a node with room for 40: the flood fills it, whatever the quota
    const observer = await net.add('resolver', { revocations: { capacity: 40, perSubtree: 256 } })
    const witness = net.cities[1]!
    const chain = squatter.identity!.chain
    // gossip reaches a node only once it is in a mesh of the topic: a flood sent before the
    // observer's mesh formed would miss it and prove nothing about its store
    assert.ok(await eventually(() => meshPeers(observer.libp2p.services.pubsub, REVOCATIONS_TOPIC).length > 0 && meshPeers(witness.libp2p.services.pubsub, REVOCATIONS_TOPIC).length > 0, 30_000), 'observer and witness in the revocations mesh')
    const flood: Uint8Array[] = []
    for (let i = 0; i < 300; i++) {
      const cert = issueCertificate({ namespace: `${ns}.${String(10 + i)}`, subject: seededSigner(7000 + i).publicKey, serial: 1000 + i, notBefore: Date.now() - 1000, notAfter: Date.now() + 3_600_000, perms: ['sign'] }, [keyOf(squatter)])
      flood.push(encodeRevocationAnnouncement({ revocation: revoke(cert, keyOf(squatter), 'junk', Date.now() - 1).bytes, certificate: cert.bytes, chain }))
    }
    for (const bytes of flood) await squatter.libp2p.services.pubsub.publish(REVOCATIONS_TOPIC, bytes).catch(() => 0)
    assert.ok(await eventually(() => subtreeCount(witness, ns) >= 256 && observer.validator.revocations.size >= 40, 30_000),
      `the flood arrived (witness ${subtreeCount(witness, ns)}, observer ${observer.validator.revocations.size})`)
    await new Promise(resolve => setTimeout(resolve, 1_000))
    assert.equal(subtreeCount(witness, ns), 256, 'the squatter\'s subtree holds its quota, no more')
    assert.equal(observer.validator.revocations.size, 40, 'the observer holds its capacity, no more')

    const cert = decodeCertificate(chain.at(-1)!)
    await revokeCertificate(net.country, ns, { reason: 'squatter', revokedAt: Date.now() - 1000 })
    const started = Date.now()
    assert.ok(await eventually(() => observer.validator.revocations.get(cert.hash) !== undefined && witness.validator.revocations.get(cert.hash) !== undefined, 2_000),
      'the real revocation honoured within 2 s on both')
    const tookMs = Date.now() - started
    assert.equal(observer.validator.revocations.size, 40, 'it took the place of a junk one')
    assert.ok((await observer.revocations.stored(cert.hash)) !== undefined, 'and is stored, so a restart keeps it')
    await assert.rejects(observer.resolve(ns, { fresh: true }), { name: 'RevokedError' })
    // re-announcing: at most the per-subtree share of the junk goes out again, the real one among the first
    const sent = await witness.revocations.reannounce()
    assert.ok(sent <= 16 + 16, `re-announced ${sent}`)
    console.log(`      (real revocation honoured after ${tookMs} ms; ${toHex(cert.hash).slice(0, 8)})`)
  })
})
