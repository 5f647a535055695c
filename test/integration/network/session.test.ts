import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { createCitycodeLibp2p } from '../../../src/network/node/index.ts'
import type { CitycodeLibp2p } from '../../../src/network/node/index.ts'
import { LinkNetwork } from '../../../src/network/link-model/link-network.ts'
import { linkTransport } from '../../../src/network/link-model/transport.ts'
import { handleRequests, sendRequest } from '../../../src/network/rpc/index.ts'
import { decodeSessionFrame, encodeSessionFrame, handleSessions, SessionPool } from '../../../src/network/rpc/session.ts'
import { installVirtualClock } from '../../../src/interfaces/simulator/virtual-clock.ts'
import { emptyCost } from '../../../src/network/message-cost.ts'

const SESSION = '/test/session/1.1.0'
const ONE_SHOT = '/test/session/1.0.0'
let run = 0

async function node (net: LinkNetwork, name: string): Promise<CitycodeLibp2p> {
  return await createCitycodeLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    transport: 'memory',
    listen: [`/memory/${name}-${process.pid}-${run++}`],
    customTransport: linkTransport(net, name) as never,
    validateRecord: async () => {},
    selectRecord: () => 0
  })
}

/** Streams of `protocol` open on `a`'s connections. */
function streamsOf (a: CitycodeLibp2p, protocol: string): Stream[] {
  return a.getConnections().flatMap(c => c.streams).filter(s => s.protocol === protocol)
}

const until = async (ok: () => boolean, ms = 5_000): Promise<void> => {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

describe('resolve sessions (rpc/session)', function () {
  this.timeout(60_000)
  const started: CitycodeLibp2p[] = []
  const pools: SessionPool[] = []
  afterEach(async () => {
    for (const p of pools.splice(0)) p.stop()
    await Promise.allSettled(started.splice(0).map(async n => { await n.stop() }))
  })

  async function pair (latencyMs = 1): Promise<{ a: CitycodeLibp2p, b: CitycodeLibp2p }> {
    const net = new LinkNetwork({ latencyMs: () => latencyMs })
    const a = await node(net, 'sa')
    const b = await node(net, 'sb')
    started.push(a, b)
    await a.dial(b.getMultiaddrs()[0] as never)
    return { a, b }
  }

  function pool (a: CitycodeLibp2p, eager = false, fallback: string | undefined = ONE_SHOT): SessionPool {
    const p = new SessionPool(a, { protocol: SESSION, ...(fallback !== undefined ? { fallback } : {}), maxRequestBytes: 1024, maxResponseBytes: 4096, eager: () => eager })
    p.start()
    pools.push(p)
    return p
  }

  it('on the virtual clock: a question on an eagerly opened session costs 1 RTT, a one-request stream 2 RTT', async () => {
    const clock = installVirtualClock({ startAt: 0, maxSimulatedMs: 120_000 })
    try {
      const timings = await clock.drive(async () => {
        const { a, b } = await pair(50)
        await handleSessions(b, SESSION, async (request) => request, { maxRequestBytes: 1024 })
        await handleRequests(b, ONE_SHOT, async (request) => request)
        const p = pool(a, true)
        // identify ran on the dial: the session opens without any question
        p.open(b.peerId)
        await until(() => streamsOf(a, SESSION).length === 1)
        await new Promise(resolve => setTimeout(resolve, 500))
        const t0 = performance.now()
        const answer = await p.request(b.peerId, Uint8Array.of(1, 2, 3))
        const session = performance.now() - t0
        const t1 = performance.now()
        await sendRequest(a, b.peerId, ONE_SHOT, Uint8Array.of(1, 2, 3))
        const oneShot = performance.now() - t1
        const t2 = performance.now()
        await Promise.all(Array.from({ length: 10 }, async (_, i) => await p.request(b.peerId, Uint8Array.of(i))))
        const ten = performance.now() - t2
        assert.deepEqual([...answer], [1, 2, 3])
        const streams = streamsOf(a, SESSION).length
        // stopped on the clock they were started on
        for (const q of pools.splice(0)) q.stop()
        await Promise.all(started.splice(0).map(async n => { await n.stop() }))
        return { session, oneShot, ten, streams }
      })
      // 50 ms links: 100 ms per round trip, plus the handshake-free jitter of zero
      assert.ok(timings.session >= 100 && timings.session < 110, `session question ${timings.session} ms, expected 1 RTT = 100 ms`)
      assert.ok(timings.oneShot >= 200 && timings.oneShot < 220, `one-request stream ${timings.oneShot} ms, expected 2 RTT = 200 ms`)
      assert.ok(timings.ten < 110, `10 concurrent questions on one session: ${timings.ten} ms`)
      assert.equal(timings.streams, 1, 'every question shared one stream')
    } finally {
      clock.uninstall()
    }
  })

  it('answers in any order reach their own questions; the cost counts one peer and both frames per question', async () => {
    const { a, b } = await pair()
    // the first question is answered last
    await handleSessions(b, SESSION, async (request) => {
      await new Promise(resolve => setTimeout(resolve, (request[0] as number) === 0 ? 200 : 5))
      return Uint8Array.of((request[0] as number) * 2)
    }, { maxRequestBytes: 1024 })
    const p = pool(a)
    const cost = emptyCost()
    const order: number[] = []
    const answers = await Promise.all([0, 1, 2, 3].map(async i => {
      const r = await p.request(b.peerId, Uint8Array.of(i), { cost })
      order.push(i)
      return r[0]
    }))
    assert.deepEqual(answers, [0, 2, 4, 6])
    assert.equal(order[3], 0, 'the slow first question did not hold the others back')
    assert.equal(cost.peersAsked, 4)
    assert.equal(cost.messages, 8)
    assert.equal(streamsOf(a, SESSION).length, 1)
  })

  it('a peer that speaks only the one-request protocol is asked on it, in the same negotiation', async () => {
    const { a, b } = await pair()
    let asked = 0
    await handleRequests(b, ONE_SHOT, async (request) => { asked++; return request })
    const p = pool(a)
    for (let i = 0; i < 3; i++) assert.deepEqual([...await p.request(b.peerId, Uint8Array.of(i))], [i])
    assert.equal(asked, 3)
    assert.equal(streamsOf(b, SESSION).length, 0)
  })

  it('a handler that throws fails its own question only (ProtocolError); the session serves the next', async () => {
    const { a, b } = await pair()
    await handleSessions(b, SESSION, async (request) => {
      if (request[0] === 0) throw new Error('boom')
      return request
    }, { maxRequestBytes: 1024 })
    const p = pool(a)
    await assert.rejects(p.request(b.peerId, Uint8Array.of(0)), { name: 'ProtocolError' })
    assert.deepEqual([...await p.request(b.peerId, Uint8Array.of(7))], [7])
    assert.equal(streamsOf(a, SESSION).length, 1)
  })

  it('a question given up (its deadline) leaves the session open; the late answer is dropped', async () => {
    const { a, b } = await pair()
    await handleSessions(b, SESSION, async (request) => {
      if (request[0] === 0) await new Promise(resolve => setTimeout(resolve, 300))
      return request
    }, { maxRequestBytes: 1024 })
    const p = pool(a)
    await assert.rejects(p.request(b.peerId, Uint8Array.of(0), { timeoutMs: 50 }), { name: 'RequestTimeoutError' })
    await new Promise(resolve => setTimeout(resolve, 400))
    assert.deepEqual([...await p.request(b.peerId, Uint8Array.of(5))], [5])
    assert.equal(streamsOf(a, SESSION).length, 1, 'the same session')
  })

  it('the responder reads at most maxInFlight questions of one session at a time', async () => {
    const { a, b } = await pair()
    let running = 0
    let most = 0
    await handleSessions(b, SESSION, async (request) => {
      running++
      most = Math.max(most, running)
      await new Promise(resolve => setTimeout(resolve, 50))
      running--
      return request
    }, { maxRequestBytes: 1024, maxInFlight: 4 })
    const p = pool(a)
    const answers = await Promise.all(Array.from({ length: 12 }, async (_, i) => (await p.request(b.peerId, Uint8Array.of(i)))[0]))
    assert.deepEqual(answers, Array.from({ length: 12 }, (_, i) => i))
    assert.equal(most, 4)
  })

  describe('a stock peer breaking the session framing', () => {
    /** Opens a raw session stream from `a` (stock libp2p, no pool) and returns its framing. */
    async function raw (a: CitycodeLibp2p, b: CitycodeLibp2p): Promise<{ stream: Stream, lp: ReturnType<typeof lpStream> }> {
      const stream = await a.dialProtocol(b.peerId, SESSION)
      return { stream, lp: lpStream(stream) }
    }

    it('a reused id still in flight, or a frame that is no request, aborts that session only', async () => {
      const { a, b } = await pair()
      await handleSessions(b, SESSION, async (request) => {
        await new Promise(resolve => setTimeout(resolve, 100))
        return request
      }, { maxRequestBytes: 1024 })
      for (const second of [encodeSessionFrame({ id: 1, body: Uint8Array.of(2) }), encodeSessionFrame({ id: 2, failed: true }), Uint8Array.of(0xff, 0x00, 0x13)]) {
        const { stream, lp } = await raw(a, b)
        await lp.write(encodeSessionFrame({ id: 1, body: Uint8Array.of(1) }))
        await lp.write(second)
        await until(() => stream.status !== 'open')
        assert.notEqual(stream.status, 'open', 'the session was aborted')
      }
      // the node still serves others
      const p = pool(a)
      assert.deepEqual([...await p.request(b.peerId, Uint8Array.of(9))], [9])
    })

    it('an answer to a question never asked ends the asker\'s session: its open questions fail, the next opens a new one', async () => {
      const { a, b } = await pair()
      let sessions = 0
      await b.handle(SESSION, async (stream) => {
        sessions++
        const lp = lpStream(stream)
        const first = decodeSessionFrame((await lp.read()).subarray(), 1024, 'test')
        if (sessions === 1) {
          await lp.write(encodeSessionFrame({ id: 4242, body: Uint8Array.of(1) }))
          return
        }
        await lp.write(encodeSessionFrame({ id: first.id, body: Uint8Array.of(8) }))
      })
      const p = pool(a, false, undefined)
      await assert.rejects(p.request(b.peerId, Uint8Array.of(1)), { name: 'ProtocolError' })
      assert.deepEqual([...await p.request(b.peerId, Uint8Array.of(1))], [8])
      assert.equal(sessions, 2)
    })

    it('an answer over the size limit is ResponseTooLargeError, refused on its length prefix', async () => {
      const { a, b } = await pair()
      await handleSessions(b, SESSION, async () => new Uint8Array(64 * 1024), { maxRequestBytes: 1024 })
      const p = pool(a)
      await assert.rejects(p.request(b.peerId, Uint8Array.of(1)), { name: 'ResponseTooLargeError' })
    })
  })
})
