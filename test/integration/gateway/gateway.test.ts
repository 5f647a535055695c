import assert from 'node:assert/strict'
import { fromHex } from '../../../src/core/crypto/hash.ts'
import { encodeLeaf } from '../../../src/core/ledger/log.ts'
import type { LedgerEntry } from '../../../src/core/ledger/log.ts'
import { leafHash } from '../../../src/core/ledger/merkle.ts'
import { verifyInclusion } from '../../../src/core/ledger/proofs.ts'
import { RESOLVE_PROTOCOL, RESOLVE_SESSION_PROTOCOL } from '../../../src/network/protocols/resolve.ts'
import { DIRECTORY_PROTOCOL } from '../../../src/network/protocols/directory.ts'
import { DHT_PROTOCOL } from '../../../src/network/node/constants.ts'
import { gateway } from '../../../src/interfaces/gateway/index.ts'
import { verifyAbsence } from '../../../src/core/proof/absence.ts'
import { verifyBundle } from '../../../src/core/proof/bundle.ts'
import { bundleFromText } from '../../../src/core/proof/text.ts'
import { http, SJZ, SJZ_SUB, startGatewayNetwork } from '../../utils/gateway-network.ts'
import type { GatewayNetwork } from '../../utils/gateway-network.ts'

interface RecordAnswer {
  code: string, name: string, seq: number, ttlSeconds: number, hash: string
  values: Array<{ type: string, lat?: number, lon?: number, value?: string }>
  verification: { valid: boolean, anchor: string, namespace: string, chain: Array<{ namespace: string }> }
  resolution: { source: string }
  ledger?: { log: string, included: boolean, index: number, proof: string[], head: { size: number, root: string, signedHead: string } }
}
interface HeadView { log: string, size: number, root: string, signedHead: string }
interface Version { log: string, index: number, type: LedgerEntry['type'], seq?: number, time: string, object: string, current?: boolean, proof: string[] }

describe('HTTP gateway against a real local network', function () {
  this.timeout(120_000)
  let g: GatewayNetwork
  let base: string

  before(async () => {
    g = await startGatewayNetwork(2)
    base = g.gateway.url
  })
  after(async () => { await g?.stop() })

  it('serves the verified record with its chain, TTL cache header and ETag, then from the cache', async () => {
    const first = await http(base, 'GET', `/v1/codes/${SJZ.code}`)
    assert.equal(first.status, 200, first.text)
    assert.match(String(first.headers['content-type']), /^application\/json/)
    const r = first.json<RecordAnswer>()
    assert.equal(r.code, SJZ.code)
    assert.equal(r.name, SJZ.name)
    assert.equal(r.seq, 2)
    assert.equal(r.verification.valid, true)
    assert.equal(r.verification.anchor, 'test-root')
    assert.deepEqual(r.verification.chain.map(c => c.namespace), ['MA.156', SJZ.code])
    const maxAge = Number(/max-age=(\d+)/.exec(String(first.headers['cache-control']))?.[1])
    assert.ok(maxAge > 0 && maxAge <= r.ttlSeconds, `max-age ${maxAge} within the TTL ${r.ttlSeconds}`)
    assert.equal(first.headers.etag, `"${r.hash}"`)
    assert.notEqual(r.resolution.source, 'cache')
    const again = await http(base, 'GET', `/v1/codes/${SJZ.code}`)
    assert.equal(again.json<RecordAnswer>().resolution.source, 'cache')
    const notModified = await http(base, 'GET', `/v1/codes/${SJZ.code}`, { 'if-none-match': `"${r.hash}"` })
    assert.equal(notModified.status, 304)
  })

  it('accepts the printed form and any case, answering with the canonical code', async () => {
    for (const input of ['MA.156.1301-*', 'ma.156.1301', '%20MA.156.1301%20']) {
      const a = await http(base, 'GET', `/v1/codes/${input}`)
      assert.equal(a.status, 200, `${input}: ${a.text}`)
      assert.equal(a.json<RecordAnswer>().code, SJZ.code)
    }
  })

  it('?format=cbor returns the signed bytes, which verify on their own', async () => {
    const a = await http(base, 'GET', `/v1/codes/${SJZ.code}?format=cbor`)
    assert.equal(a.status, 200)
    assert.equal(a.headers['content-type'], 'application/cbor')
    const verified = g.net.root.validator.validate(new Uint8Array(a.body), SJZ.code)
    assert.equal(verified.record.body.seq, 2)
  })

  it('?inclusion=true proves the version is in its signer\'s log', async () => {
    const a = await http(base, 'GET', `/v1/codes/${SJZ.code}?inclusion=true`)
    assert.equal(a.status, 200, a.text)
    const r = a.json<RecordAnswer>()
    assert.ok(r.ledger !== undefined)
    assert.equal(r.ledger.log, SJZ.code)
    assert.equal(r.ledger.included, true)
    const head = g.node.validator.validateHead(fromHex(r.ledger.head.signedHead), SJZ.code).record
    const entry: LedgerEntry = { type: 'record', code: SJZ.code, seq: 2, time: Date.parse((await http(base, 'GET', `/v1/codes/${SJZ.code}`)).json<{ issuedAt: string }>().issuedAt), object: fromHex(r.hash) }
    verifyInclusion(leafHash(encodeLeaf(entry)), r.ledger.index, head.sth.head.size, r.ledger.proof.map(fromHex), head.sth.head.root)
  })

  it('malformed, wrongly checked and impossible codes are 400 problems naming the fault, without a stack', async () => {
    const bad = await http(base, 'GET', '/v1/codes/MA.156.13x1')
    assert.equal(bad.status, 400)
    assert.match(String(bad.headers['content-type']), /^application\/problem\+json\b/)
    const p = bad.json()
    assert.equal(p.type, 'urn:citycode:problem:MalformedCodeError')
    assert.equal(p.code, 'ERR_MALFORMED_CODE')
    assert.equal(p.status, 400)
    assert.equal(p.details?.position, 9)
    assert.equal(p.instance, '/v1/codes/MA.156.13x1')
    assert.doesNotMatch(bad.text, /\bat .*\.ts:\d+/)
    const check = await http(base, 'GET', '/v1/codes/MA.156.1301-Q')
    assert.equal(check.json().code, 'ERR_CHECK_CHARACTER')
  })

  it('an unknown code is a 404 problem', async () => {
    const a = await http(base, 'GET', '/v1/codes/MA.156.1309')
    assert.equal(a.status, 404, a.text)
    assert.equal(a.json().type, 'urn:citycode:problem:NotFoundError')
  })

  it('lists children from the authority\'s ledger, checked against its signed head', async () => {
    const a = await http(base, 'GET', '/v1/codes/MA.156/children')
    assert.equal(a.status, 200, a.text)
    const c = a.json<{ source: string, log: string, head: HeadView, children: Array<{ code: string, name?: string, index: number }> }>()
    assert.equal(c.source, 'ledger')
    assert.equal(c.log, 'MA.156')
    assert.deepEqual(c.children.map(x => x.code), ['MA.156.1301', 'MA.156.1302'])
    assert.equal(c.children[0]?.name, SJZ.name, 'name of a child whose record this node holds')
    g.node.validator.validateHead(fromHex(c.head.signedHead), 'MA.156')
    const city = await http(base, 'GET', `/v1/codes/${SJZ.code}/children`)
    assert.deepEqual(city.json<{ children: Array<{ code: string }> }>().children.map(x => x.code), [SJZ_SUB])
  })

  it('an authority\'s own gateway lists children from its allocation table, with names', async () => {
    const { gateway } = await import('../../../src/interfaces/gateway/index.ts')
    const own = gateway({ listen: '127.0.0.1:0', log: 'off' })({ node: g.net.country })
    await own.start()
    try {
      const a = await http(own.url, 'GET', '/v1/codes/MA.156/children')
      const c = a.json<{ source: string, children: Array<{ code: string, name: string }> }>()
      assert.equal(c.source, 'authority')
      assert.deepEqual(c.children.map(x => [x.code, x.name]), [['MA.156.1301', 'City 130100'], ['MA.156.1302', 'City 130200']])
    } finally {
      await own.stop()
    }
  })

  it('history lists the allocation and every version, each with a proof that checks against its signed head', async () => {
    const a = await http(base, 'GET', `/v1/codes/${SJZ.code}/history`)
    assert.equal(a.status, 200, a.text)
    const h = a.json<{ ledger: boolean, logs: HeadView[], versions: Version[] }>()
    assert.equal(h.ledger, true)
    assert.deepEqual(h.versions.map(v => [v.type, v.log, v.seq]), [['allocation', 'MA.156', undefined], ['record', SJZ.code, 1], ['record', SJZ.code, 2]])
    assert.deepEqual(h.versions.map(v => v.current), [undefined, false, true])
    for (const v of h.versions) {
      const log = h.logs.find(l => l.log === v.log)
      assert.ok(log !== undefined, `head of ${v.log}`)
      const head = g.node.validator.validateHead(fromHex(log.signedHead), v.log).record
      const entry: LedgerEntry = { type: v.type, code: SJZ.code, ...(v.seq !== undefined ? { seq: v.seq } : {}), time: Date.parse(v.time), object: fromHex(v.object) }
      verifyInclusion(leafHash(encodeLeaf(entry)), v.index, head.sth.head.size, v.proof.map(fromHex), head.sth.head.root)
    }
    const sub = (await http(base, 'GET', `/v1/codes/${SJZ_SUB}/history`)).json<{ versions: Version[] }>()
    assert.deepEqual(sub.versions.map(v => [v.type, v.log]), [['allocation', SJZ.code], ['record', SJZ.code]])
  })

  it('the authority log endpoint gives the signed head, entry counts and the heads this node holds', async () => {
    const a = await http(base, 'GET', '/v1/authorities/MA.156/log')
    assert.equal(a.status, 200, a.text)
    const l = a.json<{ log: string, head: HeadView, entries: { total: number, byType: Record<string, number> }, heads: Array<{ status: string }>, alarms: unknown[] }>()
    assert.equal(l.log, 'MA.156')
    assert.equal(l.head.size, l.entries.total)
    assert.equal(l.entries.byType.allocation, 2)
    assert.ok(l.heads.every(h => h.status === 'consistent'), JSON.stringify(l.heads))
    assert.deepEqual(l.alarms, [])
    const none = await http(base, 'GET', '/v1/authorities/MA.276/log')
    assert.equal(none.status, 404, none.text)
  })

  it('CORS on reads, preflight answered', async () => {
    const a = await http(base, 'GET', `/v1/codes/${SJZ.code}`, { origin: 'https://city.example' })
    assert.equal(a.headers['access-control-allow-origin'], '*')
    const pre = await http(base, 'OPTIONS', `/v1/codes/${SJZ.code}`, { origin: 'https://city.example', 'access-control-request-method': 'GET' })
    assert.equal(pre.status, 204)
    assert.match(String(pre.headers['access-control-allow-methods']), /GET/)
  })

  it('serves the explorer under a strict content security policy, and HEAD like GET without a body', async () => {
    const page = await http(base, 'GET', '/')
    assert.equal(page.status, 200)
    assert.match(String(page.headers['content-type']), /^text\/html/)
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/)
    assert.match(page.text, /id="proof-qr"/)
    const head = await http(base, 'HEAD', `/v1/codes/${SJZ.code}`)
    assert.equal(head.status, 200)
    assert.equal(head.body.length, 0)
    assert.match(String(head.headers.etag), /^"[0-9a-f]{64}"$/)
  })

  it('publishes an OpenAPI document covering every route', async () => {
    const doc = (await http(base, 'GET', '/openapi.json')).json<{ openapi: string, paths: Record<string, unknown> }>()
    assert.equal(doc.openapi, '3.1.0')
    for (const p of ['/v1/codes/{code}', '/v1/codes/{code}/children', '/v1/codes/{code}/history', '/v1/authorities/{code}/log', '/healthz', '/readyz', '/metrics', '/openapi.json', '/']) {
      assert.ok(p in doc.paths, p)
    }
  })

  it('health, readiness and Prometheus metrics with citycode and libp2p series', async () => {
    assert.equal((await http(base, 'GET', '/healthz')).status, 200)
    const ready = await http(base, 'GET', '/readyz')
    assert.equal(ready.status, 200, ready.text)
    const m = await http(base, 'GET', '/metrics')
    assert.equal(m.status, 200)
    assert.match(m.text, /citycode_resolutions_total\{path="cache",result="found"\} [1-9]/)
    assert.match(m.text, /citycode_resolutions_total\{path="none",result="not_found"\} [1-9]/)
    assert.match(m.text, /citycode_cache_hits_total [1-9]/)
    assert.match(m.text, /citycode_resolution_seconds_bucket/)
    assert.match(m.text, /citycode_gossip_messages_total\{result="accepted"\} \d+/)
    assert.match(m.text, /citycode_records_held\{role="own"\} 0/)
    assert.match(m.text, /citycode_peers [1-9]/)
    assert.match(m.text, /citycode_http_requests_total\{route="\/v1\/codes\/:code",status="200"\} [1-9]/)
    assert.match(m.text, /^libp2p_\w+/m)
  })

  it('an address in use is a typed error naming it', async () => {
    const { gateway } = await import('../../../src/interfaces/gateway/index.ts')
    const taken = new URL(base)
    const second = gateway({ listen: `${taken.hostname}:${taken.port}`, log: 'off' })({ node: g.node })
    await assert.rejects(second.start(), (err: Error & { code?: string }) => err.name === 'GatewayListenError' && err.code === 'ERR_GATEWAY_LISTEN' && /address in use/.test(err.message))
    await second.stop()
  })

  it('limits the request rate per client', async () => {
    const limited = await g.another({ rateLimit: { perSecond: 0.5, burst: 3 } })
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await http(limited.url, 'GET', '/healthz')).status)
    assert.deepEqual(statuses, [200, 200, 200, 429, 429])
    const refused = await http(limited.url, 'GET', '/healthz')
    assert.equal(refused.json().code, 'ERR_RATE_LIMITED')
    assert.ok(Number(refused.headers['retry-after']) >= 1)
  })

  it('serves offline proof bundles from a node that may sign them; a resolver-only gateway answers 403', async () => {
    const refused = await http(base, 'GET', `/v1/codes/${SJZ.code}/proof`)
    assert.equal(refused.status, 403, refused.text)
    assert.equal(refused.json().code, 'ERR_PERMISSION')
    const authority = gateway({ listen: '127.0.0.1:0', log: 'off' })({ node: g.net.country })
    await authority.start()
    try {
      const bytes = await http(authority.url, 'GET', `/v1/codes/${SJZ.code}/proof`)
      assert.equal(bytes.status, 200, bytes.text)
      assert.match(String(bytes.headers['content-type']), /^application\/cbor/)
      const checked = verifyBundle(new Uint8Array(bytes.body), g.node.validator.chains, { now: Date.now(), requireLedger: true })
      assert.equal(checked.verified.record.body.code, SJZ.code)
      const text = await http(authority.url, 'GET', `/v1/codes/${SJZ.code}/proof?format=text`)
      assert.match(text.text, /^CC1:/)
      verifyBundle(bundleFromText(text.text), g.node.validator.chains, { now: Date.now() })
      const svg = await http(authority.url, 'GET', `/v1/codes/${SJZ.code}/proof?format=svg`)
      assert.match(String(svg.headers['content-type']), /^image\/svg\+xml/)
      assert.match(svg.text, /^<svg[\s\S]*<\/svg>\s*$/)
      assert.equal((await http(authority.url, 'GET', `/v1/codes/${SJZ.code}/proof?format=gif`)).status, 400)
    } finally {
      await authority.stop()
    }
  })

  it('a network that does not answer in time is a 504 problem', async () => {
    // a resolver whose only peer takes questions (direct and DHT) and never answers
    const stall = await g.net.add('city')
    for (const protocol of [RESOLVE_PROTOCOL, RESOLVE_SESSION_PROTOCOL, DIRECTORY_PROTOCOL, DHT_PROTOCOL]) {
      await stall.libp2p.unhandle(protocol)
      await stall.libp2p.handle(protocol, () => { /* takes the question, never answers */ })
    }
    const lonely = await g.net.add('resolver', { network: { transport: 'memory', listen: [], bootstrap: [g.net.addrOf(stall)] } })
    await lonely.knowAuthority({ namespace: 'MA.156', addr: g.net.addrOf(stall) })
    const hurried = gateway({ listen: '127.0.0.1:0', log: 'off', resolveTimeoutMs: 1_000 })({ node: lonely })
    await hurried.start()
    try {
      const started = Date.now()
      const a = await http(hurried.url, 'GET', '/v1/codes/MA.156.1310')
      assert.equal(a.status, 504, a.text)
      assert.equal(a.json().code, 'ERR_RESOLVE_TIMEOUT')
      assert.ok(Date.now() - started < 10_000, 'answered near the deadline, not after the resolver gave up')
    } finally {
      await hurried.stop()
    }
  })

  it('a code its authority proves unallocated is a 404 problem carrying the proof', async () => {
    const a = await http(base, 'GET', '/v1/codes/MA.156.1310')
    assert.equal(a.status, 404, a.text)
    const p = a.json()
    assert.equal(p.code, 'ERR_NOT_FOUND')
    assert.equal(p.details?.proven, true)
    assert.equal(p.details?.authority, 'MA.156')
    const proven = verifyAbsence(fromHex(String(p.details?.proof)), g.node.validator.chains, { now: Date.now(), code: 'MA.156.1310' })
    assert.equal(proven.code, 'MA.156.1310')
  })
})
