import assert from 'node:assert/strict'
import fc from 'fast-check'
import { RECORD_MAX_BYTES, RecordValidator, encodeCbor, equalBytes, isCitycodeError, recordKey, sha256 } from '../../../src/core/index.ts'
import type { CborValue } from '../../../src/core/index.ts'
import { signTreeHead } from '../../../src/core/ledger/tree-head.ts'
import { encodeHeadRecord, headKey } from '../../../src/core/record/head-record.ts'
import { cityRecord, hierarchy, NOW } from '../../utils/fixtures.ts'

/**
 * Whatever a peer sends, the validator answers with one of our typed errors (or accepts a valid
 * value), never with a TypeError, RangeError or anything else a caller would not expect.
 */
const h = hierarchy()
const good = cityRecord(h).bytes
const rootSigned = cityRecord(h, { code: 'MA.156' }, h.root, []).bytes
const head = encodeHeadRecord({ head: signTreeHead({ log: 'MA.156.1301', size: 6, root: sha256(new Uint8Array([6])), time: NOW }, h.city), key: h.city.publicKey, chain: h.chain })
const validator = (): RecordValidator => new RecordValidator(h.anchors, { now: () => NOW })

type Edit =
  | { kind: 'flip', at: number, x: number }
  | { kind: 'truncate', at: number }
  | { kind: 'insert', at: number, bytes: Uint8Array }
  | { kind: 'delete', at: number, n: number }
  | { kind: 'overwrite', at: number, bytes: Uint8Array }

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), x: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) })
)

function applyEdits (original: Uint8Array, edits: readonly Edit[]): Uint8Array {
  let b = Uint8Array.from(original)
  for (const e of edits) {
    const at = b.length === 0 ? 0 : e.at % b.length
    if (e.kind === 'flip' && b.length > 0) b[at] = (b[at] as number) ^ e.x
    else if (e.kind === 'truncate') b = b.slice(0, at)
    else if (e.kind === 'insert') b = Uint8Array.of(...b.subarray(0, at), ...e.bytes, ...b.subarray(at))
    else if (e.kind === 'delete') b = Uint8Array.of(...b.subarray(0, at), ...b.subarray(at + e.n))
    else if (e.kind === 'overwrite') b.set(e.bytes.subarray(0, b.length - at), at)
  }
  return b
}

/** Runs `fn`; a thrown value must be one of our typed errors with a stable name and code. */
function typedOutcome (fn: () => unknown): 'valid' | string {
  try {
    fn()
    return 'valid'
  } catch (err) {
    assert.ok(isCitycodeError(err), `expected a typed error, got ${String(err)}`)
    assert.match(err.name, /Error$/)
    assert.match(err.code, /^ERR_[A-Z_]+$/)
    return err.name
  }
}

describe('record validator on hostile input', () => {
  it('edited records (flips, truncations, insertions, deletions) only ever fail with typed errors', () => {
    const v = validator()
    v.validate(good)
    fc.assert(fc.property(fc.constantFrom(good, rootSigned), fc.array(edit, { minLength: 1, maxLength: 4 }), (original, edits) => {
      const bytes = applyEdits(original, edits)
      const outcome = typedOutcome(() => v.validate(bytes))
      if (outcome === 'valid') assert.ok(equalBytes(bytes, original), 'only the unedited record verifies')
      typedOutcome(() => v.validateDhtRecord(recordKey('MA.156.1301'), bytes))
      typedOutcome(() => v.validateDhtRecord(headKey('MA.156.1301'), bytes))
    }), { numRuns: 300 })
  })

  it('edited tree head records only ever fail with typed errors', () => {
    const v = validator()
    v.validateHead(head)
    fc.assert(fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), edits => {
      const bytes = applyEdits(head, edits)
      const outcome = typedOutcome(() => v.validateDhtRecord(headKey('MA.156.1301'), bytes))
      if (outcome === 'valid') assert.ok(equalBytes(bytes, head), 'only the unedited head verifies')
      typedOutcome(() => v.validateDhtRecord(recordKey('MA.156.1301'), bytes))
    }), { numRuns: 200 })
  })

  it('garbage values and garbage keys only ever fail with typed errors', () => {
    const v = validator()
    const encoder = new TextEncoder()
    const key = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.constantFrom(recordKey('MA.156.1301'), headKey('MA.156.1301'), recordKey('MA.156')),
      fc.string({ unit: 'binary', maxLength: 40 }).map(x => encoder.encode(`/citycode/r/${x}`)),
      fc.string({ unit: 'binary', maxLength: 40 }).map(x => encoder.encode(`/citycode/h/${x}`))
    )
    const cbor: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>(tie => ({
      v: fc.oneof({ maxDepth: 3 }, fc.constant(null), fc.boolean(), fc.maxSafeInteger(), fc.string({ maxLength: 12 }), fc.uint8Array({ maxLength: 70 }),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(fc.constantFrom('body', 'sig', 'chain', 'sigs', 'head', 'key', 'cosignatures', 'v', 'type', 'code'), tie('v'), { maxKeys: 4 }))
    })).v
    const value = fc.oneof(fc.uint8Array({ maxLength: 300 }), cbor.map(x => encodeCbor(x)), fc.constant(good), fc.constant(head))
    fc.assert(fc.property(key, value, (key, value) => {
      const outcome = typedOutcome(() => v.validateDhtRecord(key, value))
      if (outcome === 'valid') assert.ok(equalBytes(value, good) || equalBytes(value, head))
      let index = -1
      typedOutcome(() => { index = v.selectDhtRecord(key, [value, good]) })
      assert.ok(index >= -1 && index <= 1)
    }), { numRuns: 300 })
  })

  it('a key with a leading byte order mark is another key', () => {
    const v = validator()
    v.validateDhtRecord(recordKey('MA.156.1301'), good)
    const bom = Uint8Array.of(0xef, 0xbb, 0xbf)
    assert.equal(typedOutcome(() => v.validateDhtRecord(Uint8Array.of(...bom, ...recordKey('MA.156.1301')), good)), 'KeyMismatchError')
    assert.equal(typedOutcome(() => v.validateDhtRecord(Uint8Array.of(...bom, ...headKey('MA.156.1301')), head)), 'KeyMismatchError')
  })

  it('refuses oversized values by size before decoding them', () => {
    const v = validator()
    fc.assert(fc.property(fc.integer({ min: RECORD_MAX_BYTES + 1, max: 4 * RECORD_MAX_BYTES }), fc.nat({ max: 255 }), (size, fill) => {
      const padded = new Uint8Array(size).fill(fill)
      padded.set(good, 0)
      assert.equal(typedOutcome(() => v.validate(padded)), 'RecordTooLargeError')
    }), { numRuns: 30 })
  })

  it('an invalid copy never displaces the valid record in selection', () => {
    const v = validator()
    fc.assert(fc.property(fc.array(fc.array(edit, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }), fc.nat(), (editSets, where) => {
      const values = editSets.map(edits => applyEdits(good, edits)).filter(b => !equalBytes(b, good))
      const at = where % (values.length + 1)
      values.splice(at, 0, good)
      assert.equal(v.selectDhtRecord(recordKey('MA.156.1301'), values), at)
    }), { numRuns: 150 })
  })
})
