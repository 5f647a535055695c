import assert from 'node:assert/strict'
import { decodeCursor, encodeCursor, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, parsePageLimit } from '../../../src/core/ledger/cursor.ts'

const LOG = 'MA.156.1301'
const reason = (r: string) => (err: unknown): boolean => {
  const e = err as { name: string, code: string, details: { reason: string } }
  assert.equal(e.name, 'InvalidCursorError')
  assert.equal(e.code, 'ERR_INVALID_CURSOR')
  assert.equal(e.details.reason, r)
  return true
}

describe('page cursors (issue #20 part 2)', () => {
  it('round-trips and stays opaque text', () => {
    const c = { log: LOG, headSize: 20_000, next: 4_100 }
    const text = encodeCursor(c)
    assert.match(text, /^c1\.[A-Za-z0-9_-]+\.[0-9a-f]{16}$/)
    assert.deepEqual(decodeCursor(text, LOG), c)
  })

  it('refuses mangled, forged, foreign and out-of-range cursors, each typed', () => {
    const text = encodeCursor({ log: LOG, headSize: 10, next: 5 })
    assert.throws(() => decodeCursor('hello', LOG), reason('format'))
    assert.throws(() => decodeCursor(`${text}.x`, LOG), reason('format'))
    assert.throws(() => decodeCursor(text.slice(0, -1) + (text.endsWith('0') ? '1' : '0'), LOG), reason('checksum'))
    const forged = Buffer.from(JSON.stringify([LOG, 10, 7])).toString('base64url')
    assert.throws(() => decodeCursor(`c1.${forged}.${text.split('.')[2] as string}`, LOG), reason('checksum'))
    assert.throws(() => decodeCursor(text, 'MA.156.1302'), reason('log'))
    assert.throws(() => decodeCursor(encodeCursor({ log: LOG, headSize: 10, next: 11 }), LOG), reason('range'))
    assert.throws(() => decodeCursor(encodeCursor({ log: LOG, headSize: 10, next: -1 }), LOG), reason('range'))
    assert.throws(() => decodeCursor('c1.' + 'A'.repeat(300), LOG), reason('format'))
  })

  it('takes a limit from 1 to the maximum, the default when absent', () => {
    assert.equal(parsePageLimit(undefined), PAGE_LIMIT_DEFAULT)
    assert.equal(parsePageLimit('25'), 25)
    assert.equal(parsePageLimit(PAGE_LIMIT_MAX), PAGE_LIMIT_MAX)
    for (const bad of ['0', '-1', '1.5', 'ten', String(PAGE_LIMIT_MAX + 1), '99999999', 0]) assert.throws(() => parsePageLimit(bad), reason('limit'), String(bad))
  })
})
