import assert from 'node:assert/strict'
import { ChainVerifier, checkRevocationStatus, decodeRevocationStatus, fromHex, listsRevoked, REVOCATION_STATUS_MAX_ENTRIES, signRevocationStatus, verifyRecord } from '../../../src/core/index.ts'
import { anchorsFromJson, loadVector } from '../../utils/vectors.ts'
import { errorName } from '../../utils/errors.ts'
import type { AnchorJson } from '../../utils/vectors.ts'
import { hierarchy, NOW } from '../../utils/fixtures.ts'

interface Vectors {
  anchors: AnchorJson[]
  now: number
  maxAgeMs: number
  maxEntries: number
  record: string
  cases: Array<{ name: string, statuses: string[], result: { valid: true } | { valid: false, error: string, link?: number } }>
}

describe('revocation status statements (SPEC 4.6)', () => {
  it('revocation-status.json: every case gives its result, naming the failing link', () => {
    const v = loadVector<Vectors>('revocation-status.json')
    assert.equal(v.maxEntries, REVOCATION_STATUS_MAX_ENTRIES)
    const chain = verifyRecord(fromHex(v.record), new ChainVerifier(anchorsFromJson(v.anchors)), { now: v.now }).chain
    const errors = new Set(v.cases.flatMap(c => c.result.valid ? [] : [c.result.error]))
    for (const e of ['RevokedError', 'StaleRevocationStatusError', 'BadSignatureError', 'MalformedRecordError']) assert.ok(errors.has(e), `a case for ${e}`)
    for (const c of v.cases) {
      const run = (): unknown => checkRevocationStatus(chain, c.statuses.map(s => decodeRevocationStatus(fromHex(s))), { now: v.now, maxAgeMs: v.maxAgeMs })
      if (c.result.valid) {
        assert.doesNotThrow(run, c.name)
        continue
      }
      assert.equal(errorName(run), c.result.error, c.name)
      if (c.result.link !== undefined) {
        try {
          run()
        } catch (err) {
          assert.equal((err as { details?: { link?: number } }).details?.link, c.result.link, c.name)
        }
      }
    }
  })

  it('round-trips with its hashes in one order, found by binary search; refuses too many', () => {
    const h = hierarchy()
    const hashes = Array.from({ length: 50 }, (_, i) => new Uint8Array(32).fill(200 - i))
    const s = signRevocationStatus({ namespace: 'MA.156', issuedAt: NOW, revoked: [...hashes, hashes[3]!] }, h.country)
    const back = decodeRevocationStatus(s.bytes)
    assert.equal(back.revoked.length, 50, 'duplicates folded')
    for (const hash of hashes) assert.ok(listsRevoked(back, hash))
    assert.equal(listsRevoked(back, new Uint8Array(32).fill(1)), false)
    assert.equal(errorName(() => signRevocationStatus({ namespace: 'MA.156', issuedAt: NOW, revoked: Array.from({ length: REVOCATION_STATUS_MAX_ENTRIES + 1 }, (_, i) => { const b = new Uint8Array(32); b[0] = i & 0xff; b[1] = i >> 8; return b }) }, h.country)), 'MalformedRecordError')
  })
})
