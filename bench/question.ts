/**
 * One resolve question against the floor of one request/response on an open connection (issue 21).
 * Two nodes with noise on 25 ms one-way links (RTT 50 ms), the connection open, a 40-byte question
 * and a 1.3 KB answer (a city record with stapled statuses). Same run, same nodes:
 * - floor: a message written on a stream already negotiated and its answer read back (1 RTT);
 * - session: a question on a resolve session (`rpc/session.ts`), as the resolver asks now;
 * - one-request stream: a new stream per question (multistream-select, then the request), as it
 *   asked before sessions.
 * On the virtual clock (the protocol's figure: CPU costs no simulated time) and on the real clock
 * (the protocol plus this machine's CPU for noise, yamux and framing).
 */
import { lpStream } from '@libp2p/utils'
import { handleRequests, sendRequest } from '../src/network/rpc/index.ts'
import { handleSessions, SessionPool } from '../src/network/rpc/session.ts'
import { installVirtualClock } from '../src/interfaces/simulator/virtual-clock.ts'
import { median, writeResults } from './harness.ts'
import { connectedPair } from './two-nodes.ts'

const LATENCY_MS = 25
const ROUNDS = 15
const QUESTION = new Uint8Array(40)
const ANSWER = new Uint8Array(1300)
const FLOOR = '/bench/floor/1.0.0'
const ONE_SHOT = '/bench/question/1.0.0'
const SESSION = '/bench/question/1.1.0'
async function measure (): Promise<Record<string, number>> {
  const { a, b } = await connectedPair(LATENCY_MS)
  // the floor: one stream negotiated once, then only message and answer cross
  await b.handle(FLOOR, async (stream) => {
    const lp = lpStream(stream)
    while (true) {
      try {
        await lp.read()
      } catch {
        return
      }
      await lp.write(ANSWER)
    }
  })
  await handleRequests(b, ONE_SHOT, async () => ANSWER)
  await handleSessions(b, SESSION, async () => ANSWER, { maxRequestBytes: 256 })
  const floorStream = lpStream(await a.dialProtocol(b.peerId, FLOOR))
  const sessions = new SessionPool(a, { protocol: SESSION, maxRequestBytes: 256, maxResponseBytes: 4096 })
  sessions.start()
  sessions.open(b.peerId)
  // warm every path once: the session is open, the one-request protocol known to the peer store
  await sendRequest(a, b.peerId, ONE_SHOT, QUESTION)
  await sessions.request(b.peerId, QUESTION)
  const samples: Record<string, number[]> = { floor: [], session: [], oneRequestStream: [] }
  const time = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
    const t = performance.now()
    await fn()
    samples[name]?.push(performance.now() - t)
  }
  for (let r = 0; r < ROUNDS; r++) {
    await time('floor', async () => { await floorStream.write(QUESTION); await floorStream.read() })
    await time('session', async () => await sessions.request(b.peerId, QUESTION))
    await time('oneRequestStream', async () => await sendRequest(a, b.peerId, ONE_SHOT, QUESTION))
  }
  sessions.stop()
  await Promise.all([a.stop(), b.stop()])
  const floor = median(samples.floor as number[])
  const session = median(samples.session as number[])
  const oneShot = median(samples.oneRequestStream as number[])
  return {
    floorMs: Number(floor.toFixed(2)),
    sessionMs: Number(session.toFixed(2)),
    oneRequestStreamMs: Number(oneShot.toFixed(2)),
    sessionVsFloor: Number((session / floor).toFixed(3)),
    oneRequestStreamVsFloor: Number((oneShot / floor).toFixed(3))
  }
}

const real = await measure()
const clock = installVirtualClock({ startAt: Date.UTC(2026, 0, 1), maxSimulatedMs: 600_000 })
let virtual: Record<string, number>
try {
  virtual = await clock.drive(measure)
} finally {
  clock.uninstall()
}
for (const [name, f] of [['virtual clock', virtual], ['real clock', real]] as const) {
  console.log(`question: ${name}, ${LATENCY_MS} ms links (RTT ${2 * LATENCY_MS} ms), median of ${ROUNDS}: floor ${f.floorMs} ms, session ${f.sessionMs} ms (${f.sessionVsFloor}x floor), one-request stream ${f.oneRequestStreamMs} ms (${f.oneRequestStreamVsFloor}x floor)`)
}
console.log(`  wrote ${writeResults('question', { latencyMs: LATENCY_MS, rttMs: 2 * LATENCY_MS, rounds: ROUNDS, virtual, real })}`)
