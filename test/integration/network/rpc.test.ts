import assert from 'node:assert/strict'
import type { PeerId, Stream, StreamCloseEvent } from '@libp2p/interface'
import { ProtocolError, RequestTimeoutError, ResponseTooLargeError } from '../../../src/network/errors.ts'
import type { CitycodeLibp2p } from '../../../src/network/node/index.ts'
import { handleRequests, sendRequest } from '../../../src/network/rpc/index.ts'
import { emptyCost, framedBytes } from '../../../src/network/message-cost.ts'
import { startNetwork, stopNetwork, waitUntil } from '../../utils/network.ts'
import type { TestNetwork } from '../../utils/network.ts'
import * as varint from 'uint8-varint'

const ECHO = '/citycode/test-echo/1.0.0'
const SILENT = '/citycode/test-silent/1.0.0'
const BIG = '/citycode/test-big/1.0.0'
const MAX_REQUEST_BYTES = 1024
const SILENT_SERVER_TIMEOUT_MS = 1_500

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Resolves with the error (if any) the stream closed with, or 'open' after `ms`. */
async function closedWithin (stream: Stream, ms: number): Promise<Error | undefined | 'open'> {
  if (stream.status !== 'open') return undefined
  return await new Promise(resolve => {
    const timer = setTimeout(() => { resolve('open') }, ms)
    stream.addEventListener('close', (evt) => { clearTimeout(timer); resolve((evt as StreamCloseEvent).error) }, { once: true })
  })
}

describe('request/response over stream protocols (memory)', function () {
  this.timeout(30_000)
  let net: TestNetwork
  let client: CitycodeLibp2p
  let server: CitycodeLibp2p
  let handled = 0
  let lastPeer: PeerId | undefined
  const silentSignals: AbortSignal[] = []

  before(async () => {
    net = await startNetwork(2)
    ;[client, server] = net.nodes as [CitycodeLibp2p, CitycodeLibp2p]
    await handleRequests(server, ECHO, async (request, peer) => {
      handled++
      lastPeer = peer
      const text = decoder.decode(request)
      if (text === 'boom') throw new Error('handler failure')
      return encoder.encode(`echo:${text}`)
    }, { maxRequestBytes: MAX_REQUEST_BYTES })
    // never answers by itself; gives up when the server's own deadline aborts its signal
    await handleRequests(server, SILENT, async (_request, _peer, { signal }) => {
      silentSignals.push(signal as AbortSignal)
      return await new Promise<Uint8Array>((_resolve, reject) => { signal?.addEventListener('abort', () => { reject(signal.reason) }) })
    }, { timeoutMs: SILENT_SERVER_TIMEOUT_MS })
    await handleRequests(server, BIG, async () => new Uint8Array(4096))
  })

  after(async () => { await stopNetwork(net) })

  const echo = async (text: string): Promise<string> => decoder.decode(await sendRequest(client, server.peerId, ECHO, encoder.encode(text)))

  it('answers one request per stream, by peer id or by multiaddr', async () => {
    assert.equal(await echo('hello'), 'echo:hello')
    assert.ok(lastPeer?.equals(client.peerId), 'the handler learns who asked')
    const byAddr = await sendRequest(client, server.getMultiaddrs()[0]!, ECHO, encoder.encode('by addr'))
    assert.equal(decoder.decode(byAddr), 'echo:by addr')
    const many = await Promise.all(Array.from({ length: 20 }, async (_v, i) => await echo(`n${i}`)))
    assert.deepEqual(many, Array.from({ length: 20 }, (_v, i) => `echo:n${i}`))
  })

  it('a handler error resets that stream only; the server carries on', async () => {
    await assert.rejects(echo('boom'), (err: Error) => err instanceof ProtocolError && err.name === 'ProtocolError' && (err as ProtocolError).code === 'ERR_PROTOCOL')
    assert.equal(server.status, 'started')
    assert.equal(await echo('after boom'), 'echo:after boom')
  })

  it('refuses a request over the size limit without calling the handler', async () => {
    const before = handled
    await assert.rejects(sendRequest(client, server.peerId, ECHO, new Uint8Array(MAX_REQUEST_BYTES + 1)), { name: 'ProtocolError' })
    assert.equal(handled, before)
    assert.equal(await echo('still fine'), 'echo:still fine')
  })

  it('refuses a huge length prefix at once, and survives garbage framing', async () => {
    const before = handled
    // announces a 1 TiB request: refused on the prefix, nothing allocated, no body awaited
    const huge = await client.dialProtocol(server.peerId, ECHO)
    huge.send(varint.encode(2 ** 40))
    const hugeClose = await closedWithin(huge, 2_000)
    assert.notEqual(hugeClose, 'open', 'the server reset the stream without waiting for the body')
    // a varint that never ends
    const garbage = await client.dialProtocol(server.peerId, ECHO)
    garbage.send(new Uint8Array(32).fill(0xff))
    assert.notEqual(await closedWithin(garbage, 2_000), 'open')
    assert.equal(handled, before)
    assert.equal(await echo('after garbage'), 'echo:after garbage')
  })

  it('refuses a response over the caller\'s limit', async () => {
    await assert.rejects(sendRequest(client, server.peerId, BIG, new Uint8Array(1), { maxResponseBytes: 1000 }), (err: Error) => err instanceof ResponseTooLargeError && (err as ResponseTooLargeError).code === 'ERR_RESPONSE_TOO_LARGE')
    assert.equal((await sendRequest(client, server.peerId, BIG, new Uint8Array(1), { maxResponseBytes: 8192 })).length, 4096)
  })

  it('a handler that never answers fails with RequestTimeoutError when the deadline or the caller\'s timeout fires', async () => {
    let t0 = performance.now()
    await assert.rejects(sendRequest(client, server.peerId, SILENT, encoder.encode('?'), { timeoutMs: 300 }), (err: Error) => err instanceof RequestTimeoutError && (err as RequestTimeoutError).code === 'ERR_REQUEST_TIMEOUT')
    const deadlineMs = performance.now() - t0
    assert.ok(deadlineMs >= 280 && deadlineMs < 1_000, `failed after ${deadlineMs.toFixed(0)} ms`)

    t0 = performance.now()
    await assert.rejects(sendRequest(client, server.peerId, SILENT, encoder.encode('?'), { signal: AbortSignal.timeout(300) }), RequestTimeoutError)
    assert.ok(performance.now() - t0 < 1_000)

    // an abort that is not a timeout surfaces as the caller's own reason
    const controller = new AbortController()
    setTimeout(() => { controller.abort() }, 100)
    await assert.rejects(sendRequest(client, server.peerId, SILENT, encoder.encode('?'), { signal: controller.signal }), { name: 'AbortError' })

    // the server tells the stuck handler to give up as soon as the asker resets the stream
    assert.ok(await waitUntil(() => silentSignals.length === 3 && silentSignals.every(s => s.aborted), 500), 'handler signals aborted when the asker gave up')
  })

  it('the server\'s own deadline stops a stuck handler and resets the stream', async () => {
    const t0 = performance.now()
    await assert.rejects(sendRequest(client, server.peerId, SILENT, encoder.encode('?'), { timeoutMs: 5_000 }), ProtocolError)
    const ms = performance.now() - t0
    assert.ok(ms >= SILENT_SERVER_TIMEOUT_MS - 50 && ms < SILENT_SERVER_TIMEOUT_MS + 1_000, `reset after ${ms.toFixed(0)} ms`)
    assert.ok(silentSignals.at(-1)?.aborted)
  })

  it('adds each exchange to a cost: the request once written, the response once read', async () => {
    const cost = emptyCost()
    await sendRequest(client, server.peerId, ECHO, encoder.encode('hello'), { cost })
    assert.deepEqual(cost, { peersAsked: 1, messages: 2, bytes: framedBytes(5) + framedBytes('echo:hello'.length) })
    await assert.rejects(sendRequest(client, server.peerId, SILENT, encoder.encode('?'), { timeoutMs: 300, cost }), RequestTimeoutError)
    assert.deepEqual(cost, { peersAsked: 2, messages: 3, bytes: framedBytes(5) + framedBytes('echo:hello'.length) + framedBytes(1) }, 'unanswered: its request only')
    await assert.rejects(sendRequest(client, server.peerId, '/citycode/nobody-home/1.0.0', new Uint8Array(1), { timeoutMs: 5_000, cost }))
    assert.equal(cost.peersAsked, 3)
    assert.equal(cost.messages, 3, 'a request never written is no message')
  })

  it('an unknown protocol fails fast with libp2p\'s UnsupportedProtocolError', async () => {
    await assert.rejects(sendRequest(client, server.peerId, '/citycode/nobody-home/1.0.0', new Uint8Array(1), { timeoutMs: 5_000 }), { name: 'UnsupportedProtocolError' })
  })
})
