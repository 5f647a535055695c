import assert from 'node:assert/strict'
import { batchLineFields, BATCH_LINE_MAX_CHARS, checkBatchLines, formatOf, parseBatch } from '../../../src/core/allocation/batch.ts'
import { BatchError } from '../../../src/core/errors.ts'

const CITY = 'MA.156.1301'

function badLines (fn: () => unknown): Array<{ line: number, error: string }> {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof BatchError, `expected BatchError, got ${String(err)}`)
    assert.equal(err.name, 'BatchError')
    assert.equal(err.code, 'ERR_BATCH')
    return err.lines.map(l => ({ line: l.line, error: l.error }))
  }
  assert.fail('expected a BatchError')
}

describe('batch file parsing (issue #20)', () => {
  it('reads JSON lines: number or full code, name, type and values', () => {
    const lines = parseBatch([
      '{"number":"05","name":"Water bureau","type":"bureau","values":{"phone":"0311-1"}}',
      '',
      '{"code":"MA.156.1301.06","name":"Rail station"}'
    ].join('\n'), 'jsonl', CITY)
    assert.equal(lines.length, 2)
    assert.deepEqual(lines.map(l => [l.line, l.code, l.type]), [[1, 'MA.156.1301.05', 'bureau'], [3, 'MA.156.1301.06', 'sub-code']])
    assert.deepEqual(lines[0]?.values, [{ type: 'name', lang: 'en', value: 'Water bureau' }, { type: 'data', name: 'type', value: 'bureau' }, { type: 'data', name: 'phone', value: '0311-1' }])
  })

  it('reads CSV with a header, quoted fields and extra value columns', () => {
    const lines = parseBatch('number,name,type,phone\r\n05,"Bureau ""North"", main",bureau,0311\n06,Park,,\n', 'csv', CITY)
    assert.deepEqual(lines.map(l => [l.code, l.name, l.type]), [['MA.156.1301.05', 'Bureau "North", main', 'bureau'], ['MA.156.1301.06', 'Park', 'sub-code']])
    assert.equal(lines[1]?.values.length, 2, 'an empty value column is no value')
  })

  it('lists every bad line at once: malformed, duplicate, outside the city, too long', () => {
    const text = [
      '{"number":"01","name":"ok"}',
      'not json',
      '{"number":"01","name":"again"}',
      '{"code":"MA.156.1302.07","name":"other city"}',
      '{"code":"MA.156.1301.07.01","name":"grandchild"}',
      '{"number":"02"}',
      JSON.stringify({ number: '03', name: 'x'.repeat(BATCH_LINE_MAX_CHARS) }),
      '{"number":"04","name":"bad value","values":{"n":{"deep":1}}}',
      '[1,2]'
    ].join('\n')
    assert.deepEqual(badLines(() => parseBatch(text, 'jsonl', CITY)), [
      { line: 2, error: 'MalformedLine' },
      { line: 3, error: 'DuplicateLine' },
      { line: 4, error: 'OutsideNamespaceError' },
      { line: 5, error: 'OutsideNamespaceError' },
      { line: 6, error: 'MalformedLine' },
      { line: 7, error: 'LineTooLong' },
      { line: 8, error: 'MalformedLine' },
      { line: 9, error: 'MalformedLine' }
    ])
  })

  it('refuses a CSV without the needed header or with a ragged row', () => {
    assert.deepEqual(badLines(() => parseBatch('a,b\n1,2\n', 'csv', CITY)).map(b => b.line), [1, 2])
    assert.deepEqual(badLines(() => parseBatch('number,name\n01,a,extra\n"02,b\n', 'csv', CITY)), [{ line: 2, error: 'MalformedLine' }, { line: 3, error: 'MalformedLine' }])
  })

  it('refuses a malformed number as the code grammar does', () => {
    const bad = badLines(() => parseBatch('{"number":"x!","name":"a"}', 'jsonl', CITY))
    assert.equal(bad.length, 1)
    assert.notEqual(bad[0]?.error, undefined)
  })

  it('checks lines again after they crossed the admin socket', () => {
    const lines = parseBatch('{"number":"05","name":"A","values":{"k":"v"}}', 'jsonl', CITY)
    assert.deepEqual(checkBatchLines(CITY, lines.map(batchLineFields)), lines)
    assert.deepEqual(badLines(() => checkBatchLines('MA.156.1302', lines.map(batchLineFields))), [{ line: 1, error: 'OutsideNamespaceError' }])
  })

  it('knows a format by the file name only', () => {
    assert.equal(formatOf('a.csv'), 'csv')
    assert.equal(formatOf('a.jsonl'), 'jsonl')
    assert.throws(() => formatOf('a.txt'), { name: 'BatchError' })
  })
})
