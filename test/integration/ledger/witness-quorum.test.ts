import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import type { Datastore } from 'interface-datastore'
import { sha256 } from '../../../src/core/crypto/hash.ts'
import type { Signer } from '../../../src/core/crypto/signature.ts'
import { verifyCosignatures } from '../../../src/core/ledger/tree-head.ts'
import { headKey } from '../../../src/core/record/head-record.ts'
import { issueCertificate } from '../../../src/core/trust/certificate.ts'
import type { TrustAnchor } from '../../../src/core/trust/anchors.ts'
import { createCitycodeNode } from '../../../src/services/node/index.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import { saveIdentity } from '../../../src/services/node/identity-store.ts'
import { eventually, startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'
import { seededSigner } from '../../utils/fixtures.ts'

const keyOf = (node: CitycodeNode): Signer => (node as unknown as { init: { authorityKey: Signer } }).init.authorityKey

describe('ledger witnesses: k-of-n cosignatures required by resolution', function () {
  this.timeout(120_000)
  let net: TestNetwork

  before(async () => { net = await startTestNetwork(1) })
  after(async () => { await net?.stop() })

  it('a head cosigned by k witnesses resolves; with one cosignature missing it is refused', async () => {
    const w1 = await net.add('city', { ledger: { witness: true } })
    const w2 = await net.add('city', { ledger: { witness: true } })
    const w3 = await net.add('city', { ledger: { witness: true } })
    const authority = await net.add('city', { ledger: { witnesses: [{ addr: net.addrOf(w1), namespace: 'w1' }, { addr: net.addrOf(w2), namespace: 'w2' }], cosignTimeoutMs: 3_000 } })
    const code = await authority.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'Xingtai', officialCode: '130500' })
    await authority.publishOwn([], { background: true })
    const head = (await authority.ledger!.signHead())!
    assert.equal(head.cosignatures.length, 2)
    const keys = [w1, w2].map(w => keyOf(w).publicKey)
    assert.equal(verifyCosignatures(head.sth, head.cosignatures, { witnesses: keys, threshold: 2 }).length, 2)
    assert.equal(w1.ledger!.counters.cosigned, 1)

    const resolverWith = async (witnesses: Uint8Array[]): Promise<CitycodeNode> => {
      const r = await net.add('resolver', { resolver: { directTimeoutMs: 2000, timeoutMs: 15_000, requireCosignatures: { k: 2, witnesses } } })
      await r.knowAuthority({ namespace: 'MA.156', addr: net.addrOf(net.country) })
      return r
    }
    const strict = await resolverWith(keys)
    assert.equal((await strict.resolve(code)).verified.record.body.code, code)

    // one of the two required witnesses never cosigned this log
    const other = await resolverWith([keys[0]!, keyOf(w3).publicKey])
    await assert.rejects(other.resolve(code), { name: 'InsufficientCosignaturesError' })

    // a witness goes away: the next head carries one cosignature, and the new version is refused
    await w2.stop()
    const { record } = await authority.publishOwn([{ type: 'data', name: 'v', value: '2' }], { background: true })
    const next = (await authority.ledger!.signHead())!
    assert.equal(next.cosignatures.length, 1)
    await assert.rejects(strict.resolve(code, { fresh: true }), { name: 'InsufficientCosignaturesError' })
    assert.equal(record.body.seq, 2)
    // the requirement is opt-in: a default resolver takes it
    const plain = await net.add('resolver')
    await plain.knowAuthority({ namespace: 'MA.156', addr: net.addrOf(net.country) })
    assert.equal((await plain.resolve(code)).verified.record.body.seq, 2)
  })
})

describe('root quorum at the network level: a country certified by m-1 root keys', function () {
  this.timeout(120_000)
  const nodes: CitycodeNode[] = []
  after(async () => { await Promise.allSettled(nodes.map(async n => { await n.stop() })) })

  it('its heads are refused on gossip and in the DHT; with m signatures they are taken', async () => {
    const roots = [seededSigner(701), seededSigner(702), seededSigner(703)]
    const anchors: TrustAnchor[] = [{ name: 'quorum', namespace: 'MA', keys: roots.map(r => r.publicKey), threshold: 2 }]
    const now = Date.now()
    const country = (namespace: string, subject: Signer, signers: Signer[]): Uint8Array => issueCertificate({
      namespace, subject: subject.publicKey, serial: 1, notBefore: now - 60_000, notAfter: now + 86_400_000, perms: ['sign', 'delegate']
    }, signers).bytes
    const prefix = `citycode-quorum-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
    let n = 0
    const start = async (identity?: { namespace: string, chain: Uint8Array[] }, signer?: Signer): Promise<CitycodeNode> => {
      const datastore = new MemoryDatastore() as Datastore
      if (identity !== undefined) await saveIdentity(datastore, identity)
      const node = await createCitycodeNode({
        role: identity === undefined ? 'city' : 'country',
        anchors,
        datastore,
        peerKey: await generateKeyPair('Ed25519'),
        authorityKey: signer ?? seededSigner(800 + n),
        network: { transport: 'memory', listen: [`/memory/${prefix}-${n++}`] }
      })
      nodes.push(node)
      return node
    }
    const verifier = await start()
    const goodKey = seededSigner(711)
    const badKey = seededSigner(712)
    const good = await start({ namespace: 'MA.156', chain: [country('MA.156', goodKey, [roots[0]!, roots[1]!])] }, goodKey)
    const bad = await start({ namespace: 'MA.250', chain: [country('MA.250', badKey, [roots[0]!])] }, badKey)
    for (const node of [good, bad]) await node.libp2p.dial(multiaddr(verifier.addresses[0]!.toString()))
    await good.libp2p.dial(multiaddr(bad.addresses[0]!.toString()))
    const inMesh = (node: CitycodeNode): boolean => (node.libp2p.services.pubsub as unknown as { getMeshPeers: (topic: string) => string[] }).getMeshPeers('/citycode/heads/1.0.0').length > 0
    assert.ok(await eventually(() => [verifier, good, bad].every(inMesh), 15_000), 'heads mesh formed')

    for (const node of [good, bad]) {
      await node.ledger!.append({ type: 'allocation', code: `${node.identity!.namespace}.0001`, time: now, object: sha256(new Uint8Array([n])) })
      await node.ledger!.signHead()
    }
    assert.ok(await eventually(() => verifier.ledger!.knownHead('MA.156') !== undefined, 15_000), 'the head of a quorum-certified country is taken')
    assert.equal(verifier.ledger!.knownHead('MA.250'), undefined, 'the head of an m-1 certified country is not')
    assert.throws(() => verifier.validator.validateHead(bad.ledger!.head()!.bytes), { name: 'UnknownAnchorError' })

    const put = async (node: CitycodeNode): Promise<number> => {
      let stored = 0
      for await (const e of node.libp2p.services.dht.put(headKey(node.identity!.namespace), node.ledger!.head()!.bytes, { signal: AbortSignal.timeout(10_000) })) {
        if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE') stored++
      }
      return stored
    }
    assert.ok(await put(good) > 0, 'peers store the valid head')
    assert.equal(await put(bad), 0, 'no peer stores the m-1 head')
    // and it cannot publish records either: its own validator refuses them before sending
    await assert.rejects(bad.publishOwn([], { background: true }), { name: 'PublishError' })
  })
})
