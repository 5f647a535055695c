import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { sha256 } from '../../../src/core/crypto/hash.ts'
import type { Signer } from '../../../src/core/crypto/signature.ts'
import { verifyForkEvidence } from '../../../src/core/ledger/fork.ts'
import { encodeLeaf, MerkleLog } from '../../../src/core/ledger/log.ts'
import { signTreeHead } from '../../../src/core/ledger/tree-head.ts'
import { encodeHeadRecord } from '../../../src/core/record/head-record.ts'
import { createRecord, decodeRecord } from '../../../src/core/record/record.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeHeadsMessage, HEADS_TOPIC, publishHeadsMessage } from '../../../src/network/gossip/heads.ts'
import { RECORDS_TOPIC } from '../../../src/network/gossip/record-updates.ts'
import { decodeLedgerRequest, encodeLedgerResponse, LEDGER_PROTOCOL, LEDGER_REQUEST_MAX_BYTES } from '../../../src/network/protocols/ledger.ts'
import { handleRequests } from '../../../src/network/rpc/index.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import { eventually, startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'

const keyOf = (node: CitycodeNode): Signer => (node as unknown as { init: { authorityKey: Signer } }).init.authorityKey

/** The next version of the node's own record, signed with its key and chain (as its publisher would). */
async function nextRecord (node: CitycodeNode): Promise<Uint8Array> {
  const code = node.identity!.namespace
  const current = (await node.held(code))!.record
  const now = Date.now()
  return createRecord({ code, seq: current.body.seq + 1, issuedAt: now, expiresAt: now + 86_400_000, ttl: 60_000, prev: sha256(current.bytes), values: [...current.body.values] }, keyOf(node), node.identity!.chain).bytes
}

async function knownBy (nodes: CitycodeNode[], log: string, size: number): Promise<boolean> {
  return await eventually(() => nodes.every(n => n.ledger!.knownHead(log)?.sth.head.size === size), 15_000)
}

describe('ledger forks: detected, gossiped with evidence, the authority refused', function () {
  this.timeout(120_000)
  let net: TestNetwork
  /** A node that checks no head itself: whatever it knows of forks came over gossip. */
  let bystander: CitycodeNode

  before(async () => {
    net = await startTestNetwork(3)
    bystander = await net.add('city', { ledger: { monitor: false } })
    // bootstrap alone does not dial: connect it so it is in the gossip mesh
    for (const n of [net.root, net.country]) await bystander.libp2p.dial(multiaddr(net.addrOf(n)))
    assert.ok(await eventually(() => (bystander.libp2p.services.pubsub as unknown as { getMeshPeers: (topic: string) => string[] }).getMeshPeers(HEADS_TOPIC).length > 0, 15_000), 'bystander in the heads mesh')
  })
  after(async () => { await net?.stop() })

  it('an authority signing two heads of one size with different roots is caught, and its new records refused', async () => {
    const forker = net.cities[0]!
    const log = forker.identity!.namespace
    const honest = (await forker.ledger!.signHead())!
    const detector = net.cities[1]!
    assert.ok(await knownBy([detector, net.country], log, honest.sth.head.size), 'watchers hold the honest head')

    const before = await nextRecord(forker)
    assert.equal(detector.validator.validate(before).record.body.code, log, 'accepted before the fork')

    const fake = signTreeHead({ log, size: honest.sth.head.size, root: new Uint8Array(randomBytes(32)), time: Date.now() }, keyOf(forker))
    const record = encodeHeadRecord({ head: fake, key: honest.key, chain: honest.chain })
    await publishHeadsMessage(forker.libp2p.services.pubsub, encodeHeadsMessage({ type: 'head-update', record, fromSize: 0, proof: [] }))

    assert.ok(await eventually(() => detector.ledger!.alarms().some(a => a.log === log), 15_000), 'the detector raised an alarm')
    const alarm = detector.ledger!.alarms().find(a => a.log === log)!
    assert.equal(alarm.source, 'local')
    assert.equal(verifyForkEvidence(alarm.evidence, honest.key).kind, 'same-size')

    // the evidence travels: a node that checks nothing itself learns it and re-checks it
    assert.ok(await eventually(() => bystander.ledger!.alarms().some(a => a.log === log), 15_000), 'the bystander got the evidence on gossip')
    assert.equal(bystander.ledger!.alarms().find(a => a.log === log)!.source, 'gossip')

    const after = await nextRecord(forker)
    for (const node of [detector, bystander]) {
      assert.throws(() => node.validator.validate(after), { name: 'DistrustedAuthorityError' })
    }
    const rejectedBy = (): number => net.all.filter(n => n !== forker).reduce((sum, n) => sum + n.gossip.rejected, 0)
    const rejected = rejectedBy()
    await forker.libp2p.services.pubsub.publish(RECORDS_TOPIC, after).catch(() => undefined)
    assert.ok(await eventually(() => rejectedBy() > rejected, 10_000), 'the new version is rejected on gossip')
    await assert.rejects(detector.resolve(log, { fresh: true, signal: AbortSignal.timeout(8_000) }), /DistrustedAuthorityError|NotFoundError|ResolveTimeoutError/)

    // until an operator decides: clearing the alarm trusts the key again
    assert.equal(await bystander.ledger!.clearAlarm(honest.key), true)
    assert.equal(bystander.validator.validate(after).record.body.seq, decodeRecord(after).body.seq)
  })

  it('rewritten history (a head whose log drops an entry) is caught through the consistency proof', async () => {
    const rewriter = net.cities[2]!
    const log = rewriter.identity!.namespace
    await rewriter.publishOwn([{ type: 'data', name: 'v', value: '2' }], { background: true })
    await rewriter.publishOwn([{ type: 'data', name: 'v', value: '3' }], { background: true })
    const honest = (await rewriter.ledger!.signHead())!
    const n = honest.sth.head.size
    assert.ok(n >= 3)
    const watchers = [net.cities[1]!, net.country, net.root]
    assert.ok(await knownBy(watchers, log, n), 'watchers hold the honest head')

    // the same log without entry 1, plus two new versions: one entry longer than the honest head
    const leaves = await rewriter.ledger!.entries(0, n)
    const rewritten = [...leaves.slice(0, 1), ...leaves.slice(2)]
    for (const seq of [98, 99]) rewritten.push(encodeLeaf({ type: 'record', code: log, seq, time: Date.now(), object: new Uint8Array(randomBytes(32)) }))
    const tree = new MerkleLog()
    for (const l of rewritten) tree.appendLeaf(l)
    const head = signTreeHead({ log, size: tree.size, root: tree.root(), time: Date.now() }, keyOf(rewriter))
    const record = encodeHeadRecord({ head, key: honest.key, chain: honest.chain })

    // the rewriter's node now serves the rewritten log
    await rewriter.libp2p.unhandle(LEDGER_PROTOCOL)
    await handleRequests(rewriter.libp2p, LEDGER_PROTOCOL, async (bytes) => {
      const request = decodeLedgerRequest(bytes)
      switch (request.op) {
        case 'get-head': return encodeLedgerResponse({ status: 'head', record })
        case 'get-consistency': return encodeLedgerResponse({ status: 'consistency', proof: tree.consistencyProof(request.oldSize, request.newSize) })
        case 'get-entries': return encodeLedgerResponse({ status: 'entries', entries: rewritten.slice(request.from, request.to) })
        case 'get-inclusion': return encodeLedgerResponse({ status: 'inclusion', proof: tree.inclusionProof(request.index, request.size), leaf: rewritten[request.index]! })
        default: return encodeLedgerResponse({ status: 'refused', error: new Error('no') })
      }
    }, { maxRequestBytes: LEDGER_REQUEST_MAX_BYTES })
    // announced without a proof: watchers must ask the rewriter for one
    await publishHeadsMessage(rewriter.libp2p.services.pubsub, encodeHeadsMessage({ type: 'head-update', record, fromSize: 0, proof: [] }))

    assert.ok(await eventually(() => watchers.every(w => w.ledger!.alarms().some(a => a.log === log)), 15_000), 'every watcher raised an alarm')
    for (const w of watchers) {
      const alarm = w.ledger!.alarms().find(a => a.log === log)!
      assert.equal(verifyForkEvidence(alarm.evidence, honest.key).kind, 'not-extended')
      assert.equal(w.ledger!.knownHead(log)?.sth.head.size, n, 'the honest head stays the one held')
    }
    assert.ok(await eventually(() => bystander.ledger!.alarms().some(a => a.log === log), 15_000))
    const after = await nextRecord(rewriter)
    for (const w of [...watchers, bystander]) assert.throws(() => w.validator.validate(after), { name: 'DistrustedAuthorityError' })

    // an audit by a node that held the honest head shows the fork with its evidence
    const report = await net.cities[1]!.ledger!.audit(log, { signal: AbortSignal.timeout(30_000) })
    assert.equal(report.ok, false)
    assert.ok(report.alarms.some(a => a.log === log && a.kind === 'not-extended' && a.evidence !== undefined), JSON.stringify(report.alarms))
  })
})
