import assert from 'node:assert/strict'
import { MemoryDatastore } from 'datastore-core'
import { signerFromSeed, toHex } from '../../../src/core/index.ts'
import { KeyStore, memoryKeyring } from '../../../src/storage/keys.ts'
import type { AuthorityKeyring } from '../../../src/storage/keys.ts'
import { seededSigner } from '../../utils/fixtures.ts'
import { TEST_KEYCHAIN } from '../../utils/test-keychain.ts'

const hexOf = async (k: AuthorityKeyring): Promise<[string, string, string]> => [toHex((await k.current()).publicKey), toHex((await k.next()).publicKey), toHex((await k.after()).publicKey)]

/** The authority keys across a rotation (SPEC 4.4): current, the committed next one, and the one after it. */
describe('authority keyring', () => {
  it('in the keychain: advance makes next the current key and after the next, across a reopen; a repeated advance is harmless', async () => {
    const datastore = new MemoryDatastore()
    const keys = new KeyStore(datastore, 'a passphrase of twenty chars', TEST_KEYCHAIN).keyring()
    const [current, next, after] = await hexOf(keys)
    assert.equal(new Set([current, next, after]).size, 3, 'three distinct keys, each the same on every read')
    assert.deepEqual(await hexOf(keys), [current, next, after])
    await keys.advance()
    const reopened = new KeyStore(datastore, 'a passphrase of twenty chars', TEST_KEYCHAIN).keyring()
    assert.equal(toHex((await reopened.current()).publicKey), next)
    assert.equal(toHex((await reopened.next()).publicKey), after)
    const fresh = toHex((await reopened.after()).publicKey)
    assert.ok(![current, next, after].includes(fresh), 'a new key after')
    // with no rotation under way (no after key), advance moves nothing
    const idle = new KeyStore(new MemoryDatastore(), 'a passphrase of twenty chars', TEST_KEYCHAIN).keyring()
    const idleCurrent = toHex((await idle.current()).publicKey)
    const idleNext = toHex((await idle.next()).publicKey)
    await idle.advance()
    assert.equal(toHex((await idle.current()).publicKey), idleCurrent)
    assert.equal(toHex((await idle.next()).publicKey), idleNext)
    // a crash after the current key moved but before the next did: advance finishes the move only
    const halfway = new MemoryDatastore()
    const store = new KeyStore(halfway, 'a passphrase of twenty chars', TEST_KEYCHAIN)
    const ring = store.keyring()
    const nextSeed = new Uint8Array(32).fill(3)
    const afterSeed = new Uint8Array(32).fill(4)
    await store.importSeed('authority-next', nextSeed)
    await store.importSeed('authority-after', afterSeed)
    await store.importSeed('authority', nextSeed)
    const n3 = toHex(signerFromSeed(nextSeed).publicKey)
    const a3 = toHex(signerFromSeed(afterSeed).publicKey)
    await ring.advance()
    assert.equal(toHex((await ring.current()).publicKey), n3)
    assert.equal(toHex((await ring.next()).publicKey), a3)
    await ring.advance()
    assert.equal(toHex((await ring.current()).publicKey), n3, 'done: a repeated advance moves nothing')
  })

  it('in memory: the same moves', async () => {
    const first = seededSigner(40)
    let n = 41
    const ring = memoryKeyring(first, () => seededSigner(n++))
    const [current, next, after] = await hexOf(ring)
    assert.equal(current, toHex(first.publicKey))
    await ring.advance()
    assert.deepEqual((await hexOf(ring)).slice(0, 2), [next, after])
  })
})
