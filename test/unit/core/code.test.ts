import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  checkCharacter, depth, formatSerial, inNamespace, isAncestor, isDirectoryCode, lineage, parent, parseCode, parseCodeInput,
  parsePrinted, toPrinted
} from '../../../src/core/index.ts'
import { arbitraryCode } from '../../utils/arbitraries.ts'

describe('code grammar', () => {
  it('parses the real Shijiazhuang codes', () => {
    const city = parseCode('MA.156.1301')
    assert.deepEqual(city.segments, ['MA', '156', '1301'])
    const bureau = parseCode('MA.156.1301.01')
    assert.equal(depth(bureau), 4)
    assert.equal(parent(bureau)?.text, 'MA.156.1301')
    assert.ok(isAncestor(city, bureau))
    assert.ok(!isAncestor(bureau, city))
    assert.ok(!isAncestor(city, city))
    assert.deepEqual(lineage(bureau).map(c => c.text), ['MA', 'MA.156', 'MA.156.1301', 'MA.156.1301.01'])
  })

  it('namespaces are whole segments, never text prefixes', () => {
    assert.ok(inNamespace('MA.156.1301', 'MA.156.1301.02'))
    assert.ok(inNamespace('MA.156.1301', 'MA.156.1301'))
    assert.ok(!inNamespace('MA.156.1301.1', 'MA.156.1301.10'))
    assert.ok(!inNamespace('MA.156.13', 'MA.156.1301'))
  })

  it('format(parse(x)) = x for every canonical code', () => {
    fc.assert(fc.property(arbitraryCode, text => {
      assert.equal(parseCode(text).text, text)
      assert.equal(parseCode(parseCode(text).segments.join('.')).text, text)
    }))
  })

  it('serials have one canonical text', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 99_999_999 }), n => {
      const s = formatSerial(n)
      assert.equal(Number.parseInt(s, 10), n)
      parseCode(`MA.156.1301.${s}`)
    }))
  })

  it('any string that is not canonical is refused with a position inside it', () => {
    fc.assert(fc.property(fc.string({ maxLength: 70 }), text => {
      try {
        const c = parseCode(text)
        assert.equal(c.text, text)
      } catch (err) {
        const e = err as Error & { details: { position: number } }
        assert.equal(e.name, 'MalformedCodeError')
        assert.ok(e.details.position >= 0 && e.details.position <= text.length, `position ${e.details.position} in "${text}"`)
      }
    }))
  })

  it('the check character catches every single substitution and adjacent transposition', () => {
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
    fc.assert(fc.property(arbitraryCode, fc.nat(), fc.nat(), (text, where, by) => {
      const printed = toPrinted(text)
      assert.equal(parsePrinted(printed).text, text)
      const positions = [...text].flatMap((c, i) => c === '.' ? [] : [i])
      const i = positions[where % positions.length] as number
      const original = text[i] as string
      const pool = original >= 'A' ? alphabet.slice(10) : alphabet.slice(0, 10)
      const replacement = pool[(pool.indexOf(original) + 1 + by % (pool.length - 1)) % pool.length] as string
      const typo = text.slice(0, i) + replacement + text.slice(i + 1)
      const check = checkCharacter(text)
      // caught either by the grammar or by the check character: never accepted as another code
      assert.throws(() => parsePrinted(`${typo}-${check}`), /MalformedCodeError|CheckCharacterError/, `${text} -> ${typo}`)
      const j = positions[(where + 1) % positions.length] as number
      if (j === i + 1 && text[i] !== text[j]) {
        const swapped = text.slice(0, i) + (text[j] as string) + (text[i] as string) + text.slice(j + 1)
        assert.throws(() => parsePrinted(`${swapped}-${check}`), /MalformedCodeError|CheckCharacterError/, `${text} -> ${swapped}`)
      }
    }))
  })

  it('user input: trimmed, upper-cased, check character optional', () => {
    assert.equal(parseCodeInput('  ma.156.1301 ').text, 'MA.156.1301')
    assert.equal(parseCodeInput(toPrinted('MA.156.1301').toLowerCase()).text, 'MA.156.1301')
    assert.throws(() => parseCodeInput('MA.156.1301-0'), { name: 'CheckCharacterError' })
    assert.throws(() => parseCodeInput('MA.156.1301-'), { name: 'MalformedCodeError' })
  })
})

describe('directory codes', () => {
  it('the root and countries are directory codes, cities and deeper are not, in either form', () => {
    assert.ok(isDirectoryCode('MA'))
    assert.ok(isDirectoryCode('MA.156'))
    assert.ok(!isDirectoryCode('MA.156.1301'))
    assert.ok(!isDirectoryCode(parseCode('MA.156.1301.01')))
    assert.ok(isDirectoryCode(parseCode('MA.250')))
    assert.throws(() => isDirectoryCode('ma.156'), { name: 'MalformedCodeError' })
  })
})
