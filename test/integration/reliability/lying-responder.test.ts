import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { createRecord } from '../../../src/core/index.ts'
import type { SignedRecord } from '../../../src/core/index.ts'
import { PUSH_PROTOCOL, decodePushResponse, encodePushRequest } from '../../../src/network/protocols/push.ts'
import { sendRequest } from '../../../src/network/rpc/index.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import { startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'
import { startLyingPeer } from '../../utils/lying-peer.ts'
import type { Lie, LyingPeer } from '../../utils/lying-peer.ts'

/**
 * Issue #16 section 7: our node as the client of a malicious holder. The city's record names a
 * stock js-libp2p peer as its holder (the peer it publishes as `peer` and `addr`); the country, its
 * parent, keeps the record as pushed. Each lie the holder tells over `/citycode/resolve/1.0.0` must
 * be refused (counted under its typed error) or outrun, the true record must come from the parent
 * within the lookup's deadline, and the liar must not be asked again on the lookups after it.
 */
describe('a lying holder on /citycode/resolve/1.0.0 (issue #16 section 7)', function () {
  this.timeout(180_000)
  let net: TestNetwork
  let liar: LyingPeer
  let resolvers = 0

  before(async () => {
    net = await startTestNetwork(2)
    liar = await startLyingPeer({ transport: 'memory', listen: [`/memory/lying-holder-${process.pid}-${Date.now()}`], lie: { kind: 'silent' } })
  })
  after(async () => {
    await liar?.stop()
    await net?.stop()
  })

  /**
   * The city signs a record naming the liar as its holder and pushes it to its parent, as a holder
   * that moved its node would: from then on the liar is the first peer any resolver asks.
   */
  const nameLiarAsHolder = async (city: CitycodeNode): Promise<{ code: string, older: SignedRecord, truth: SignedRecord }> => {
    const identity = city.identity
    const key = city.authorityKey
    assert.ok(identity !== undefined && key !== undefined)
    const code = identity.namespace
    const older = (await city.held(code))?.record
    assert.ok(older !== undefined)
    const now = Date.now()
    const truth = createRecord({
      code,
      seq: older.body.seq + 1,
      issuedAt: now,
      expiresAt: now + 3_600_000,
      ttl: 300_000,
      values: [{ type: 'name', lang: 'en', value: `City ${code}` }, { type: 'peer', id: liar.id }, { type: 'addr', value: liar.addr }]
    }, key, identity.chain)
    const pushed = decodePushResponse(await sendRequest(city.libp2p, multiaddr(net.addrOf(net.country)), PUSH_PROTOCOL, encodePushRequest(truth.bytes), { timeoutMs: 10_000 }))
    assert.equal(pushed, true, 'the parent keeps the record naming the liar')
    return { code, older, truth }
  }

  /** A resolver that has verified `truth` (from the parent) and so knows the liar as the holder. */
  const resolverKnowing = async (code: string, truth: SignedRecord): Promise<CitycodeNode> => {
    const resolver = await net.add('resolver', {
      network: { transport: 'memory', listen: [], bootstrap: [net.addrOf(net.root), net.addrOf(net.country)] },
      resolver: { timeoutMs: 10_000, directTimeoutMs: 2_000 }
    })
    resolvers++
    await resolver.knowAuthority({ namespace: 'MA.156', addr: net.addrOf(net.country) })
    const first = await resolver.resolve(code)
    assert.equal(first.verified.record.body.seq, truth.body.seq)
    return resolver
  }

  interface Measured {
    seq: number
    from: string | undefined
    firstMs: number
    laterMs: number[]
    asked: number
    refusals: Map<string, number>
  }

  /** One fresh lookup to the lying holder, then three more: what each took, who answered, how often the liar was asked. */
  const lieTo = async (resolver: CitycodeNode, code: string, lie: Lie): Promise<Measured> => {
    liar.lie = lie
    const askedBefore = liar.questions.length
    let t0 = performance.now()
    const first = await resolver.resolve(code, { fresh: true })
    const firstMs = performance.now() - t0
    const laterMs: number[] = []
    for (let i = 0; i < 3; i++) {
      t0 = performance.now()
      const later = await resolver.resolve(code, { fresh: true })
      laterMs.push(performance.now() - t0)
      assert.equal(later.verified.record.body.seq, first.verified.record.body.seq)
    }
    const refusals = new Map([...resolver.rejections].filter(([k]) => k.startsWith('answer:')))
    return { seq: first.verified.record.body.seq, from: first.from, firstMs, laterMs, asked: liar.questions.length - askedBefore, refusals }
  }

  /** What every lie must come to: the parent's true answer in time, one question to the liar, typed refusal. */
  const assertOutcome = (m: Measured, truth: SignedRecord, refusal: string): void => {
    const shown = JSON.stringify({ ...m, refusals: Object.fromEntries(m.refusals), firstMs: Math.round(m.firstMs), laterMs: m.laterMs.map(Math.round) })
    assert.equal(m.seq, truth.body.seq, `the true record, not the lie: ${shown}`)
    assert.equal(m.from, net.country.peerId.toString(), `answered by the parent: ${shown}`)
    assert.ok(m.firstMs < 2_000, `within the direct timeout, far within the deadline: ${shown}`)
    assert.equal(m.asked, 1, `the liar was asked once, not on every lookup: ${shown}`)
    // before, each paid the liar's hedge delay (250 ms) or a question to it: 3 x 255 ms for a silent one
    assert.ok(m.laterMs.reduce((a, b) => a + b, 0) < 500, `later lookups pay no hedge delay for the liar: ${shown}`)
    assert.equal(m.refusals.get(`answer:${refusal}`), 1, `refused as ${refusal}: ${shown}`)
  }

  describe('the liar as the holder its record names', () => {
    let code: string
    let older: SignedRecord
    let truth: SignedRecord
    before(async () => { ({ code, older, truth } = await nameLiarAsHolder(net.cities[0] as CitycodeNode)) })

    it('a record of another code: refused (KeyMismatchError), the parent answers', async () => {
      const other = await net.cities[1]?.held(net.cities[1].identity?.namespace as string)
      assert.ok(other !== undefined)
      assertOutcome(await lieTo(await resolverKnowing(code, truth), code, { kind: 'wrong-code', record: other.record.bytes }), truth, 'KeyMismatchError')
    })

    it('an older, validly signed record than the one verified: refused (StaleAnswerError), never answered', async () => {
      assertOutcome(await lieTo(await resolverKnowing(code, truth), code, { kind: 'stale', record: older.bytes }), truth, 'StaleAnswerError')
    })

    it('garbage bytes in a well-framed message: refused (MalformedRecordError)', async () => {
      assertOutcome(await lieTo(await resolverKnowing(code, truth), code, { kind: 'garbage', bytes: 2_000 }), truth, 'MalformedRecordError')
    })

    it('an answer over the frame cap (8 MiB announced): refused on its length prefix (ResponseTooLargeError), not read', async () => {
      const resolver = await resolverKnowing(code, truth)
      const sentBefore = liar.sent
      const heapBefore = process.memoryUsage().heapUsed
      assertOutcome(await lieTo(resolver, code, { kind: 'oversized', bytes: 8 * 1024 * 1024 }), truth, 'ResponseTooLargeError')
      const sent = liar.sent - sentBefore
      assert.ok(sent < 1024 * 1024, `the liar got ${sent} bytes of 8 MiB through before the stream was reset`)
      assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024)
    })

    it('an endless stream (a length prefix that never ends, never closed): cut after the longest prefix the cap needs (ResponseTooLargeError)', async () => {
      const resolver = await resolverKnowing(code, truth)
      const sentBefore = liar.sent
      const heapBefore = process.memoryUsage().heapUsed
      assertOutcome(await lieTo(resolver, code, { kind: 'endless' }), truth, 'ResponseTooLargeError')
      const sent = liar.sent - sentBefore
      assert.ok(sent < 1024 * 1024, `the liar got ${sent} bytes through before the stream was reset`)
      assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024)
    })

    it('a slow answer (the true record, a byte every 200 ms): outrun by the parent, and counted (SlowPeerError)', async () => {
      assertOutcome(await lieTo(await resolverKnowing(code, truth), code, { kind: 'slow', record: truth.bytes, delayMs: 0, byteEveryMs: 200 }), truth, 'SlowPeerError')
    })

    it('no answer at all (the question read, the stream held open): outrun by the parent, and counted (SlowPeerError)', async () => {
      assertOutcome(await lieTo(await resolverKnowing(code, truth), code, { kind: 'silent' }), truth, 'SlowPeerError')
    })
  })

  describe('the liar replaying its parent\'s old word', () => {
    it('a proof of absence from before the code was allocated, replayed by its holder: refused (StaleAnswerError), not a proven not-found', async () => {
      // the liar collects the parent's signed denial of the next code before a city applies for it
      const official = '130300'
      const city = await net.add('city')
      const denial = await liar.ask(net.addrOf(net.country), 'MA.156.1303')
      assert.equal(denial.status, 'not-found')
      assert.ok(denial.proof instanceof Uint8Array, 'the parent proves the code unallocated')
      const code = await city.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: `City ${official}`, officialCode: official })
      assert.equal(code, 'MA.156.1303')
      await city.publishOwn([], { background: true })
      const { truth } = await nameLiarAsHolder(city)
      assertOutcome(await lieTo(await resolverKnowing(code, truth), code, { kind: 'stale-absence', proof: denial.proof }), truth, 'StaleAnswerError')
    })
  })

  describe('the liar as a parent authority the resolver was told of', () => {
    it('a silent parent is outrun by the honest one and counted (SlowPeerError), then asked last: one hedge delay, not one per lookup', async () => {
      // bootstrapped to the liar alone: no directory at start names the honest country before the
      // configured authorities are tried
      const resolver = await net.add('resolver', {
        network: { transport: 'memory', listen: [], bootstrap: [liar.addr] },
        resolver: { timeoutMs: 10_000, directTimeoutMs: 2_000 }
      })
      resolvers++
      // told of the liar first, as a resolver configured with a wrong (or taken-over) country address
      await resolver.knowAuthority({ namespace: 'MA.156', addr: liar.addr })
      await resolver.knowAuthority({ namespace: 'MA.156', addr: net.addrOf(net.country) })
      liar.lie = { kind: 'silent' }
      const askedBefore = liar.questions.length
      const elapsed: number[] = []
      // codes nobody holds: only the authorities above them are asked, and the honest one proves them unallocated
      for (const code of ['MA.156.1305', 'MA.156.1306', 'MA.156.1307', 'MA.156.1308']) {
        const t0 = performance.now()
        await assert.rejects(resolver.resolve(code), (err: Error & { details?: { proven?: boolean, from?: string } }) =>
          err.name === 'NotFoundError' && err.details?.proven === true && err.details.from === net.country.peerId.toString())
        elapsed.push(performance.now() - t0)
      }
      const shown = JSON.stringify({ elapsed: elapsed.map(Math.round), asked: liar.questions.length - askedBefore })
      assert.ok((elapsed[0] as number) < 2_000, shown)
      assert.ok(elapsed.slice(1).reduce((a, b) => a + b, 0) < 500, `no hedge delay after the first: ${shown}`)
      assert.equal(liar.questions.length - askedBefore, 1, `the liar was asked once: ${shown}`)
      assert.equal(resolver.rejections.get('answer:SlowPeerError'), 1)
    })
  })

  describe('afterwards', () => {
    it('left every resolver it lied to working (no crash)', async () => {
      assert.ok(resolvers >= 9)
      const code = net.cities[1]?.identity?.namespace as string
      for (const node of net.all.filter(n => n.role === 'resolver')) {
        assert.equal((await node.resolve(code, { fresh: true })).verified.record.body.code, code)
      }
    })
  })
})
