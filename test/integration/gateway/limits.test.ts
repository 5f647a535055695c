import assert from 'node:assert/strict'
import { request } from 'node:http'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { gateway } from '../../../src/interfaces/gateway/index.ts'
import type { Gateway } from '../../../src/interfaces/gateway/index.ts'
import type { GatewayServer } from '../../../src/interfaces/gateway/server.ts'
import { eventually } from '../../utils/citycode-network.ts'
import { http, startGatewayNetwork } from '../../utils/gateway-network.ts'
import type { GatewayNetwork, HttpAnswer } from '../../utils/gateway-network.ts'

/**
 * The gateway against attackers that are raw TCP and HTTP clients (issue #16, section 5): floods of
 * connections that never read, slow headers, dripped bodies, many source addresses, and requests
 * fastify's router refuses itself. Source addresses are 127.0.0.2 upwards: loopback only.
 */

/** The n-th extra loopback source address (n = 0 is 127.0.0.2). */
const source = (n: number): string => `127.0.0.${2 + n}`

/** A raw client connection; `closed` settles when the server closed or destroyed it. */
interface RawClient { socket: Socket, received: () => string, closed: Promise<void>, isClosed: () => boolean }

async function rawClient (base: string, localAddress: string, options: { read?: boolean } = {}): Promise<RawClient> {
  const url = new URL(base)
  // half-open, so a server that only ends its side is seen to leave the connection open
  const socket = connect({ host: url.hostname, port: Number(url.port), localAddress, allowHalfOpen: true })
  let text = ''
  let closed = false
  if (options.read !== false) socket.on('data', (d: Buffer) => { text += d.toString() })
  else socket.pause()
  const done = new Promise<void>(resolve => {
    socket.once('close', () => { closed = true; resolve() })
    // the server ending its side is what a half-open client sees of a refusal
    socket.once('end', () => { closed = true; resolve() })
  })
  socket.on('error', () => { /* a refused connection resets; `closed` says so */ })
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2_000)
    socket.once('connect', () => { clearTimeout(timer); resolve() })
    socket.once('close', () => { clearTimeout(timer); resolve() })
  })
  return { socket, received: () => text, closed: done, isClosed: () => closed }
}

/** One GET from a given source address, with its own raw target (no normalisation). */
async function httpFrom (base: string, localAddress: string, path: string): Promise<HttpAnswer> {
  const url = new URL(base)
  return await new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, localAddress, method: 'GET', path, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        const text = body.toString('utf8')
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json: <T>() => JSON.parse(text) as T })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.on('timeout', () => { req.destroy(new Error(`no answer to ${path.slice(0, 60)}`)) })
    req.end()
  })
}

function counted (metrics: string, series: string, label: string): number {
  let sum = 0
  for (const line of metrics.split('\n')) {
    if (line.startsWith(`${series}{`) && line.includes(label)) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

async function openConnections (g: Gateway): Promise<number> {
  const server = (g as GatewayServer).server
  return await new Promise((resolve, reject) => { server.getConnections((err, n) => { if (err !== null) reject(err); else resolve(n) }) })
}

describe('gateway limits against raw attackers', function () {
  this.timeout(120_000)
  let g: GatewayNetwork
  const clients: RawClient[] = []

  before(async () => { g = await startGatewayNetwork(1, { rateLimit: false, globalRateLimit: false }) })
  afterEach(() => {
    for (const c of clients.splice(0)) c.socket.destroy()
  })
  after(async () => { await g?.stop() })

  it('the limits in force by default are the documented ones', () => {
    assert.deepEqual({ ...g.gateway.limits }, {
      maxConnections: 1024,
      maxConnectionsPerAddress: 64,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      idleTimeoutMs: 60_000,
      timeoutCheckIntervalMs: 1_000,
      maxHeadersCount: 64,
      maxHeaderBytes: 16 * 1024,
      bodyLimitBytes: 1024
    })
    const server = (g.gateway as GatewayServer).server
    assert.equal(server.maxConnections, 1024)
    assert.equal(server.headersTimeout, 10_000)
    assert.equal(server.requestTimeout, 30_000)
    assert.equal(server.keepAliveTimeout, 5_000)
    assert.equal(server.timeout, 60_000)
    assert.equal(server.maxHeadersCount, 64)
  })

  it('connections over the per-address cap are destroyed at once; other addresses are still served', async () => {
    const capped = await g.another({ rateLimit: false, globalRateLimit: false, connections: { maxConnectionsPerAddress: 10 } })
    for (let i = 0; i < 30; i++) clients.push(await rawClient(capped.url, source(0), { read: false }))
    // counted on the server: a client that never reads does not see its socket end
    assert.ok(await eventually(async () => await openConnections(capped) === 10, 5_000), `${await openConnections(capped)} of 30 open, 10 expected`)
    assert.equal((capped as GatewayServer).connections.get(source(0)), 10)
    const other = await httpFrom(capped.url, source(1), '/healthz')
    assert.equal(other.status, 200)
    const metrics = (await httpFrom(capped.url, '127.0.0.1', '/metrics')).text
    assert.equal(counted(metrics, 'citycode_http_connections_refused_total', 'reason="address"'), 20)
  })

  it('connections over the total cap are closed, from however many addresses', async () => {
    const capped = await g.another({ rateLimit: false, globalRateLimit: false, connections: { maxConnections: 20, maxConnectionsPerAddress: 1000 } })
    for (let a = 0; a < 4; a++) {
      for (let i = 0; i < 10; i++) clients.push(await rawClient(capped.url, source(a), { read: false }))
    }
    assert.ok(await eventually(async () => await openConnections(capped) === 20, 5_000), `${await openConnections(capped)} of 40 open, 20 expected`)
    const refused = counted(await (capped as GatewayServer).metrics.text(), 'citycode_http_connections_refused_total', 'reason="total"')
    assert.equal(refused, 20)
    for (const c of clients.splice(0)) c.socket.destroy()
    assert.ok(await eventually(async () => await openConnections(capped) === 0, 5_000))
    assert.equal((await http(capped.url, 'GET', '/healthz')).status, 200, 'served again once the flood is gone')
  })

  it('connections that never send nor read are destroyed at the header deadline, not left half-open', async () => {
    const quick = await g.another({ rateLimit: false, globalRateLimit: false, connections: { headersTimeoutMs: 300, requestTimeoutMs: 600, timeoutCheckIntervalMs: 100 } })
    for (let i = 0; i < 20; i++) clients.push(await rawClient(quick.url, source(i % 4), { read: false }))
    assert.equal(await openConnections(quick), 20)
    const started = Date.now()
    // the server side must be gone, not only ended: a half-open socket still holds a descriptor
    assert.ok(await eventually(async () => await openConnections(quick) === 0, 3_000), `${await openConnections(quick)} of 20 still open after 3 s`)
    assert.ok(Date.now() - started < 2_000)
  })

  it('slow headers (slowloris) get a 408 problem at the header deadline and the connection is destroyed', async () => {
    const quick = await g.another({ rateLimit: false, globalRateLimit: false, connections: { headersTimeoutMs: 500, requestTimeoutMs: 1_000, timeoutCheckIntervalMs: 100 } })
    const before = await (quick as GatewayServer).metrics.text()
    const c = await rawClient(quick.url, source(5))
    clients.push(c)
    const started = Date.now()
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n')
    // one header line every 100 ms, 40 at most: longer than the deadline, bounded in time
    for (let i = 0; i < 40 && !c.isClosed(); i++) {
      c.socket.write(`X-Drip-${i}: a\r\n`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    assert.ok(c.isClosed(), 'cut off')
    const took = Date.now() - started
    assert.ok(took >= 400 && took < 1_500, `cut off after ${took} ms`)
    assert.match(c.received(), /^HTTP\/1\.1 408 /)
    assert.match(c.received(), /application\/problem\+json/)
    assert.match(c.received(), /"type":"urn:citycode:problem:ClientTimeoutError"/)
    assert.ok(await eventually(async () => await openConnections(quick) === 0, 2_000))
    const after = await (quick as GatewayServer).metrics.text()
    assert.equal(counted(after, 'citycode_http_rejections_total', 'error="ClientTimeoutError"') - counted(before, 'citycode_http_rejections_total', 'error="ClientTimeoutError"'), 1)
  })

  it('a dripped body is cut off at the request deadline', async () => {
    const quick = await g.another({ rateLimit: false, globalRateLimit: false, connections: { headersTimeoutMs: 300, requestTimeoutMs: 800, timeoutCheckIntervalMs: 100 } })
    const c = await rawClient(quick.url, source(6))
    clients.push(c)
    const started = Date.now()
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n')
    for (let i = 0; i < 60 && !c.isClosed(); i++) {
      c.socket.write('a')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    const took = Date.now() - started
    assert.ok(c.isClosed() && took < 2_000, `still open after ${took} ms`)
    assert.ok(await eventually(async () => await openConnections(quick) === 0, 2_000))
  })
})

describe('gateway rate limit against many source addresses', function () {
  this.timeout(120_000)
  let g: GatewayNetwork

  before(async () => { g = await startGatewayNetwork(1, { rateLimit: { perSecond: 1, burst: 5 }, globalRateLimit: { perSecond: 1, burst: 50 } }) })
  after(async () => { await g?.stop() })

  it('the defaults are the documented ones', async () => {
    const { DEFAULT_GLOBAL_RATE_BURST, DEFAULT_GLOBAL_RATE_PER_SECOND, DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND } = await import('../../../src/interfaces/gateway/index.ts')
    assert.deepEqual([DEFAULT_RATE_PER_SECOND, DEFAULT_RATE_BURST, DEFAULT_GLOBAL_RATE_PER_SECOND, DEFAULT_GLOBAL_RATE_BURST], [50, 200, 200, 200])
  })

  it('5 requests from each of 40 addresses: the global budget holds where each address is within its own', async () => {
    const before = await (g.gateway as GatewayServer).metrics.text()
    const started = Date.now()
    const statuses: number[] = []
    const busy: HttpAnswer[] = []
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(Array.from({ length: 40 }, async (_, a) => await httpFrom(g.gateway.url, source(a), '/healthz')))
      for (const a of answers) {
        statuses.push(a.status)
        if (a.status === 503) busy.push(a)
      }
    }
    const seconds = (Date.now() - started) / 1000
    const passed = statuses.filter(s => s === 200).length
    assert.ok(passed >= 50 && passed <= 50 + Math.ceil(seconds) + 1, `${passed} of 200 passed in ${seconds.toFixed(1)} s; the budget is 50 + 1/s`)
    assert.equal(passed + busy.length, 200, `every other one is the busy problem: ${statuses.join(',')}`)
    const p = busy[0]?.json()
    assert.equal(p?.type, 'urn:citycode:problem:GatewayBusyError')
    assert.equal(p?.code, 'ERR_GATEWAY_BUSY')
    assert.ok(Number(busy[0]?.headers['retry-after']) >= 1)
    const after = await (g.gateway as GatewayServer).metrics.text()
    assert.equal(counted(after, 'citycode_http_rejections_total', 'error="GatewayBusyError"') - counted(before, 'citycode_http_rejections_total', 'error="GatewayBusyError"'), busy.length)
  })
})

describe('gateway: fastify\'s and node\'s own refusals are problems too', function () {
  this.timeout(120_000)
  let g: GatewayNetwork

  before(async () => { g = await startGatewayNetwork(1, { rateLimit: false, globalRateLimit: false }) })
  after(async () => { await g?.stop() })

  /** One raw request (exactly these bytes) from an address; resolves with what came back once the server closes or 2 s pass. */
  async function raw (bytes: string, localAddress: string): Promise<string> {
    const c = await rawClient(g.gateway.url, localAddress)
    c.socket.write(bytes)
    await Promise.race([c.closed, new Promise(resolve => setTimeout(resolve, 2_000))])
    c.socket.destroy()
    return c.received()
  }

  it('`%ZZ` in the path and a 2049-character code, from several addresses: typed problems, counted', async () => {
    const before = (await http(g.gateway.url, 'GET', '/metrics')).text
    for (let a = 0; a < 5; a++) {
      const bad = await httpFrom(g.gateway.url, source(a), '/v1/codes/%ZZ')
      assert.equal(bad.status, 400, bad.text)
      assert.match(String(bad.headers['content-type']), /^application\/problem\+json/)
      const p = bad.json()
      assert.equal(p.type, 'urn:citycode:problem:MalformedUrlError')
      assert.equal(p.code, 'ERR_MALFORMED_URL')
      assert.equal(p.status, 400)
      assert.ok(p.title.length > 0 && p.detail.length > 0)
      assert.equal(bad.headers['access-control-allow-origin'], '*')

      const long = await httpFrom(g.gateway.url, source(a), `/v1/codes/${'A'.repeat(2049)}`)
      assert.equal(long.status, 414, long.text)
      assert.match(String(long.headers['content-type']), /^application\/problem\+json/)
      assert.equal(long.json().type, 'urn:citycode:problem:UrlTooLongError')
      assert.equal(long.json().code, 'ERR_URL_TOO_LONG')
    }
    const after = (await http(g.gateway.url, 'GET', '/metrics')).text
    for (const error of ['MalformedUrlError', 'UrlTooLongError']) {
      assert.equal(counted(after, 'citycode_http_rejections_total', `error="${error}"`) - counted(before, 'citycode_http_rejections_total', `error="${error}"`), 5, error)
    }
  })

  it('headers too large (431), not HTTP (400), an Expect it cannot meet (417), no Host (400): problems, counted, socket closed', async () => {
    const before = (await http(g.gateway.url, 'GET', '/metrics')).text
    const cases: Array<[string, number, string]> = [
      [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`, 431, 'HeadersTooLargeError'],
      ['GARBAGE \x00\x01 / HTTP/9\r\n\r\n', 400, 'InvalidRequestError'],
      ['GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n', 417, 'ExpectationFailedError'],
      ['GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'InvalidRequestError']
    ]
    for (const [bytes, status, error] of cases) {
      const answer = await raw(bytes, source(7))
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), `${error}: ${answer.slice(0, 200)}`)
      assert.match(answer, /content-type: application\/problem\+json/i, error)
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { type: string, status: number, title: string, detail: string, code: string }
      assert.equal(body.type, `urn:citycode:problem:${error}`)
      assert.equal(body.status, status)
      assert.ok(body.title.length > 0 && body.detail.length > 0 && body.code.startsWith('ERR_'))
    }
    const after = (await http(g.gateway.url, 'GET', '/metrics')).text
    assert.equal(counted(after, 'citycode_http_rejections_total', 'error="HeadersTooLargeError"') - counted(before, 'citycode_http_rejections_total', 'error="HeadersTooLargeError"'), 1)
    assert.equal(counted(after, 'citycode_http_rejections_total', 'error="ExpectationFailedError"') - counted(before, 'citycode_http_rejections_total', 'error="ExpectationFailedError"'), 1)
    assert.equal(counted(after, 'citycode_http_rejections_total', 'error="InvalidRequestError"') - counted(before, 'citycode_http_rejections_total', 'error="InvalidRequestError"'), 2)
    assert.ok(await eventually(async () => await openConnections(g.gateway) <= 1, 3_000), 'refused sockets are gone')
  })

  it('a body the gateway does not take never reaches fastify\'s own answer', async () => {
    for (const method of ['GET', 'OPTIONS', 'POST']) {
      const answer = await raw(`${method} /v1/codes/MA.156.1301 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-weird\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n${'b'.repeat(5000)}`, source(8))
      assert.match(answer, /^HTTP\/1\.1 (200|204|405) /, `${method}: ${answer.slice(0, 200)}`)
      assert.doesNotMatch(answer, /FST_ERR|"statusCode"/, method)
    }
  })

  it('a request arriving while the gateway stops gets a problem, not fastify\'s own 503', async () => {
    const stopping = gateway({ listen: '127.0.0.1:0', log: 'off', rateLimit: false, globalRateLimit: false })({ node: g.node })
    await stopping.start()
    const c = await rawClient(stopping.url, source(9))
    try {
      c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
      assert.ok(await eventually(() => c.received().includes('"status":"up"'), 2_000))
      // headers begun, so the connection is not idle when the stop closes idle ones
      c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n')
      await new Promise(resolve => setTimeout(resolve, 100))
      const stopped = stopping.stop()
      c.socket.write('\r\n')
      assert.ok(await eventually(() => c.received().includes('GatewayClosingError'), 3_000), c.received())
      await stopped
      const second = c.received().slice(c.received().indexOf('"status":"up"'))
      assert.match(second, /HTTP\/1\.1 503 [\s\S]*content-type: application\/problem\+json[\s\S]*"code":"ERR_GATEWAY_CLOSING"/i)
    } finally {
      c.socket.destroy()
      await stopping.stop()
    }
  })
})
