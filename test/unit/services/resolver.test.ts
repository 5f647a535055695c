import assert from 'node:assert/strict'
import { addExchange, emptyCost, framedBytes } from '../../../src/network/message-cost.ts'
import type { CostOptions } from '../../../src/network/message-cost.ts'
import { defaultLogger } from '@libp2p/logger'
import { AllocationSetTree, RecordValidator, createRecord, encodeRevocationAnnouncement, issueCertificate, revoke, signRevocationStatus, verifyRevocationAnnouncement } from '../../../src/core/index.ts'
import type { RevocationStatus } from '../../../src/core/index.ts'
import { NotFoundError } from '../../../src/services/errors.ts'
import { resolver } from '../../../src/services/resolver/index.ts'
import type { PeerRef, ResolverRouting } from '../../../src/services/resolver/index.ts'
import { cityRecord, hierarchy, NOW, DAY_MS } from '../../utils/fixtures.ts'

const h = hierarchy()
const countryRecord = createRecord({ code: 'MA.156', seq: 1, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 3_600_000, values: [{ type: 'name', lang: 'en', value: 'China' }, { type: 'peer', id: 'country-peer' }] }, h.country, [h.countryCert.bytes])
const v1 = cityRecord(h, { seq: 1 })
const v2 = cityRecord(h, { seq: 2 })

function issueCity (code: string): Uint8Array {
  return issueCertificate({ namespace: code, subject: h.city.publicKey, serial: 1, notBefore: NOW - DAY_MS, notAfter: NOW + 365 * DAY_MS, perms: ['sign', 'delegate'] }, [h.country]).bytes
}

class FakeRouting implements ResolverRouting {
  readonly selfId = 'me'
  peers = new Map<string, Uint8Array | null | 'hang' | { record: Uint8Array, live?: true, statuses?: Uint8Array[] } | { absence: Uint8Array } | { revoked: Uint8Array }>()
  dht: Array<{ value: Uint8Array, from: string }> = []
  asked: string[] = []
  /** Peers that answer only after this many ms (unless the question is abandoned first). */
  delays = new Map<string, number>()
  /** Peers with an open connection. */
  connections = new Set<string>()
  connected (peerId: string): boolean {
    return this.connections.has(peerId)
  }

  async askPeer (peer: PeerRef, code: string, options: CostOptions): Promise<Uint8Array | null | { record: Uint8Array, live?: true, statuses?: Uint8Array[] } | { absence: Uint8Array } | { revoked: Uint8Array }> {
    this.asked.push(`${peer.id}:${code}`)
    const delay = this.delays.get(peer.id)
    if (delay !== undefined) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, delay)
        options.signal?.addEventListener('abort', () => { clearTimeout(t); reject(new Error('aborted')) })
      })
    }
    const answer = this.peers.get(peer.id)
    if (answer === 'hang') {
      return await new Promise((_resolve, reject) => options.signal?.addEventListener('abort', () => { reject(new Error('aborted')) }))
    }
    if (answer === undefined) {
      addExchange(options.cost, QUESTION_BYTES)
      throw new Error('unreachable')
    }
    addExchange(options.cost, QUESTION_BYTES, answer instanceof Uint8Array ? answer.byteLength : 1)
    return answer
  }

  async * dhtValues (_code?: string, options?: CostOptions): AsyncGenerator<{ value: Uint8Array, from: string }> {
    for (const found of this.dht) {
      addExchange(options?.cost, QUESTION_BYTES, found.value.byteLength)
      yield found
    }
  }
}

/** What the fake routing says each question's request costs. */
const QUESTION_BYTES = 20

/** `failures` collects `peer:ErrorName` for every question counted as the peer's failure. */
function make (routing: FakeRouting, init = {}, now: () => number = () => NOW, failures?: string[]): ReturnType<ReturnType<typeof resolver>> {
  return resolver({ directTimeoutMs: 50, timeoutMs: 500, ...init })({
    validator: new RecordValidator(h.anchors, { now }),
    routing,
    local: { get: async () => undefined },
    now,
    logger: defaultLogger(),
    ...(failures !== undefined ? { onPeerFailure: (peer: string, err: Error) => { failures.push(`${peer}:${err.name}`) } } : {})
  })
}

describe('resolver', () => {
  it('asks the nearest known authority directly, then answers from the cache', async () => {
    const routing = new FakeRouting()
    routing.peers.set('country-peer', v1.bytes)
    const r = make(routing)
    assert.ok(r.offer(countryRecord.bytes), 'country records form the directory')
    const first = await r.resolve('MA.156.1301')
    assert.equal(first.source, 'direct')
    assert.equal(first.from, 'country-peer')
    const second = await r.resolve('MA.156.1301')
    assert.equal(second.source, 'cache')
    assert.equal(second.verified.record.body.seq, 1)
  })

  it('hands one cost object to every question of a resolution, the parent\'s lookup included', async () => {
    const routing = new FakeRouting()
    routing.peers.set('root-peer', countryRecord.bytes)
    routing.peers.set('country-peer', v1.bytes)
    const r = make(routing, { authorities: [{ namespace: 'MA', peer: { id: 'root-peer', addrs: [] } }] })
    const cost = emptyCost()
    const answer = await r.resolve('MA.156.1301', { cost })
    assert.equal(answer.from, 'country-peer')
    assert.deepEqual(routing.asked, ['root-peer:MA.156', 'country-peer:MA.156.1301'], 'the parent first, then its holder')
    const frames = 2 * framedBytes(QUESTION_BYTES) + framedBytes(countryRecord.bytes.byteLength) + framedBytes(v1.bytes.byteLength)
    assert.deepEqual(cost, { peersAsked: 2, messages: 4, bytes: frames })
    const cached = emptyCost()
    assert.equal((await r.resolve('MA.156.1301', { cost: cached })).source, 'cache')
    assert.deepEqual(cached, emptyCost(), 'a cache hit costs nothing')
  })

  it('a forged direct answer is never returned: it falls back to the DHT and picks the newest valid value', async () => {
    const routing = new FakeRouting()
    const forged = Uint8Array.from(v2.bytes)
    forged[forged.length - 3] = (forged[forged.length - 3] as number) ^ 1
    routing.peers.set('country-peer', forged)
    routing.dht = [{ value: v1.bytes, from: 'a' }, { value: forged, from: 'liar' }, { value: v2.bytes, from: 'b' }, { value: new Uint8Array([0]), from: 'junk' }]
    const r = make(routing)
    r.offer(countryRecord.bytes)
    const res = await r.resolve('MA.156.1301')
    assert.equal(res.source, 'dht')
    assert.equal(res.verified.record.body.seq, 2)
    assert.equal(res.from, 'b')
  })

  it('gossiped updates replace cached records at once, older ones are ignored', async () => {
    const routing = new FakeRouting()
    routing.dht = [{ value: v1.bytes, from: 'a' }]
    const r = make(routing)
    assert.equal((await r.resolve('MA.156.1301')).verified.record.body.seq, 1)
    assert.equal(r.offer(v2.bytes), true)
    assert.equal((await r.resolve('MA.156.1301')).verified.record.body.seq, 2)
    assert.equal(r.offer(v1.bytes), false, 'a replayed older version is not taken')
    assert.equal(r.cached('MA.156.1301')?.record.body.seq, 2)
    assert.equal(r.offer(cityRecord(h, { code: 'MA.156.1301.05' }).bytes), false, 'uncached city-level codes are not pushed into the cache')
  })

  it('not found: a peer that refused and a DHT with nothing end the lookup at once', async () => {
    const routing = new FakeRouting()
    const r = make(routing)
    r.offer(countryRecord.bytes)
    const t0 = performance.now()
    await assert.rejects(r.resolve('MA.156.1302'), { name: 'NotFoundError' })
    assert.ok(performance.now() - t0 < 400)
    assert.deepEqual(routing.asked, ['country-peer:MA.156.1302'])
  })

  it('a hanging peer sends the lookup on to the DHT after the direct timeout; with nothing found, it is a timeout, not a not-found', async () => {
    const routing = new FakeRouting()
    routing.peers.set('country-peer', 'hang')
    const r = make(routing)
    r.offer(countryRecord.bytes)
    const t0 = performance.now()
    // the question may still be answered: no proof that nobody holds the code
    await assert.rejects(r.resolve('MA.156.1302'), { name: 'ResolveTimeoutError' })
    assert.ok(performance.now() - t0 >= 450, 'waited for the hanging question until the deadline')
    routing.dht = [{ value: v2.bytes, from: 'dht-peer' }]
    const t1 = performance.now()
    const res = await r.resolve('MA.156.1301')
    assert.equal(res.source, 'dht')
    assert.ok(performance.now() - t1 < 400, 'the walk started at the direct timeout, not at the DHT delay')
  })

  it('an answer after the direct timeout still wins when nothing else has one', async () => {
    const routing = new FakeRouting()
    routing.peers.set('country-peer', v2.bytes)
    routing.delays.set('country-peer', 150)
    const r = make(routing, { directTimeoutMs: 50, timeoutMs: 1_000 })
    r.offer(countryRecord.bytes)
    const res = await r.resolve('MA.156.1301')
    assert.equal(res.from, 'country-peer', 'answered at 150 ms, after the 50 ms direct timeout, while the DHT had nothing')
    assert.equal(res.verified.record.body.seq, 2)
  })

  it('a holder that does not answer costs the hedge delay, not the direct timeout', async () => {
    const routing = new FakeRouting()
    routing.peers.set('silent-authority', 'hang')
    routing.peers.set('country-peer', v2.bytes)
    const r = make(routing, {
      directTimeoutMs: 5_000,
      timeoutMs: 8_000,
      hedgeDelayMs: 30,
      dhtDelayMs: 5_000,
      authorities: [{ namespace: 'MA.156', peer: { id: 'silent-authority', addrs: [] } }, { namespace: 'MA.156', peer: { id: 'country-peer', addrs: [] } }]
    })
    const t0 = performance.now()
    const res = await r.resolve('MA.156.1301')
    assert.equal(res.from, 'country-peer')
    assert.equal(res.verified.record.body.seq, 2)
    assert.ok(performance.now() - t0 < 2_000, 'answered long before the 5 s direct timeout')
    assert.deepEqual(routing.asked, ['silent-authority:MA.156.1301', 'country-peer:MA.156.1301'])
  })

  it('a failed peer is asked after the others on the next lookup', async () => {
    const routing = new FakeRouting()
    routing.peers.set('country-peer', v1.bytes)
    const r = make(routing, {
      authorities: [{ namespace: 'MA.156', peer: { id: 'gone', addrs: [] } }, { namespace: 'MA.156', peer: { id: 'country-peer', addrs: [] } }]
    })
    await r.resolve('MA.156.1301')
    assert.deepEqual(routing.asked, ['gone:MA.156.1301', 'country-peer:MA.156.1301'])
    routing.asked = []
    await r.resolve('MA.156.1302').catch(() => undefined)
    assert.equal(routing.asked[0], 'country-peer:MA.156.1302', 'the peer that failed is no longer asked first')
  })

  it('the DHT walk joins when direct questions are slow, and answers from a quorum without waiting for the walk to end', async () => {
    let walkStopped = false
    const routing = new FakeRouting()
    routing.peers.set('country-peer', 'hang')
    routing.dhtValues = async function * (_code?: string, options?: { signal?: AbortSignal }) {
      try {
        yield { value: v1.bytes, from: 'a' }
        yield { value: v2.bytes, from: 'b' }
        yield { value: v1.bytes, from: 'stale' }
        // a walk that would go on until the deadline
        await new Promise<void>((resolve) => { options?.signal?.addEventListener('abort', () => { resolve() }) })
        yield { value: v1.bytes, from: 'late' }
      } finally {
        walkStopped = true
      }
    }
    const r = make(routing, { directTimeoutMs: 5_000, timeoutMs: 8_000, dhtDelayMs: 20 })
    r.offer(countryRecord.bytes)
    const t0 = performance.now()
    const res = await r.resolve('MA.156.1301')
    assert.equal(res.source, 'dht')
    assert.equal(res.verified.record.body.seq, 2, 'the newest of the quorum')
    assert.ok(performance.now() - t0 < 2_000)
    await new Promise(resolve => setTimeout(resolve, 10))
    assert.ok(walkStopped, 'the walk was stopped once answered')
  })

  it('with fewer values than the quorum, the DHT answers a grace period after the first valid one', async () => {
    const routing = new FakeRouting()
    routing.dhtValues = async function * (_code?: string, options?: { signal?: AbortSignal }) {
      yield { value: new Uint8Array([1, 2, 3]), from: 'junk' }
      yield { value: v1.bytes, from: 'a' }
      await new Promise<void>((resolve) => { options?.signal?.addEventListener('abort', () => { resolve() }) })
    }
    const r = make(routing, { timeoutMs: 8_000, dhtGraceMs: 50, dhtDelayMs: 20 })
    const t0 = performance.now()
    const res = await r.resolve('MA.156.1301')
    assert.equal(res.verified.record.body.seq, 1)
    assert.equal(res.from, 'a')
    const elapsed = performance.now() - t0
    assert.ok(elapsed >= 40 && elapsed < 2_000, `answered after the grace period (${elapsed} ms)`)
  })

  it('a walk that finds nothing valid before the deadline is a timeout, not a not-found', async () => {
    const routing = new FakeRouting()
    routing.dhtValues = async function * (_code?: string, options?: { signal?: AbortSignal }) {
      yield { value: new Uint8Array([9]), from: 'junk' }
      await new Promise<void>((resolve) => { options?.signal?.addEventListener('abort', () => { resolve() }) })
    }
    await assert.rejects(make(routing, { timeoutMs: 100 }).resolve('MA.156.1301'), { name: 'ResolveTimeoutError' })
  })

  describe('after a partition', () => {
    // versions that name their holder, as every published city record does
    const held = (seq: number): Uint8Array => createRecord({ code: 'MA.156.1301', seq, issuedAt: NOW - 1000, expiresAt: NOW + DAY_MS, ttl: 300_000, values: [{ type: 'name', lang: 'en', value: 'Shijiazhuang' }, { type: 'peer', id: 'holder' }] }, h.city, h.chain).bytes

    it('an authority\'s copy that is behind its holder loses: the holder it names is asked too and the newer wins', async () => {
      const routing = new FakeRouting()
      routing.peers.set('country-peer', held(1))
      routing.peers.set('holder', held(3))
      routing.connections.add('holder')
      const r = make(routing, { timeoutMs: 5_000, hedgeDelayMs: 1_000 })
      r.offer(countryRecord.bytes)
      const res = await r.resolve('MA.156.1301')
      assert.equal(res.verified.record.body.seq, 3)
      assert.equal(res.from, 'holder')
      assert.deepEqual(routing.asked, ['country-peer:MA.156.1301', 'holder:MA.156.1301'])
      assert.equal(r.cached('MA.156.1301')?.record.body.seq, 3, 'the newer version is what gets cached')
    })

    it('a stale DHT copy loses to its holder\'s newer answer; a holder with nothing newer leaves the copy standing', async () => {
      const routing = new FakeRouting()
      routing.dht = [{ value: held(1), from: 'stale-peer' }]
      routing.peers.set('holder', held(2))
      routing.connections.add('holder')
      const opts = { timeoutMs: 5_000, hedgeDelayMs: 1_000, dhtDelayMs: 0 }
      const res = await make(routing, opts).resolve('MA.156.1301')
      assert.equal(res.verified.record.body.seq, 2)
      assert.equal(res.source, 'direct')
      assert.equal(res.from, 'holder')
      routing.dht = [{ value: held(2), from: 'fresh-peer' }]
      const same = await make(routing, opts).resolve('MA.156.1301')
      assert.equal(same.source, 'dht', 'the same version from the holder does not replace the copy')
      assert.equal(same.from, 'fresh-peer')
      assert.equal(routing.asked.filter(a => a.startsWith('holder:')).length, 2)
    })

    it('the parent\'s copy said live (connected to its holder) is not confirmed: one question; live from a peer that is not the parent counts for nothing', async () => {
      const routing = new FakeRouting()
      routing.peers.set('country-peer', { record: held(1), live: true })
      routing.peers.set('holder', held(3))
      routing.connections.add('holder')
      const r = make(routing, { timeoutMs: 5_000, hedgeDelayMs: 1_000 })
      r.offer(countryRecord.bytes)
      const res = await r.resolve('MA.156.1301')
      assert.equal(res.from, 'country-peer')
      assert.deepEqual(routing.asked, ['country-peer:MA.156.1301'], 'no second question in sequence')
      // a stranger (no parent of the code) claiming live: its copy is still confirmed with the holder
      const other = new FakeRouting()
      other.dht = []
      other.peers.set('stranger', { record: held(1), live: true })
      other.peers.set('holder', held(3))
      other.connections.add('holder')
      const r2 = make(other, { timeoutMs: 5_000, hedgeDelayMs: 1_000, authorities: [{ namespace: 'MA.156', peer: { id: 'stranger', addrs: [] } }] })
      r2.offer(createRecord({ code: 'MA.156', seq: 1, issuedAt: NOW, expiresAt: NOW + DAY_MS, ttl: 3_600_000, values: [{ type: 'peer', id: 'country-peer' }] }, h.country, [h.countryCert.bytes]).bytes)
      const res2 = await r2.resolve('MA.156.1301')
      assert.equal(res2.verified.record.body.seq, 3, 'the holder\'s newer version won')
      assert.deepEqual(other.asked.slice(-2), ['stranger:MA.156.1301', 'holder:MA.156.1301'], 'the parent (unreachable here) first, then the stranger, then the holder to confirm')
    })

    it('a country record answered by the root\'s copy is not confirmed with the country: its versions reach everyone by gossip', async () => {
      const routing = new FakeRouting()
      routing.peers.set('root-peer', countryRecord.bytes)
      routing.peers.set('country-peer', countryRecord.bytes)
      routing.connections.add('country-peer')
      const r = make(routing, { timeoutMs: 5_000, hedgeDelayMs: 1_000, authorities: [{ namespace: 'MA', peer: { id: 'root-peer', addrs: [] } }] })
      const res = await r.resolve('MA.156')
      assert.equal(res.from, 'root-peer')
      assert.deepEqual(routing.asked, ['root-peer:MA.156'], 'one question, not a second one to the country it names')
    })

    it('a cut-off or silent holder costs at most the hedge delay, and the authority\'s copy stands', async () => {
      const routing = new FakeRouting()
      routing.peers.set('country-peer', held(1))
      routing.peers.set('holder', 'hang')
      routing.connections.add('holder')
      const r = make(routing, { timeoutMs: 8_000, directTimeoutMs: 5_000, hedgeDelayMs: 100 })
      r.offer(countryRecord.bytes)
      const t0 = performance.now()
      const res = await r.resolve('MA.156.1301')
      const elapsed = performance.now() - t0
      assert.equal(res.verified.record.body.seq, 1)
      assert.equal(res.from, 'country-peer')
      assert.ok(elapsed >= 90 && elapsed < 2_000, `waited the hedge delay for the holder, not its direct timeout (${elapsed} ms)`)
      routing.peers.delete('holder')
      const refused = await r.resolve('MA.156.1301', { fresh: true })
      assert.equal(refused.from, 'country-peer', 'a holder that refuses changes nothing either')
    })

    it('without a connection open to the holder, the copy is answered as it is (no handshake per lookup)', async () => {
      const routing = new FakeRouting()
      routing.peers.set('country-peer', held(1))
      routing.peers.set('holder', held(3))
      const r = make(routing, { timeoutMs: 5_000, hedgeDelayMs: 1_000 })
      r.offer(countryRecord.bytes)
      const res = await r.resolve('MA.156.1301')
      assert.equal(res.verified.record.body.seq, 1)
      assert.deepEqual(routing.asked, ['country-peer:MA.156.1301'])
    })
  })

  it('malformed codes are refused before any network work', async () => {
    const routing = new FakeRouting()
    await assert.rejects(make(routing).resolve('MA.156.13'), { name: 'MalformedCodeError' })
    assert.equal(routing.asked.length, 0)
  })

  describe('proven not-found', () => {
    const tree = new AllocationSetTree('MA.156', ['MA.156.1301', 'MA.156.1303'])
    const set = tree.sign(h.country, [h.countryCert.bytes], NOW, 60_000)
    const absence = tree.proveAbsence(set, 'MA.156.1302').bytes

    it('a verified proof ends the resolution as a proven NotFoundError, cached for the set\'s ttl and no longer', async () => {
      let now = NOW + 1000
      const routing = new FakeRouting()
      routing.peers.set('country-peer', { absence })
      const r = make(routing, {}, () => now)
      r.offer(countryRecord.bytes)
      const first = await r.resolve('MA.156.1302').then(() => undefined, (err: unknown) => err)
      assert.ok(first instanceof NotFoundError)
      assert.equal(first.details.proven, true)
      assert.equal(first.absence?.code, 'MA.156.1302')
      assert.equal(first.absence?.namespace, 'MA.156')
      assert.equal(routing.asked.length, 1)
      assert.equal(routing.dht.length, 0)

      now = NOW + 59_000
      await assert.rejects(r.resolve('MA.156.1302'), (err: NotFoundError) => err.absence !== undefined)
      assert.equal(routing.asked.length, 1, 'within the ttl the negative cache answers')
      assert.ok(r.cachedAbsence('MA.156.1302') !== undefined)

      now = NOW + 60_000
      assert.equal(r.cachedAbsence('MA.156.1302'), undefined, 'the ttl has run out')
      routing.peers.set('country-peer', null)
      await assert.rejects(r.resolve('MA.156.1302'), (err: NotFoundError) => err.name === 'NotFoundError' && err.absence === undefined && err.details.proven === false)
      assert.equal(routing.asked.length, 2, 'asked again once the ttl ran out')
    })

    it('a record for the code replaces a cached denial', async () => {
      const routing = new FakeRouting()
      routing.peers.set('country-peer', { absence: tree.proveAbsence(set, 'MA.156.1302').bytes })
      const r = make(routing)
      r.offer(countryRecord.bytes)
      await assert.rejects(r.resolve('MA.156.1302'), { name: 'NotFoundError' })
      const newCity = cityRecord(h, { code: 'MA.156.1302' }, h.city, [h.countryCert.bytes, issueCity('MA.156.1302')])
      r.offer(newCity.bytes)
      assert.equal(r.cachedAbsence('MA.156.1302'), undefined)
    })

    it('a forged or mismatched proof is ignored: resolution goes on and ends unproven', async () => {
      const routing = new FakeRouting()
      const forged = Uint8Array.from(absence)
      forged[forged.length - 100] = (forged[forged.length - 100] as number) ^ 1
      routing.peers.set('country-peer', { absence: forged })
      const r = make(routing)
      r.offer(countryRecord.bytes)
      await assert.rejects(r.resolve('MA.156.1302'), (err: NotFoundError) => err.name === 'NotFoundError' && err.absence === undefined)
      routing.peers.set('country-peer', { absence })
      routing.dht = [{ value: v1.bytes, from: 'honest' }]
      const found = await r.resolve('MA.156.1301', { fresh: true })
      assert.equal(found.source, 'dht', 'a proof about another code does not deny this one')
    })
  })

  describe('revoked answers', () => {
    const revocation = revoke(h.cityCert, h.country, 'key compromised', NOW - 1000)
    const announcement = encodeRevocationAnnouncement({ revocation: revocation.bytes, certificate: h.cityCert.bytes, chain: [h.countryCert.bytes] })

    function withLearner (routing: FakeRouting): { r: ReturnType<ReturnType<typeof resolver>>, validator: RecordValidator } {
      const validator = new RecordValidator(h.anchors, { now: () => NOW })
      const r = resolver({ directTimeoutMs: 50, timeoutMs: 500, dhtDelayMs: 5 })({
        validator,
        routing,
        revocations: {
          learn: async (bytes) => {
            const verified = verifyRevocationAnnouncement(bytes, validator.chains, NOW)
            validator.revocations.add(verified.revocation, verified.certificate)
            return verified
          }
        },
        local: { get: async () => undefined },
        now: () => NOW,
        logger: defaultLogger()
      })
      return { r, validator }
    }

    it('the parent answering with the revocation ends the lookup with RevokedError, honoured from then on at every door', async () => {
      const routing = new FakeRouting()
      routing.peers.set('country-peer', { revoked: announcement })
      routing.dht = [{ value: v2.bytes, from: 'stale-copy' }]
      const { r, validator } = withLearner(routing)
      r.offer(countryRecord.bytes)
      await assert.rejects(r.resolve('MA.156.1301'), (err: Error & { details: Record<string, unknown> }) =>
        err.name === 'RevokedError' && err.details.namespace === 'MA.156.1301' && err.details.from === 'country-peer' && /key compromised/.test(err.message))
      assert.ok(validator.revocations.revoked(h.cityCert.hash, NOW) !== undefined, 'honoured from the answer, without gossip')
      assert.throws(() => validator.validate(v2.bytes), { name: 'RevokedError' }, 'so a copy from anywhere is refused too')
    })

    it('a revoked answer drops the cached record it revokes', async () => {
      const routing = new FakeRouting()
      routing.peers.set('country-peer', v1.bytes)
      const { r } = withLearner(routing)
      r.offer(countryRecord.bytes)
      assert.equal((await r.resolve('MA.156.1301')).verified.record.body.seq, 1)
      routing.peers.set('country-peer', { revoked: announcement })
      await assert.rejects(r.resolve('MA.156.1301', { fresh: true }), { name: 'RevokedError' })
      assert.equal(r.cachedStale('MA.156.1301'), undefined)
    })

    it('a forged revocation, or one of another code, is the answering peer\'s failure: the record from the next source wins', async () => {
      const forged = Uint8Array.from(announcement)
      forged[forged.length - 3] = (forged[forged.length - 3] as number) ^ 1
      const other = hierarchy({ city: 'MA.156.1302' })
      const otherAnnouncement = encodeRevocationAnnouncement({ revocation: revoke(other.cityCert, other.country, 'x', NOW - 1).bytes, certificate: other.cityCert.bytes, chain: [other.countryCert.bytes] })
      for (const lie of [forged, otherAnnouncement]) {
        const routing = new FakeRouting()
        routing.peers.set('country-peer', { revoked: lie })
        routing.dht = [{ value: v1.bytes, from: 'honest' }]
        const { r } = withLearner(routing)
        r.offer(countryRecord.bytes)
        const found = await r.resolve('MA.156.1301')
        assert.equal(found.source, 'dht')
        assert.equal(found.verified.record.body.seq, 1)
      }
    })

    it('without a way to check revocations, a revoked answer is not believed', async () => {
      const routing = new FakeRouting()
      routing.peers.set('country-peer', { revoked: announcement })
      routing.dht = [{ value: v1.bytes, from: 'honest' }]
      const r = make(routing, { dhtDelayMs: 5 })
      r.offer(countryRecord.bytes)
      assert.equal((await r.resolve('MA.156.1301')).source, 'dht')
    })
  })

  it('a sub-code with only its country cached: its city is resolved first, and the city\'s node is asked, not the country', async () => {
    const routing = new FakeRouting()
    const city = createRecord({ code: 'MA.156.1301', seq: 1, issuedAt: NOW - 1000, expiresAt: NOW + DAY_MS, ttl: 300_000, values: [{ type: 'peer', id: 'city-peer' }] }, h.city, h.chain).bytes
    routing.peers.set('country-peer', city)
    routing.peers.set('city-peer', null)
    const r = make(routing, { timeoutMs: 1_000, hedgeDelayMs: 10, dhtDelayMs: 0 })
    r.offer(countryRecord.bytes)
    await assert.rejects(r.resolve('MA.156.1301.05'), { name: 'NotFoundError' })
    assert.deepEqual(routing.asked.slice(0, 2), ['country-peer:MA.156.1301', 'city-peer:MA.156.1301.05'])
  })

  it('stapled statements go to the status store with the chain of the record once it verified, never with a record that did not', async () => {
    const offered: Array<{ count: number, namespace: string }> = []
    const statuses = { forIssuers: () => [], fetch: async () => {}, offer: (statements: readonly Uint8Array[], vouch: { namespace: string }) => { offered.push({ count: statements.length, namespace: vouch.namespace }) } }
    const routing = new FakeRouting()
    const staple = [signRevocationStatus({ namespace: 'MA.156', issuedAt: NOW, revoked: [] }, h.country).bytes]
    const forged = Uint8Array.from(v1.bytes)
    forged[forged.length - 70] = (forged[forged.length - 70] as number) ^ 1
    routing.peers.set('liar', { record: forged, statuses: staple })
    routing.peers.set('country-peer', { record: v1.bytes, statuses: staple })
    const r = resolver({ directTimeoutMs: 50, timeoutMs: 500, hedgeDelayMs: 10, authorities: [{ namespace: 'MA.156', peer: { id: 'liar', addrs: [] } }, { namespace: 'MA.156', peer: { id: 'country-peer', addrs: [] } }] })({
      validator: new RecordValidator(h.anchors, { now: () => NOW }), routing, statuses, local: { get: async () => undefined }, now: () => NOW, logger: defaultLogger()
    })
    await r.resolve('MA.156.1301')
    assert.deepEqual(routing.asked.sort(), ['country-peer:MA.156.1301', 'liar:MA.156.1301'])
    assert.deepEqual(offered, [{ count: 1, namespace: 'MA.156.1301' }], 'once, with the verified chain of the honest answer')
  })

  describe('revocation status required (SPEC 4.6)', () => {
    function withStatuses (routing: FakeRouting, statuses: { held: RevocationStatus[], onFetch?: (issuer: string) => RevocationStatus[] }): { r: ReturnType<ReturnType<typeof resolver>>, fetched: string[] } {
      const fetched: string[] = []
      const r = resolver({ directTimeoutMs: 50, timeoutMs: 500, revocationStatusMaxAgeMs: 60_000 })({
        validator: new RecordValidator(h.anchors, { now: () => NOW }),
        routing,
        statuses: {
          forIssuers: (namespaces) => statuses.held.filter(s => namespaces.includes(s.namespace)),
          offer: () => {},
          fetch: async (issuer) => {
            fetched.push(issuer)
            statuses.held.push(...(statuses.onFetch?.(issuer) ?? []))
          }
        },
        local: { get: async () => undefined },
        now: () => NOW,
        logger: defaultLogger()
      })
      return { r, fetched }
    }
    const rootStatus = (at: number): RevocationStatus => signRevocationStatus({ namespace: 'MA', issuedAt: at, revoked: [] }, h.root)
    const countryStatus = (at: number, revoked: Uint8Array[] = []): RevocationStatus => signRevocationStatus({ namespace: 'MA.156', issuedAt: at, revoked }, h.country)

    it('held statements within the bound: answered with no fetch', async () => {
      const routing = new FakeRouting()
      routing.peers.set('country-peer', v1.bytes)
      const { r, fetched } = withStatuses(routing, { held: [rootStatus(NOW - 1000), countryStatus(NOW - 1000)] })
      r.offer(countryRecord.bytes)
      assert.equal((await r.resolve('MA.156.1301')).verified.record.body.seq, 1)
      assert.deepEqual(fetched, [])
    })

    it('a stale statement is fetched again from its issuer, and the fresh one decides', async () => {
      const routing = new FakeRouting()
      routing.peers.set('country-peer', v1.bytes)
      const { r, fetched } = withStatuses(routing, { held: [rootStatus(NOW - 1000), countryStatus(NOW - 120_000)], onFetch: (issuer) => issuer === 'MA.156' ? [countryStatus(NOW - 10)] : [] })
      r.offer(countryRecord.bytes)
      assert.equal((await r.resolve('MA.156.1301')).verified.record.body.seq, 1)
      assert.deepEqual(fetched, ['MA.156'], 'only the issuer whose statement was stale')
    })

    it('the issuer lists the certificate: RevokedError, although no revocation was gossiped or answered', async () => {
      const routing = new FakeRouting()
      routing.peers.set('country-peer', v1.bytes)
      const { r } = withStatuses(routing, { held: [rootStatus(NOW - 1000), countryStatus(NOW - 1000, [h.cityCert.hash])] })
      r.offer(countryRecord.bytes)
      await assert.rejects(r.resolve('MA.156.1301'), { name: 'RevokedError' })
    })

    it('no fresh statement to be had: refused with StaleRevocationStatusError, not taken', async () => {
      const routing = new FakeRouting()
      routing.peers.set('country-peer', v1.bytes)
      const { r, fetched } = withStatuses(routing, { held: [rootStatus(NOW - 1000)] })
      r.offer(countryRecord.bytes)
      await assert.rejects(r.resolve('MA.156.1301'), (err: Error & { details: Record<string, unknown> }) => err.name === 'StaleRevocationStatusError' && err.details.issuer === 'MA.156')
      assert.deepEqual(fetched, ['MA.156'])
      assert.equal(r.cachedStale('MA.156.1301'), undefined, 'an answer that failed the check is not cached')
    })
  })

  describe('lying peers (issue #16 section 7)', () => {
    const held = (seq: number): Uint8Array => createRecord({ code: 'MA.156.1301', seq, issuedAt: NOW - 1000, expiresAt: NOW + DAY_MS, ttl: 300_000, values: [{ type: 'name', lang: 'en', value: 'Shijiazhuang' }, { type: 'peer', id: 'holder' }] }, h.city, h.chain).bytes
    const opts = { timeoutMs: 5_000, directTimeoutMs: 2_000, hedgeDelayMs: 30, dhtDelayMs: 5_000 }

    /** A resolver that verified seq 2 (from the country's copy) and so knows `holder`, not connected yet. */
    const knowing = async (routing: FakeRouting, failures: string[]): Promise<ReturnType<ReturnType<typeof resolver>>> => {
      routing.peers.set('country-peer', held(2))
      const r = make(routing, opts, undefined, failures)
      r.offer(countryRecord.bytes)
      assert.equal((await r.resolve('MA.156.1301')).verified.record.body.seq, 2)
      routing.asked = []
      return r
    }

    it('an older seq than the one verified is the peer\'s failure (StaleAnswerError): the next source answers; with nothing newer anywhere, the verified record stands', async () => {
      const routing = new FakeRouting()
      const failures: string[] = []
      const r = await knowing(routing, failures)
      routing.peers.set('holder', held(1))
      const res = await r.resolve('MA.156.1301', { fresh: true })
      assert.equal(res.verified.record.body.seq, 2)
      assert.equal(res.from, 'country-peer')
      assert.deepEqual(failures, ['holder:StaleAnswerError'])
      routing.peers.delete('country-peer')
      routing.dht = [{ value: held(1), from: 'stale-copy' }]
      const alone = await make(routing, { ...opts, dhtDelayMs: 0 }).resolve('MA.156.1301')
      assert.equal(alone.verified.record.body.seq, 1, 'a resolver that verified nothing newer takes what there is')
      const kept = await r.resolve('MA.156.1301', { fresh: true })
      assert.equal(kept.verified.record.body.seq, 2, 'only seq 1 on offer: the verified seq 2 stands')
      assert.equal(kept.source, 'cache')
    })

    it('a proof of absence of a code whose record is verified is the peer\'s failure (StaleAnswerError), not a proven not-found', async () => {
      const routing = new FakeRouting()
      const failures: string[] = []
      const r = await knowing(routing, failures)
      const tree = new AllocationSetTree('MA.156', ['MA.156.1303'])
      routing.peers.set('holder', { absence: tree.proveAbsence(tree.sign(h.country, [h.countryCert.bytes], NOW, 60_000), 'MA.156.1301').bytes })
      const res = await r.resolve('MA.156.1301', { fresh: true })
      assert.equal(res.verified.record.body.seq, 2)
      assert.deepEqual(failures, ['holder:StaleAnswerError'])
      assert.equal(r.cachedAbsence('MA.156.1301'), undefined)
    })

    it('a peer still silent when one asked after it answered counts as failed (SlowPeerError): asked last, and not asked to confirm a copy', async () => {
      const routing = new FakeRouting()
      const failures: string[] = []
      const r = await knowing(routing, failures)
      routing.peers.set('holder', 'hang')
      routing.connections.add('holder')
      for (let i = 0; i < 3; i++) assert.equal((await r.resolve('MA.156.1301', { fresh: true })).from, 'country-peer')
      assert.deepEqual(routing.asked, ['holder:MA.156.1301', 'country-peer:MA.156.1301', 'country-peer:MA.156.1301', 'country-peer:MA.156.1301'])
      assert.deepEqual(failures, ['holder:SlowPeerError'])
    })

    it('a holder that failed out of reach is asked to confirm a copy once a connection to it is open again', async () => {
      const routing = new FakeRouting()
      const failures: string[] = []
      const r = await knowing(routing, failures)
      // unreachable: no answer set, no connection
      assert.equal((await r.resolve('MA.156.1301', { fresh: true })).from, 'country-peer')
      assert.deepEqual(routing.asked, ['holder:MA.156.1301', 'country-peer:MA.156.1301'])
      routing.peers.set('holder', held(3))
      routing.connections.add('holder')
      const res = await r.resolve('MA.156.1301', { fresh: true })
      assert.equal(res.verified.record.body.seq, 3, 'back and connected: its newer version wins over the copy')
      assert.equal(res.from, 'holder')
    })
  })
})
