import assert from 'node:assert/strict'
import fc from 'fast-check'
import { parseCode } from '../../../../src/core/code/grammar.ts'
import { CitycodeError, EquivocationError, MalformedCodeError } from '../../../../src/core/errors.ts'
import { NotFoundError, ResolveTimeoutError } from '../../../../src/services/errors.ts'
import { parseListen } from '../../../../src/interfaces/gateway/index.ts'
import { problemFor } from '../../../../src/interfaces/gateway/problem.ts'
import { clientKey, GatewayRateLimits, RateLimiter } from '../../../../src/interfaces/gateway/rate-limit.ts'
import { connectionLimits } from '../../../../src/interfaces/gateway/server.ts'
import { parseConfig } from '../../../../src/interfaces/config/load.ts'

describe('gateway problem details', () => {
  it('maps typed errors to their status, type and stable code, details included', () => {
    let err: unknown
    try {
      parseCode('MA.156.13x1')
    } catch (e) {
      err = e
    }
    const p = problemFor(err, '/v1/codes/MA.156.13x1')
    assert.equal(p.status, 400)
    assert.equal(p.type, 'urn:citycode:problem:MalformedCodeError')
    assert.equal(p.code, 'ERR_MALFORMED_CODE')
    assert.equal(p.details?.position, 9)
    assert.equal(p.instance, '/v1/codes/MA.156.13x1')
    assert.equal(problemFor(new NotFoundError('none', { code: 'MA.156.1309' })).status, 404)
    assert.equal(problemFor(new ResolveTimeoutError('late', {})).status, 504)
    // two versions of one seq: neither is vouched for, and the evidence goes with the refusal
    const equivocation = problemFor(new EquivocationError('two versions', { code: 'MA.156.1301', seq: 5 }, new Uint8Array([0xab, 0xcd])))
    assert.deepEqual([equivocation.status, equivocation.code, equivocation.details?.evidence, equivocation.details?.seq], [502, 'ERR_EQUIVOCATION', 'abcd', 5])
  })

  it('an unknown citycode error is a bad gateway; anything else a 500 that says nothing about it', () => {
    class StrangeError extends CitycodeError {}
    assert.equal(problemFor(new StrangeError('odd', {})).status, 502)
    const internal = problemFor(new TypeError('secret internals at /srv/x.ts:12'))
    assert.equal(internal.status, 500)
    assert.equal(internal.code, 'ERR_INTERNAL')
    assert.doesNotMatch(JSON.stringify(internal), /secret|x\.ts/)
  })

  it('never leaks a stack, whatever the message', () => {
    fc.assert(fc.property(fc.string(), (message) => {
      const p = problemFor(new MalformedCodeError(message, { position: 0 }))
      assert.equal(p.detail, message)
      assert.ok(!('stack' in p))
    }))
  })
})

describe('gateway rate limiter', () => {
  it('lets a burst through, then refills at the given rate, per client', () => {
    const limiter = new RateLimiter(2, 3)
    const t = 1_000_000
    assert.deepEqual([0, 1, 2].map(() => limiter.take('a', t)), [0, 0, 0])
    assert.ok(limiter.take('a', t) > 0, 'burst spent')
    assert.equal(limiter.take('b', t), 0, 'another client has its own bucket')
    assert.equal(limiter.take('a', t + 500), 0, 'one token back after half a second at 2/s')
    assert.ok(limiter.take('a', t + 500) > 0)
  })

  it('never allows more than burst + rate x time', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 300 }), (gaps) => {
      const limiter = new RateLimiter(10, 5)
      let now = 0
      let allowed = 0
      for (const gap of gaps) {
        now += gap
        if (limiter.take('c', now) === 0) allowed++
      }
      assert.ok(allowed <= 5 + Math.floor(now * 10 / 1000) + 1)
    }))
  })
})

describe('gateway client keys and the global budget', () => {
  it('an IPv6 client is its /64; IPv4 (also mapped into IPv6) is the address', () => {
    assert.equal(clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64')
    assert.equal(clientKey('2001:DB8:1:2::1'), '2001:db8:1:2::/64')
    assert.equal(clientKey('2001:0db8:0001:0002:ffff::9'), '2001:db8:1:2::/64')
    assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64')
    assert.equal(clientKey('::1'), '0:0:0:0::/64')
    assert.notEqual(clientKey('2001:db8:1:3::1'), clientKey('2001:db8:1:2::1'))
    assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7')
    assert.equal(clientKey('192.0.2.7'), '192.0.2.7')
    assert.equal(clientKey(undefined), '(unknown)')
  })

  it('addresses of one /64 share a bucket; another /64 has its own', () => {
    const limits = new GatewayRateLimits({ perSecond: 1, burst: 3 }, undefined)
    const t = 1_000_000
    const refused = Array.from({ length: 10 }, (_, i) => limits.take(`2001:db8:1:2::${(i + 1).toString(16)}`, t)).filter(r => r !== undefined)
    assert.equal(refused.length, 7, 'ten addresses of one /64 get one burst of 3')
    assert.equal(refused[0]?.scope, 'address')
    assert.equal(limits.take('2001:db8:1:3::1', t), undefined)
  })

  it('the global budget holds across any number of addresses, and a refusal per address spends none of it', () => {
    const limits = new GatewayRateLimits({ perSecond: 1, burst: 2 }, { perSecond: 10, burst: 20 })
    const t = 1_000_000
    for (let i = 0; i < 50; i++) limits.take('198.51.100.1', t)
    let allowed = 0
    for (let i = 0; i < 1000; i++) if (limits.take(`10.0.${i >> 8}.${i & 255}`, t) === undefined) allowed++
    assert.equal(allowed, 18, '20 tokens, 2 taken by the noisy client before its own bucket ran dry')
    assert.deepEqual(limits.take('10.9.9.9', t), { scope: 'global', retryAfter: 1 })
  })
})

describe('gateway connection limits', () => {
  it('fills defaults and refuses what node:http cannot honour', () => {
    assert.equal(connectionLimits({ maxConnections: 5 }).maxConnections, 5)
    assert.equal(connectionLimits().headersTimeoutMs, 10_000)
    assert.throws(() => connectionLimits({ headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 }), { name: 'ConfigError' })
    assert.throws(() => connectionLimits({ maxConnections: 0 }), { name: 'ConfigError' })
    assert.throws(() => connectionLimits({ idleTimeoutMs: 1.5 }), { name: 'ConfigError' })
  })
})

describe('gateway limits in the node config', () => {
  const base = { role: 'resolver', anchors: [{ name: 'root', namespace: 'MA', keys: ['a'.repeat(64)], threshold: 1 }] }

  it('takes budgets and connection limits, and names a bad field', () => {
    const config = parseConfig({ ...base, http: '127.0.0.1:8080', httpLimits: { globalRateLimit: { perSecond: 5000, burst: 5000 }, rateLimit: false, connections: { maxConnections: 4096, headersTimeoutMs: 5000 } } }, 'test')
    assert.deepEqual(config.httpLimits, { globalRateLimit: { perSecond: 5000, burst: 5000 }, rateLimit: false, connections: { maxConnections: 4096, headersTimeoutMs: 5000 } })
    assert.throws(() => parseConfig({ ...base, httpLimits: { connections: { maxConections: 5 } } }, 'test'), { name: 'ConfigError' })
    assert.throws(() => parseConfig({ ...base, httpLimits: { connections: { headersTimeoutMs: 5000, requestTimeoutMs: 10 } } }, 'test'), (err: Error) => err.name === 'ConfigError' && /headersTimeoutMs/.test(err.message))
    assert.throws(() => parseConfig({ ...base, httpLimits: { globalRateLimit: { perSecond: 0, burst: 1 } } }, 'test'), { name: 'ConfigError' })
  })
})

describe('gateway listen address', () => {
  it('parses host:port, defaults to loopback', () => {
    assert.deepEqual(parseListen('0.0.0.0:80'), { host: '0.0.0.0', port: 80 })
    assert.deepEqual(parseListen('8081'), { host: '127.0.0.1', port: 8081 })
    assert.deepEqual(parseListen('[::1]:8080'), { host: '::1', port: 8080 })
  })
})
