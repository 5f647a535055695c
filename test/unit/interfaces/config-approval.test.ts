import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, parseConfig } from '../../../src/interfaces/config/load.ts'

const dir = join(import.meta.dirname, '..', '..', '..', 'configs')

describe('config: who may get a code (issue #16 section 2)', () => {
  it('every shipped authority config approves by hand, and a config that says nothing does too', () => {
    const files = readdirSync(dir).filter(f => f.endsWith('.json') && f !== 'cn-cities.json')
    assert.ok(files.length >= 3, files.join(' '))
    for (const f of files) {
      // the files carry REPLACE_WITH_… markers until an operator fills them in: check their authority block
      const raw = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { role: string, authority?: { approval?: string, preapproved?: unknown } }
      if (raw.role === 'resolver') continue
      assert.equal(raw.authority?.approval, 'manual', `${f} says manual`)
      assert.equal(raw.authority?.preapproved, undefined, `${f} names nobody beforehand`)
      assert.equal(parseConfig({ role: raw.role, authority: raw.authority }, f).authority.approval, 'manual', f)
    }
    assert.equal(parseConfig({ role: 'city' }, 'inline').authority.approval, 'manual')
  })

  it('preapproved takes 64-hex keys and an optional canonical code; anything else names the field', () => {
    const key = 'ab'.repeat(32)
    const ok = parseConfig({ role: 'country', authority: { approval: 'auto', preapproved: [{ key, code: 'MA.156.1306' }] } }, 'inline')
    assert.deepEqual(ok.authority.preapproved, [{ key, code: 'MA.156.1306' }])
    assert.throws(() => parseConfig({ role: 'country', authority: { approval: 'auto', preapproved: [{ key: 'nothex' }] } }, 'inline'), (err: Error) => err instanceof ConfigError && /preapproved/.test(err.message))
    assert.throws(() => parseConfig({ role: 'country', authority: { pendingLimits: { perKey: 0 } } }, 'inline'), (err: Error) => err instanceof ConfigError && /pendingLimits/.test(err.message))
  })
})
