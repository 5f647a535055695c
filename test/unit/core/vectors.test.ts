import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import {
  ChainVerifier, RevocationSet, bundleFromText, checkAllocationRule, decodeCertificate, decodeRecord, decodeRevocation,
  fromHex, parseCode, parsePrinted, revocationsForBundle, selectRecord, toHex, verifyAbsence, verifyBundle, verifyRecord
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
    const v = loadVector<{ cases: Array<{ code: string, valid: boolean, error?: string }>, countries: string[], schemes: Array<{ country: string, divisions: Array<{ division: string }> }> }>('allocation.json')
    for (const c of v.cases) assert.equal(errorName(() => checkAllocationRule(c.code)), c.valid ? undefined : c.error, c.code)
    // the lists are exact: every other country or division segment is refused
    const countries = new Set(v.countries)
    for (let n = 1; n <= 999; n++) {
      const country = String(n).padStart(3, '0')
      assert.equal(errorName(() => checkAllocationRule(`MA.${country}`)), countries.has(country) ? undefined : 'AllocationRuleError', country)
    }
    // SPEC Appendix A prints the same lists
    const appendix = readFileSync(new URL('../../../docs/SPEC.md', import.meta.url), 'utf8').split('## Appendix A.')[1] ?? ''
    const blocks = [...appendix.matchAll(/```\n([\s\S]*?)```/g)].map(m => (m[1] as string).split(/\s+/).filter(x => x !== ''))
    assert.deepEqual(blocks, [v.countries, ...v.schemes.map(s => s.divisions.map(d => d.division))], 'SPEC Appendix A lists what allocation.json does')
    assert.ok(v.schemes.some(s => s.country === '156'))
    for (const scheme of v.schemes) {
      const divisions = new Set(scheme.divisions.map(d => d.division))
      for (let n = 1; n <= 9999; n++) {
        const code = `MA.${scheme.country}.${String(n).padStart(4, '0')}`
        assert.equal(errorName(() => checkAllocationRule(code)), divisions.has(code.slice(-4)) ? undefined : 'AllocationRuleError', code)
      }
    }
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

  it('chains.json: rotation, root quorum, empty chains, chain length', () => {
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

  it('proofs.json: bundles, text form, non-existence proofs', () => {
    type Revs = Array<{ revocation: string, certificate: string }>
    const v = loadVector<{
      anchors: AnchorJson[]
      now: number
      bundles: Array<{ name: string, bundle: string, text?: string, now?: number, anchors?: AnchorJson[], revocations?: Revs, witnesses?: { keys: string[], threshold: number }, ledger?: { log: string, size: number, index: number },
        result: { valid: true, code: string, madeAt: number, signer: { role: string, namespace: string }, checks: string[] } | { valid: false, error: string } }>
      revocationLists: Array<{ name: string, bundle: string, list: string, now: number, result: { valid: true } | { valid: false, error: string, reason?: string, entry?: number, revokedSince?: boolean } }>
      texts: Array<{ name: string, text: string, result: { valid: true, bundle: string } | { valid: false, error: string, reason: string } }>
      absence: Array<{ name: string, proof: string, code: string, now?: number, result: { valid: true, code: string, namespace: string, expiresAt: number } | { valid: false, error: string, reason?: string } }>
    }>('proofs.json')
    const errors = new Set(v.bundles.flatMap(c => c.result.valid ? [] : [c.result.error]))
    for (const e of ['BadSignatureError', 'MalformedRecordError', 'UnknownAnchorError', 'ExpiredError', 'RevokedError', 'PermissionError', 'NotYetValidError', 'InvalidProofError']) {
      assert.ok(errors.has(e), `proofs.json has a bundle case for ${e}`)
    }
    for (const c of v.bundles) {
      const revocations = new RevocationSet()
      for (const r of c.revocations ?? []) revocations.add(decodeRevocation(fromHex(r.revocation)), decodeCertificate(fromHex(r.certificate)))
      const witnesses = c.witnesses === undefined ? undefined : { witnesses: c.witnesses.keys.map(fromHex), threshold: c.witnesses.threshold }
      const run = (): ReturnType<typeof verifyBundle> => verifyBundle(fromHex(c.bundle), new ChainVerifier(anchorsFromJson(c.anchors ?? v.anchors)), { now: c.now ?? v.now, revocations, witnesses })
      if (c.result.valid) {
        const r = run()
        assert.equal(r.verified.record.body.code, c.result.code, c.name)
        assert.equal(r.madeAt, c.result.madeAt, c.name)
        assert.deepEqual({ role: r.signer.role, namespace: r.signer.namespace }, c.result.signer, c.name)
        assert.deepEqual(r.checks, c.result.checks, c.name)
        if (c.ledger !== undefined) assert.deepEqual({ log: r.ledger?.log, size: r.ledger?.size, index: r.ledger?.index }, c.ledger, c.name)
        if (c.text !== undefined) assert.equal(toHex(bundleFromText(c.text)), c.bundle, c.name)
      } else {
        assert.equal(errorName(run), c.result.error, c.name)
      }
    }
    assert.ok(v.revocationLists.some(c => !c.result.valid && c.result.revokedSince === true) && v.revocationLists.some(c => !c.result.valid && c.result.revokedSince === false), 'revoked before and since the bundle was made')
    for (const c of v.revocationLists) {
      const run = (): ReturnType<typeof verifyBundle> => verifyBundle(fromHex(c.bundle), new ChainVerifier(anchorsFromJson(v.anchors)), { now: c.now, revocations: revocationsForBundle(fromHex(c.list), fromHex(c.bundle)) })
      if (c.result.valid) {
        assert.equal(run().verified.record.body.code, 'MA.156.1301', c.name)
      } else {
        const expected = c.result
        assert.throws(run, (err: Error & { details: Record<string, unknown> }) => err.name === expected.error && err.details.reason === expected.reason && err.details.entry === expected.entry &&
          (expected.revokedSince === undefined || err.details.revokedSince === expected.revokedSince), c.name)
      }
    }
    for (const c of v.texts) {
      if (c.result.valid) {
        assert.equal(toHex(bundleFromText(c.text)), c.result.bundle, c.name)
      } else {
        const expected = c.result
        assert.throws(() => bundleFromText(c.text), (err: Error & { details: { reason?: unknown } }) => err.name === expected.error && err.details.reason === expected.reason, c.name)
      }
    }
    for (const c of v.absence) {
      const run = (): ReturnType<typeof verifyAbsence> => verifyAbsence(fromHex(c.proof), new ChainVerifier(anchorsFromJson(v.anchors)), { now: c.now ?? v.now, code: c.code })
      if (c.result.valid) {
        const r = run()
        assert.deepEqual({ code: r.code, namespace: r.namespace, expiresAt: r.expiresAt }, { code: c.result.code, namespace: c.result.namespace, expiresAt: c.result.expiresAt }, c.name)
      } else {
        const expected = c.result
        assert.throws(run, (err: Error & { details: { reason?: unknown } }) => err.name === expected.error && (expected.reason === undefined || err.details.reason === expected.reason), c.name)
      }
    }
  })
})
