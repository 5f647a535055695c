import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import {
  ChainVerifier, RevocationSet, checkAllocationRule, decodeCertificate, decodeRecord, decodeRevocation,
  fromHex, parseCode, parsePrinted, selectRecord, verifyRecord
} from '../../../src/core/index.ts'
import { generate } from '../../vectors/generate.ts'
import { anchorsFromJson, loadVector } from '../../utils/vectors.ts'
import type { AnchorJson } from '../../utils/vectors.ts'
import { errorName } from '../../utils/errors.ts'

type Result = { valid: true, code: string, seq: number, namespace: string } | { valid: false, error: string }
interface RecordCase { name: string, record: string, anchors?: AnchorJson[], expectedCode?: string, revocations?: Array<{ revocation: string, certificate: string }>, result: Result }

function checkRecordCase (c: RecordCase, anchorsJson: AnchorJson[], now: number): void {
  const chains = new ChainVerifier(anchorsFromJson(c.anchors ?? anchorsJson))
  const revocations = new RevocationSet()
  for (const r of c.revocations ?? []) revocations.add(decodeRevocation(fromHex(r.revocation)), decodeCertificate(fromHex(r.certificate)))
  const run = (): ReturnType<typeof verifyRecord> => verifyRecord(fromHex(c.record), chains, { now, expectedCode: c.expectedCode, revocations })
  if (c.result.valid) {
    const v = run()
    assert.equal(v.record.body.code, c.result.code, c.name)
    assert.equal(v.record.body.seq, c.result.seq, c.name)
    assert.equal(v.chain.namespace, c.result.namespace, c.name)
  } else {
    assert.equal(errorName(run), c.result.error, c.name)
  }
}

describe('test vectors', () => {
  it('are reproduced byte for byte by the generator', () => {
    for (const [name, content] of Object.entries(generate())) {
      const committed = readFileSync(new URL(`../../vectors/${name}`, import.meta.url), 'utf8')
      assert.equal(JSON.stringify(content, null, 2) + '\n', committed, `${name} drifted: run npm run vectors and review the diff`)
    }
  })

  it('codes.json: valid, invalid with position, mistyped', () => {
    const v = loadVector<{ valid: Array<{ code: string, printed: string }>, invalid: Array<{ code: string, error: string, position: number }>, mistyped: Array<{ printed: string, error: string }> }>('codes.json')
    for (const c of v.valid) {
      assert.equal(parseCode(c.code).text, c.code)
      assert.equal(parsePrinted(c.printed).text, c.code)
    }
    for (const c of v.invalid) {
      assert.throws(() => parseCode(c.code), (err: Error & { details?: { position?: number } }) => {
        assert.equal(err.name, c.error, c.code)
        assert.equal(err.details?.position, c.position, `position for "${c.code}"`)
        return true
      })
    }
    assert.ok(v.mistyped.length >= 3)
    for (const c of v.mistyped) assert.equal(errorName(() => parsePrinted(c.printed)), c.error, c.printed)
  })

  it('allocation.json', () => {
    const v = loadVector<{ cases: Array<{ code: string, valid: boolean, error?: string }> }>('allocation.json')
    for (const c of v.cases) assert.equal(errorName(() => checkAllocationRule(c.code)), c.valid ? undefined : c.error, c.code)
  })

  it('records.json: one case per way to be wrong', () => {
    const v = loadVector<{ anchors: AnchorJson[], now: number, cases: RecordCase[] }>('records.json')
    const errors = new Set(v.cases.flatMap(c => c.result.valid ? [] : [c.result.error]))
    for (const e of ['MalformedRecordError', 'RecordTooLargeError', 'KeyMismatchError', 'MalformedCodeError', 'AllocationRuleError', 'UnknownAnchorError',
      'BrokenChainError', 'NamespaceViolationError', 'ExpiredError', 'NotYetValidError', 'WrongKeyError', 'PermissionError', 'RevokedError', 'BadSignatureError']) {
      assert.ok(errors.has(e), `records.json has a case for ${e}`)
    }
    for (const c of v.cases) checkRecordCase(c, v.anchors, v.now)
  })

  it('chains.json: rotation and root quorum', () => {
    const v = loadVector<{ now: number, cases: RecordCase[] }>('chains.json')
    for (const c of v.cases) checkRecordCase(c, c.anchors ?? [], v.now)
  })

  it('selection.json', () => {
    const v = loadVector<{ anchors: AnchorJson[], now: number, cases: Array<{ name: string, records: string[], best: number }> }>('selection.json')
    const chains = new ChainVerifier(anchorsFromJson(v.anchors))
    for (const c of v.cases) {
      const records = c.records.map(r => verifyRecord(fromHex(r), chains, { now: v.now }).record)
      assert.equal(selectRecord(records), c.best, c.name)
      assert.equal(selectRecord([...records].reverse()), records.length - 1 - c.best, `${c.name} (reversed order)`)
      void decodeRecord
    }
  })
})
