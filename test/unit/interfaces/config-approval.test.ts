import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
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

describe('config: the shipped set', () => {
  it('holds a root, two manual-approval countries, two cities and a resolver, each valid once its markers are filled in', async () => {
    const peer = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const markers: Record<string, string> = {
      REPLACE_WITH_ROOT_PEER_ID: await peer(),
      REPLACE_WITH_COUNTRY_PEER_ID: await peer(),
      'REPLACE_WITH_ROOT_AUTHORITY_KEY_FROM_citycode_init_(64_hex)': 'ab'.repeat(32)
    }
    const roles: string[] = []
    const ports = new Set<string>()
    for (const f of readdirSync(dir).filter(f => f.endsWith('.json') && f !== 'cn-cities.json')) {
      let text = readFileSync(join(dir, f), 'utf8')
      for (const [marker, value] of Object.entries(markers)) text = text.split(marker).join(value)
      assert.doesNotMatch(text, /REPLACE_WITH/, `${f}: every marker is one the set-up steps fill in`)
      const config = parseConfig(JSON.parse(text) as unknown, f)
      roles.push(config.role)
      for (const addr of config.listen) {
        assert.ok(!ports.has(addr), `${f}: ${addr} is not another shipped node's`)
        ports.add(addr)
      }
    }
    assert.deepEqual(roles.sort(), ['city', 'city', 'country', 'country', 'resolver', 'root'])
  })
})
