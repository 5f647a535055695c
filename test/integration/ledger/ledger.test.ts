import assert from 'node:assert/strict'
import { encodeCbor } from '../../../src/core/codec/cbor.ts'
import { decodeLeaf } from '../../../src/core/ledger/log.ts'
import { leafHash } from '../../../src/core/ledger/merkle.ts'
import { verifyConsistency, verifyInclusion } from '../../../src/core/ledger/proofs.ts'
import { encodeHeadRecord, headKey } from '../../../src/core/record/head-record.ts'
import { decodeLedgerResponse, encodeLedgerRequest, LEDGER_PROTOCOL } from '../../../src/network/protocols/ledger.ts'
import { sendRequest } from '../../../src/network/rpc/index.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import { eventually, startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'

async function ask<K extends Parameters<typeof decodeLedgerResponse>[1]> (from: CitycodeNode, to: CitycodeNode, request: Parameters<typeof encodeLedgerRequest>[0] & { op: K }): Promise<ReturnType<typeof decodeLedgerResponse<K>>> {
  return decodeLedgerResponse(await sendRequest(from.libp2p, to.peerId, LEDGER_PROTOCOL, encodeLedgerRequest(request)), request.op)
}

describe('ledger in the network: logs, heads, proofs (memory transport)', function () {
  this.timeout(120_000)
  let net: TestNetwork

  before(async () => { net = await startTestNetwork(3) })
  after(async () => { await net?.stop() })

  it('every authority logs what it signs and publishes a signed head', async () => {
    const country = net.country
    // allocations of the three cities, and the country's own record version(s)
    await eventually(() => (country.ledger?.head()?.sth.head.size ?? 0) >= 4, 10_000)
    const entries = (await country.ledger!.entries(0, country.ledger!.size)).map(decodeLeaf)
    assert.deepEqual(entries.filter(e => e.type === 'allocation').map(e => e.code).sort(), ['MA.156.1301', 'MA.156.1302', 'MA.156.1303'])
    assert.ok(entries.some(e => e.type === 'record' && e.code === 'MA.156'))
    const rootEntries = (await net.root.ledger!.entries(0, net.root.ledger!.size)).map(decodeLeaf)
    assert.ok(rootEntries.some(e => e.type === 'allocation' && e.code === 'MA.156'))
    const city = net.cities[0]!
    await eventually(() => (city.ledger?.head()?.sth.head.size ?? 0) >= 1, 10_000)
    assert.equal(decodeLeaf((await city.ledger!.entries(0, 1))[0]!).type, 'record')
  })

  it('other nodes learn the heads on gossip and keep the latest verified one', async () => {
    const head = await net.country.ledger!.signHead()
    assert.ok(head !== undefined)
    const watchers = [net.root, ...net.cities]
    assert.ok(await eventually(() => watchers.every(w => (w.ledger!.knownHead('MA.156')?.sth.head.size ?? 0) >= head.sth.head.size), 15_000), 'every node holds the country head')
  })

  it('inclusion proofs over the network verify, tampered ones do not', async () => {
    const asker = net.cities[1]!
    const country = net.country
    const head = country.ledger!.head()!
    const size = head.sth.head.size
    for (let i = 0; i < size; i++) {
      const answer = await ask(asker, country, { op: 'get-inclusion', log: 'MA.156', index: i, size })
      verifyInclusion(leafHash(answer.leaf), i, size, answer.proof, head.sth.head.root)
      if (answer.proof.length > 0) {
        const tampered = answer.proof.map(h => Uint8Array.from(h))
        tampered[0]![3] = tampered[0]![3]! ^ 0x40
        assert.throws(() => { verifyInclusion(leafHash(answer.leaf), i, size, tampered, head.sth.head.root) }, { name: 'InvalidProofError' })
      }
      const otherLeaf = Uint8Array.from(answer.leaf)
      otherLeaf[otherLeaf.length - 1] = otherLeaf[otherLeaf.length - 1]! ^ 1
      assert.throws(() => { verifyInclusion(leafHash(otherLeaf), i, size, answer.proof, head.sth.head.root) }, { name: 'InvalidProofError' })
    }
    await assert.rejects(ask(asker, country, { op: 'get-inclusion', log: 'MA.156', index: size, size }), { name: 'InvalidProofError' })
    await assert.rejects(ask(asker, country, { op: 'get-head', log: 'MA.156.1399' }), { name: 'UnknownLogError' })
  })

  it('consistency between two heads of a growing log, checked by every watcher', async () => {
    const country = net.country
    const before = (await country.ledger!.signHead())!
    const seenBefore = net.cities[2]!.ledger!.counters.consistent
    await country.publishOwn([{ type: 'data', name: 'v', value: 'next' }], { background: true })
    const after = (await country.ledger!.signHead())!
    assert.ok(after.sth.head.size > before.sth.head.size)
    const answer = await ask(net.cities[2]!, country, { op: 'get-consistency', log: 'MA.156', oldSize: before.sth.head.size, newSize: after.sth.head.size })
    verifyConsistency(before.sth.head.size, after.sth.head.size, before.sth.head.root, after.sth.head.root, answer.proof)
    assert.ok(await eventually(() => net.cities[2]!.ledger!.knownHead('MA.156')?.sth.head.size === after.sth.head.size, 15_000))
    assert.ok(net.cities[2]!.ledger!.counters.consistent > seenBefore)
    assert.equal(net.cities[2]!.ledger!.alarms().length, 0)
  })

  it('the head is in the DHT under /citycode/h/<namespace>; a forged head is refused there', async () => {
    const country = net.country
    const head = (await country.ledger!.signHead())!
    const reader = net.cities[1]!
    let found: Uint8Array | undefined
    // heads reach the DHT coalesced (at most one put per interval): a valid head of the log, a prefix of the latest
    assert.ok(await eventually(async () => {
      for await (const e of reader.libp2p.services.dht.get(headKey('MA.156'), { signal: AbortSignal.timeout(5_000) })) if (e.name === 'VALUE') found = e.value
      if (found === undefined) return false
      const inDht = reader.validator.validateHead(found, 'MA.156').record.sth
      verifyConsistency(inDht.head.size, head.sth.head.size, inDht.head.root, head.sth.head.root, country.ledger!.consistencyProof(inDht.head.size, head.sth.head.size))
      return true
    }, 20_000), 'head found in the DHT')
    // the country's head with one bit of its signature changed
    const sig = Uint8Array.from(head.sth.sig)
    sig[0] = sig[0]! ^ 1
    const bytes = encodeHeadRecord({ head: encodeCbor({ body: head.sth.bodyBytes, sig }), key: head.key, chain: head.chain })
    assert.throws(() => { reader.validator.validateDhtRecord(headKey('MA.156'), bytes) }, { name: 'BadSignatureError' })
    assert.throws(() => { reader.validator.validateDhtRecord(headKey('MA.156.1301'), head.bytes) }, { name: 'KeyMismatchError' })
    let stored = 0
    for await (const e of net.cities[2]!.libp2p.services.dht.put(headKey('MA.156'), bytes, { signal: AbortSignal.timeout(10_000) })) {
      if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE') stored++
    }
    assert.equal(stored, 0)
  })

  it('heads reach the DHT coalesced: the first at once, later ones as the latest once the interval has passed', async () => {
    const city = await net.add('city', { ledger: { headDhtIntervalMs: 1_500, headIntervalMs: 0 } })
    await city.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'Xingtai', officialCode: '130500' })
    const ledger = city.ledger!
    await city.publishOwn([], { background: true })
    await ledger.signHead()
    assert.ok(await eventually(() => ledger.counters.headsPut === 1, 5_000), 'the first head is put at once')
    for (let i = 0; i < 3; i++) {
      await city.publishOwn([{ type: 'data', name: 'v', value: String(i) }], { background: true })
      await ledger.signHead()
    }
    assert.ok(ledger.counters.headsSigned >= 4)
    assert.equal(ledger.counters.headsPut, 1, 'heads signed within the interval wait')
    assert.ok(await eventually(() => ledger.counters.headsPut === 2, 10_000), 'one trailing put')
    const latest = ledger.head()!
    let inDht: number | undefined
    assert.ok(await eventually(async () => {
      for await (const e of net.cities[0]!.libp2p.services.dht.get(headKey(city.identity!.namespace), { signal: AbortSignal.timeout(5_000) })) {
        if (e.name === 'VALUE') inDht = Math.max(inDht ?? 0, net.cities[0]!.validator.validateHead(e.value).record.sth.head.size)
      }
      return inDht === latest.sth.head.size
    }, 15_000), `the DHT holds the latest head (${String(inDht)} of ${latest.sth.head.size})`)
  })

  it('audit: the history of a code (allocation, versions), every entry included, heads consistent', async () => {
    const city = net.cities[0]!
    const code = city.identity!.namespace
    await city.publishOwn([{ type: 'data', name: 'v', value: '2' }], { background: true })
    await city.ledger!.signHead()
    const auditor = await net.add('resolver')
    await auditor.knowAuthority({ namespace: 'MA', addr: net.addrOf(net.root) })
    await auditor.knowAuthority({ namespace: 'MA.156', addr: net.addrOf(net.country) })
    const report = await auditor.ledger!.audit(code, { signal: AbortSignal.timeout(30_000) })
    assert.equal(report.ok, true, JSON.stringify(report.alarms))
    assert.deepEqual(report.logs.map(l => l.log), [code, 'MA.156'])
    assert.ok(report.logs.every(l => l.rootMatches && l.inclusionFailed === 0 && l.error === undefined), JSON.stringify(report.logs))
    assert.ok(report.history.some(h => h.type === 'allocation' && h.log === 'MA.156'))
    const versions = report.history.filter(h => h.type === 'record' && h.log === code).map(h => h.seq)
    assert.ok(versions.length >= 2, JSON.stringify(report.history))
    assert.deepEqual(versions, [...versions].sort((a, b) => (a ?? 0) - (b ?? 0)))
  })
})
