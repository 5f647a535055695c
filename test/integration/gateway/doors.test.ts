import assert from 'node:assert/strict'
import { badHttpRequests } from '../../utils/bad-inputs.ts'
import { http, SJZ, startGatewayNetwork } from '../../utils/gateway-network.ts'
import type { GatewayNetwork } from '../../utils/gateway-network.ts'

/** Sums a counter's samples whose labels match. */
function counted (metrics: string, series: string, label: string): number {
  let sum = 0
  for (const line of metrics.split('\n')) {
    if (line.startsWith(`${series}{`) && line.includes(label)) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

describe('gateway door: the bad-request corpus', function () {
  this.timeout(120_000)
  let g: GatewayNetwork

  before(async () => { g = await startGatewayNetwork(1, { rateLimit: false }) })
  after(async () => { await g?.stop() })

  it('answers every bad request with its typed problem, counts it, and keeps serving', async () => {
    const corpus = badHttpRequests()
    const before = (await http(g.gateway.url, 'GET', '/metrics')).text
    for (const bad of corpus) {
      const a = await http(g.gateway.url, bad.method, bad.path)
      assert.equal(a.status, bad.status, `${bad.name}: ${a.status} ${a.text.slice(0, 300)}`)
      assert.match(String(a.headers['content-type']), /^application\/problem\+json/, bad.name)
      const p = a.json()
      assert.equal(p.type, `urn:citycode:problem:${bad.error}`, bad.name)
      assert.equal(p.status, bad.status, bad.name)
      assert.ok(typeof p.detail === 'string' && p.detail.length > 0, bad.name)
      assert.doesNotMatch(a.text, /\n\s+at |node_modules|\.ts:\d+/, `${bad.name}: no stack or internals`)
      if (bad.status === 405) assert.equal(a.headers.allow, 'GET, HEAD, OPTIONS')
    }
    const after = (await http(g.gateway.url, 'GET', '/metrics')).text
    for (const error of new Set(corpus.map(b => b.error))) {
      const expected = corpus.filter(b => b.error === error).length
      const grew = counted(after, 'citycode_http_rejections_total', `error="${error}"`) - counted(before, 'citycode_http_rejections_total', `error="${error}"`)
      assert.equal(grew, expected, `${error} counted`)
    }
    // the node and the gateway are still fine
    const ok = await http(g.gateway.url, 'GET', `/v1/codes/${SJZ.code}`)
    assert.equal(ok.status, 200, ok.text)
    assert.equal((await http(g.gateway.url, 'GET', '/readyz')).status, 200)
  })

  it('a request that is not HTTP gets a problem, not a crash', async () => {
    const { connect } = await import('node:net')
    const url = new URL(g.gateway.url)
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => { socket.write('GARBAGE \x00\x01 / HTTP/9\r\n\r\n') })
      let text = ''
      socket.on('data', (d) => { text += d.toString() })
      socket.on('end', () => { resolve(text) })
      socket.on('error', reject)
    })
    assert.match(answer, /^HTTP\/1\.1 400 /)
    assert.match(answer, /application\/problem\+json/)
    assert.match(answer, /"code":"ERR_INVALID_REQUEST"/)
    const headers = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => { socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`) })
      let text = ''
      socket.on('data', (d) => { text += d.toString() })
      socket.on('end', () => { resolve(text) })
      socket.on('error', reject)
    })
    assert.match(headers, /^HTTP\/1\.1 431 /)
    assert.equal((await http(g.gateway.url, 'GET', '/healthz')).status, 200)
  })
})
