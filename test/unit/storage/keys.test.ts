import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { keychain } from '@libp2p/keychain'
import { defaultLogger } from '@libp2p/logger'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { KEYCHAIN_PARAMS_KEY, KeyStore, readParams } from '../../../src/storage/keys.ts'
import { assertStrongPassphrase } from '../../../src/storage/passphrase-policy.ts'
import { errorName } from '../../utils/errors.ts'

const ruleOf = (passphrase: string): string | undefined => {
  try {
    assertStrongPassphrase(passphrase)
    return undefined
  } catch (err) {
    return `${(err as Error).name}:${String((err as { details?: { rule?: string } }).details?.rule)}`
  }
}

describe('passphrase rule', () => {
  it('refuses short, one-class, few-character and common passphrases, each with its rule', () => {
    const table: Array<[string, string | undefined]> = [
      ['Tr0ub4dor&3', 'WeakPassphraseError:length'],
      ['nineteen characters', 'WeakPassphraseError:length'],
      ['correcthorsebatterystaple', 'WeakPassphraseError:classes'],
      ['CORRECTHORSEBATTERYSTAPLE', 'WeakPassphraseError:classes'],
      ['12345678901234567890', 'WeakPassphraseError:classes'],
      ['汉字汉字汉字汉字汉字汉字汉字汉字汉字汉字', 'WeakPassphraseError:classes'],
      ['aaaaaaaaaaaaaaaaaaaa1', 'WeakPassphraseError:distinct'],
      ['Aa1!Aa1!Aa1!Aa1!Aa1!', 'WeakPassphraseError:distinct'],
      ['Password1234567890!!', 'WeakPassphraseError:common'],
      ['P-a-s-s-w-o-r-d-2-0-2-6-!', 'WeakPassphraseError:common'],
      ['correct horse battery staple', 'WeakPassphraseError:common'],
      ['qwertyqwerty 123456789', 'WeakPassphraseError:common'],
      ['four unrelated words here', undefined],
      ['a passphrase of twenty chars', undefined],
      ['Zebra-Kettle-Oboe-Lantern', undefined],
      ['汉字汉字汉字汉字汉字 2026 石家庄市', undefined]
    ]
    for (const [passphrase, expected] of table) assert.equal(ruleOf(passphrase), expected, passphrase)
  })

  it('a weak passphrase is refused only when a keychain is made, never for one that exists', async () => {
    const ds = new MemoryDatastore()
    const weak = new KeyStore(ds, 'aaaaaaaaaaaaaaaaaaaaaaaa', { insecureTestIterations: 1_000 })
    await assert.rejects(weak.peerKey(), { name: 'WeakPassphraseError', code: 'ERR_WEAK_PASSPHRASE' })
    assert.equal(await readParams(ds), undefined, 'nothing written')
    assert.equal(errorName(() => new KeyStore(ds, 'short')), 'StorageError')
    // an old keychain made under that passphrase still opens (and is upgraded): refusing it would lock its operator out
    const legacy = new MemoryDatastore()
    const peer = await generateKeyPair('Ed25519')
    await keychain({ pass: 'aaaaaaaaaaaaaaaaaaaaaaaa' })({ datastore: legacy, logger: defaultLogger() }).importKey('self', peer)
    let upgraded = 0
    const opened = await new KeyStore(legacy, 'aaaaaaaaaaaaaaaaaaaaaaaa', { insecureTestIterations: 1_000, onUpgrade: () => { upgraded++ } }).peerKey()
    assert.ok(opened.equals(peer))
    assert.equal(upgraded, 1)
    assert.equal((await readParams(legacy))?.iterations, 1_000)
  })
})

describe('KeyStore derivation parameters', () => {
  const PASS = 'unit test keychain passphrase'

  it('a keychain made with the test-only work factor is refused by a store without it (KeychainParamsError)', async () => {
    const ds = new MemoryDatastore()
    const made = new KeyStore(ds, PASS, { insecureTestIterations: 1_000 })
    const key = await made.peerKey()
    assert.equal((await readParams(ds))?.iterations, 1_000)
    await assert.rejects(new KeyStore(ds, PASS).peerKey(), { name: 'KeychainParamsError', code: 'ERR_KEYCHAIN_PARAMS' })
    const again = await new KeyStore(ds, PASS, { insecureTestIterations: 1_000 }).peerKey()
    assert.ok(again.equals(key))
    assert.equal(errorName(() => new KeyStore(ds, PASS, { insecureTestIterations: 999 })), 'KeychainParamsError')
  })

  it('damaged parameters are a KeychainParamsError naming the field, not a silent fresh keychain', async () => {
    const ds = new MemoryDatastore()
    await new KeyStore(ds, PASS, { insecureTestIterations: 1_000 }).peerKey()
    const params = JSON.parse(new TextDecoder().decode(await ds.get(KEYCHAIN_PARAMS_KEY))) as Record<string, unknown>
    await ds.put(KEYCHAIN_PARAMS_KEY, new TextEncoder().encode(JSON.stringify({ ...params, salt: 'c2hvcnQ=' })))
    await assert.rejects(new KeyStore(ds, PASS, { insecureTestIterations: 1_000 }).peerKey(), (err: Error & { details?: { field?: string } }) => err.name === 'KeychainParamsError' && err.details?.field === 'salt')
    await ds.put(KEYCHAIN_PARAMS_KEY, new TextEncoder().encode('{'))
    await assert.rejects(new KeyStore(ds, PASS, { insecureTestIterations: 1_000 }).peerKey(), { name: 'KeychainParamsError' })
  })

  it('an upgrade that fails to write leaves the old keychain whole, and the next open upgrades it', async () => {
    const ds = new MemoryDatastore()
    const peer = await generateKeyPair('Ed25519')
    await keychain({ pass: PASS })({ datastore: ds, logger: defaultLogger() }).importKey('self', peer)
    const before = await ds.get(new Key('/pkcs8/self'))
    // the upgrade's one batch fails (a full disk, a crash at that moment): nothing of it may land
    const failing = Object.assign(Object.create(ds) as MemoryDatastore, {
      batch: () => { const b = ds.batch(); return { put: b.put.bind(b), delete: b.delete.bind(b), commit: async () => { throw new Error('disk full') } } }
    })
    await assert.rejects(new KeyStore(failing, PASS, { insecureTestIterations: 1_000 }).peerKey(), /disk full/)
    assert.equal(await readParams(ds), undefined)
    assert.deepEqual(await ds.get(new Key('/pkcs8/self')), before)
    const opened = await new KeyStore(ds, PASS, { insecureTestIterations: 1_000 }).peerKey()
    assert.ok(opened.equals(peer))
    assert.ok(await readParams(ds) !== undefined)
    assert.notDeepEqual(await ds.get(new Key('/pkcs8/self')), before, 're-encrypted')
  })

  it('the default work factor: 210,000 PBKDF2-SHA512 iterations under a fresh 24-byte salt per keychain', async function () {
    this.timeout(30_000)
    const a = new MemoryDatastore()
    const b = new MemoryDatastore()
    const t0 = performance.now()
    await new KeyStore(a, PASS).peerKey()
    const ms = performance.now() - t0
    await new KeyStore(b, PASS).peerKey()
    const [pa, pb] = [await readParams(a), await readParams(b)]
    assert.ok(pa !== undefined && pb !== undefined)
    assert.deepEqual([pa.hash, pa.iterations, Buffer.from(pa.salt, 'base64').length], ['sha2-512', 210_000, 24])
    assert.notEqual(pa.salt, pb.salt)
    // the point of the work factor: a guess costs the attacker what an unlock costs us
    assert.ok(ms > 100, `an unlock took ${ms.toFixed(0)} ms`)
    assert.ok(await a.has(new Key('/pkcs8/self')))
  })
})
