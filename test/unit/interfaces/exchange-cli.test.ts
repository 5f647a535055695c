import assert from 'node:assert/strict'
import { toPrinted } from '../../../src/core/index.ts'
import { parseAccess } from '../../../src/interfaces/cli/cmds/share.ts'
import { parseDatasetRef } from '../../../src/interfaces/cli/cmds/fetch.ts'

describe('exchange CLI arguments', () => {
  it('--access: public by default, one code a namespace, "codes" (or several codes) exactly those', () => {
    assert.deepEqual(parseAccess(undefined), { kind: 'public' })
    assert.deepEqual(parseAccess(['public']), { kind: 'public' })
    assert.deepEqual(parseAccess(['MA.156']), { kind: 'namespace', namespace: 'MA.156' })
    assert.deepEqual(parseAccess([toPrinted('MA.156.1302')]), { kind: 'namespace', namespace: 'MA.156.1302' })
    assert.deepEqual(parseAccess(['codes', 'MA.156.1302']), { kind: 'codes', codes: ['MA.156.1302'] })
    assert.deepEqual(parseAccess(['MA.156.1302,MA.156.1303', 'MA.156.1302']), { kind: 'codes', codes: ['MA.156.1302', 'MA.156.1303'] })
  })

  it('--access refuses what it cannot mean, with typed errors', () => {
    assert.throws(() => parseAccess(['codes']), { name: 'ConfigError' })
    assert.throws(() => parseAccess(['public', 'MA.156']), { name: 'ConfigError' })
    assert.throws(() => parseAccess(['MA.15']), { name: 'MalformedCodeError' })
    assert.throws(() => parseAccess([toPrinted('MA.156.1302').replace('1302', '1320')]), { name: 'CheckCharacterError' })
  })

  it('CODE/NAME: the last slash splits them; the printed code form is accepted', () => {
    assert.deepEqual(parseDatasetRef('MA.156.1301.05/water-quality'), { code: 'MA.156.1301.05', name: 'water-quality' })
    assert.deepEqual(parseDatasetRef(`${toPrinted('MA.156.1301')}/budget`), { code: 'MA.156.1301', name: 'budget' })
    for (const bad of ['MA.156.1301', '/water', 'MA.156.1301/', '']) assert.throws(() => parseDatasetRef(bad), { name: 'ConfigError' }, bad)
    assert.throws(() => parseDatasetRef('MA.156.13/water'), { name: 'MalformedCodeError' })
  })
})
