import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { decodeCanonical, equalBytes } from '../../../src/core/index.ts'
import type { CborValue } from '../../../src/core/index.ts'

const key = fc.string({ maxLength: 12 }).filter(k => k !== '__proto__')
const leaf: fc.Arbitrary<CborValue> = fc.oneof(
  fc.constant(null), fc.boolean(), fc.maxSafeInteger(), fc.string(), fc.uint8Array({ maxLength: 40 })
)
const value: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>(tie => ({
  v: fc.oneof({ maxDepth: 4 }, leaf, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(key, tie('v'), { maxKeys: 4 }))
})).v

describe('strict canonical DAG-CBOR decoder', () => {
  it('decodes exactly what @ipld/dag-cbor encodes', () => {
    fc.assert(fc.property(value, v => {
      const bytes = dagCbor.encode(v)
      assert.ok(equalBytes(dagCbor.encode(decodeCanonical(bytes, 1 << 20, 'value')), bytes))
    }))
  })

  it('accepts a mutated input only when it is itself the canonical encoding of what it decodes to', () => {
    fc.assert(fc.property(value, fc.nat(), fc.integer({ min: 1, max: 255 }), (v, at, x) => {
      const bytes = dagCbor.encode(v)
      const mutated = Uint8Array.from(bytes)
      mutated[at % mutated.length] = (mutated[at % mutated.length] as number) ^ x
      let decoded: CborValue
      try {
        decoded = decodeCanonical(mutated, 1 << 20, 'value')
      } catch (err) {
        assert.equal((err as Error).name, 'MalformedRecordError')
        return
      }
      assert.ok(equalBytes(dagCbor.encode(decoded), mutated), 'a non-canonical mutation was accepted')
    }))
  })

  it('refuses non-canonical forms, floats, tags, trailing bytes and deep nesting', () => {
    const refuse = (hex: string): void => {
      assert.throws(() => decodeCanonical(Uint8Array.from(Buffer.from(hex, 'hex')), 1024, 'x'), { name: 'MalformedRecordError' }, hex)
    }
    refuse('1817') // 23 in two bytes
    refuse('a2616201616101') // keys b, a: wrong order
    refuse('a2616101616102') // duplicate key
    refuse('fb3ff0000000000000') // float
    refuse('d82a4100') // tag 42
    refuse('0101') // trailing
    refuse('5f4100ff') // indefinite bytes
    refuse('62c328') // invalid UTF-8
    refuse('9a7fffffff') // array claiming 2^31 items
    refuse('81'.repeat(40) + '00') // nesting 40 deep
    assert.throws(() => decodeCanonical(new Uint8Array(2000), 1024, 'x'), { name: 'RecordTooLargeError' })
  })

  it('keeps a leading byte order mark as part of the text (no second byte form of a string)', () => {
    const bytes = dagCbor.encode('\uFEFFabc')
    const decoded = decodeCanonical(bytes, 1024, 'x')
    assert.equal(decoded, '\uFEFFabc')
    assert.ok(equalBytes(dagCbor.encode(decoded), bytes))
  })
})
