import assert from 'node:assert/strict'
import fc from 'fast-check'
import { parseCode } from '../../../../src/core/code/grammar.ts'
import { CitycodeError, EquivocationError, MalformedCodeError } from '../../../../src/core/errors.ts'
import { NotFoundError, ResolveTimeoutError } from '../../../../src/services/errors.ts'
import { parseListen } from '../../../../src/interfaces/gateway/index.ts'
import { problemFor } from '../../../../src/interfaces/gateway/problem.ts'
import { RateLimiter } from '../../../../src/interfaces/gateway/rate-limit.ts'

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

describe('gateway listen address', () => {
  it('parses host:port, defaults to loopback', () => {
    assert.deepEqual(parseListen('0.0.0.0:80'), { host: '0.0.0.0', port: 80 })
    assert.deepEqual(parseListen('8081'), { host: '127.0.0.1', port: 8081 })
    assert.deepEqual(parseListen('[::1]:8080'), { host: '::1', port: 8080 })
  })
})
