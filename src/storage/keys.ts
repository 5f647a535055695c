import { randomBytes } from 'node:crypto'
import { generateKeyPair, privateKeyFromRaw } from '@libp2p/crypto/keys'
import { keychain } from '@libp2p/keychain'
import type { DEKConfig, Keychain } from '@libp2p/keychain'
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, PrivateKey } from '@libp2p/interface'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { signerFromSeed } from '../core/crypto/signature.ts'
import type { Signer } from '../core/crypto/signature.ts'
import { KeychainParamsError, StorageError } from './errors.ts'
import { assertStrongPassphrase, MIN_PASSPHRASE_LENGTH } from './passphrase-policy.ts'

export { MIN_PASSPHRASE_LENGTH } from './passphrase-policy.ts'
export const PEER_KEY_NAME = 'self'

/**
 * Work factor of the keychain's key derivation: PBKDF2-HMAC-SHA512 with 210,000 iterations, the
 * OWASP Password Storage Cheat Sheet's figure (2023). SHA-512 rather than SHA-256 at 600,000: the
 * keychain derives with @noble/hashes in JavaScript, where 210k SHA-512 rounds cost about half of
 * 600k SHA-256 rounds for the same guidance (measured, docs/RELIABILITY.md row 52).
 */
export const KDF_HASH = 'sha2-512'
export const KDF_ITERATIONS = 210_000
/** 64 bytes: one SHA-512 block, so PBKDF2 runs its iterations once. */
export const KDF_KEY_LENGTH = 64
/** Random per keychain; 24 bytes are 32 base64 characters without padding (the keychain takes the salt as text). */
export const KDF_SALT_BYTES = 24
/** The least @libp2p/keychain accepts (NIST SP 800-132); only `insecureTestIterations` may go this low. */
const MIN_TEST_ITERATIONS = 1_000

/** Where the derivation parameters live, in the node's datastore beside the keys they unlock. */
export const KEYCHAIN_PARAMS_KEY = new Key('/citycode/keychain')
/** The keychain's own key prefix (`/pkcs8/<name>`, `/info/<name>`): its presence without params marks a legacy keychain. */
const KEYCHAIN_KEY_PREFIX = '/pkcs8/'
const KEYCHAIN_INFO_PREFIX = '/info/'

/**
 * What citycode before keychain params derived with: @libp2p/keychain 6's defaults, a salt every
 * installation shares and 10,000 iterations. Written out rather than read from the library, since
 * these open directories already on disk and must not move if the library's defaults do.
 */
const LEGACY_DEK: DEKConfig = {
  keyLength: 64,
  iterationCount: 10_000,
  salt: 'you should override this value with a crypto secure random number',
  hash: 'sha2-512'
}

/** The stored form (JSON under KEYCHAIN_PARAMS_KEY). */
export interface KeychainParams {
  readonly version: 1
  readonly kdf: 'pbkdf2'
  readonly hash: 'sha2-512' | 'sha2-256'
  readonly iterations: number
  readonly keyLength: number
  /** base64, KDF_SALT_BYTES random bytes. */
  readonly salt: string
}

export interface KeyStoreInit {
  logger?: ComponentLogger
  /**
   * Tests and simulations only: derive a new keychain with this many iterations (>= 1000) and accept
   * one stored with as few. Never read from a node config or the environment, so a deployed node
   * cannot be talked into a cheap derivation; without it, a keychain below KDF_ITERATIONS is refused.
   */
  insecureTestIterations?: number
  /** Called once when a keychain of the old fixed-salt format was re-encrypted under fresh params. */
  onUpgrade?: (params: KeychainParams) => void
}

/**
 * The keys of an authority across rotations (SPEC 4.4): the current one, the one its certificate
 * commits to next, and, while a rotation is made, the one the rotation link commits to.
 */
export interface AuthorityKeyring {
  current(): Promise<Signer>
  /** The key the current certificate commits to; created on first use. */
  next(): Promise<Signer>
  /** The key a rotation link commits to (the next key once rotated); created on first use. */
  after(): Promise<Signer>
  /**
   * Once the rotated chain is stored: the next key becomes the current one and the after key the
   * next. Does nothing when no after key was made; finishes a move a crash cut short (the node
   * calls it at start when its stored chain names the next key).
   */
  advance(): Promise<void>
  /** The key the last `advance` replaced, while it is kept. */
  retired(): Promise<Signer | undefined>
}

export const AUTHORITY_KEY_NAME = 'authority'
const NEXT_KEY_NAME = 'authority-next'
const AFTER_KEY_NAME = 'authority-after'
/** The key a rotation replaced, kept: the log and revocations it signed stay explainable. */
const RETIRED_KEY_NAME = 'authority-retired'

/** A keyring that lives as long as the process (a node without a data directory, tests). */
export function memoryKeyring (current: Signer, fresh: () => Signer): AuthorityKeyring {
  let keys: { current: Signer, next?: Signer, after?: Signer, retired?: Signer } = { current }
  return {
    current: async () => keys.current,
    next: async () => (keys.next ??= fresh()),
    after: async () => (keys.after ??= fresh()),
    advance: async () => {
      if (keys.after === undefined) return
      keys = { current: keys.next ?? fresh(), next: keys.after, retired: keys.current }
    },
    retired: async () => keys.retired
  }
}

/**
 * Keeps the node's libp2p identity and its authority signing keys in the encrypted keychain. The two
 * are separate keys on purpose: an authority key signs codes and can rotate; the peer key only
 * secures transport. The keychain is unlocked on first use (deriving its key costs ~1 s by design).
 */
export class KeyStore {
  private readonly datastore: Datastore
  private readonly passphrase: string
  private readonly init: KeyStoreInit
  private readonly logger: ComponentLogger
  private unlocking?: Promise<Keychain>

  constructor (datastore: Datastore, passphrase: string, init: KeyStoreInit = {}) {
    if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
      throw new StorageError(`keychain passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`, { field: 'passphrase' })
    }
    if (init.insecureTestIterations !== undefined && !(Number.isInteger(init.insecureTestIterations) && init.insecureTestIterations >= MIN_TEST_ITERATIONS)) {
      throw new KeychainParamsError(`insecureTestIterations must be an integer >= ${MIN_TEST_ITERATIONS}`, { field: 'iterations' })
    }
    this.datastore = datastore
    this.passphrase = passphrase
    this.init = init
    this.logger = init.logger ?? defaultLogger()
  }

  /** The libp2p private key, created on first use and the same after every restart. */
  async peerKey (): Promise<PrivateKey> {
    return await this.loadOrCreate(PEER_KEY_NAME)
  }

  /** An authority signing key by name (e.g. `authority`, `authority-next`), created on first use. */
  async authoritySigner (name: string): Promise<Signer> {
    const key = await this.loadOrCreate(`citycode-${name}`)
    return signerFromSeed(seedOf(key))
  }

  async hasKey (name: string): Promise<boolean> {
    const chain = await this.chain()
    try {
      await chain.findKeyByName(name)
      return true
    } catch {
      return false
    }
  }

  /** The authority keys in this keychain, for rotation. */
  keyring (): AuthorityKeyring {
    return {
      current: async () => await this.authoritySigner(AUTHORITY_KEY_NAME),
      next: async () => await this.authoritySigner(NEXT_KEY_NAME),
      after: async () => await this.authoritySigner(AFTER_KEY_NAME),
      advance: async () => {
        const chain = await this.chain()
        const after = `citycode-${AFTER_KEY_NAME}`
        // no after key: no rotation under way (or it is finished), nothing moves
        if (!(await this.hasKey(after))) return
        const seed = async (name: string): Promise<Uint8Array> => seedOf(await this.loadOrCreate(`citycode-${name}`))
        const [current, next] = [await seed(AUTHORITY_KEY_NAME), await seed(NEXT_KEY_NAME)]
        // each step leaves a state the next call finishes: the current key is replaced only while it
        // still differs from the next one, and the after key, whose presence says a move is under
        // way, is dropped last
        if (!Buffer.from(current).equals(Buffer.from(next))) {
          await this.importSeed(RETIRED_KEY_NAME, current)
          await this.importSeed(AUTHORITY_KEY_NAME, next)
        }
        await this.importSeed(NEXT_KEY_NAME, await seed(AFTER_KEY_NAME))
        await chain.removeKey(after)
      },
      retired: async () => await this.hasKey(`citycode-${RETIRED_KEY_NAME}`) ? await this.authoritySigner(RETIRED_KEY_NAME) : undefined
    }
  }

  /** Stores a signer seed under `name` (e.g. moving the pre-committed next key into place). */
  async importSeed (name: string, seed: Uint8Array): Promise<void> {
    const chain = await this.chain()
    const signer = signerFromSeed(seed)
    const raw = new Uint8Array(64)
    raw.set(seed, 0)
    raw.set(signer.publicKey, 32)
    const full = `citycode-${name}`
    if (await this.hasKey(full)) await chain.removeKey(full)
    await chain.importKey(full, privateKeyFromRaw(raw))
  }

  private async loadOrCreate (name: string): Promise<PrivateKey> {
    const chain = await this.chain()
    if (await this.hasKey(name)) {
      try {
        return await chain.exportKey(name)
      } catch (err) {
        throw new StorageError(`cannot decrypt key "${name}": wrong passphrase or damaged keychain (${(err as Error).message})`, { key: name })
      }
    }
    const key = await generateKeyPair('Ed25519')
    await chain.importKey(name, key)
    return key
  }

  private async chain (): Promise<Keychain> {
    this.unlocking ??= this.unlock()
    try {
      return await this.unlocking
    } catch (err) {
      // a failed unlock (wrong passphrase, weak one) is not remembered: the caller may retry
      this.unlocking = undefined
      throw err
    }
  }

  private async unlock (): Promise<Keychain> {
    const stored = await readParams(this.datastore)
    if (stored !== undefined) {
      const floor = this.init.insecureTestIterations ?? KDF_ITERATIONS
      if (stored.iterations < Math.min(floor, KDF_ITERATIONS)) {
        throw new KeychainParamsError(`the keychain's key derivation has ${stored.iterations} iterations, fewer than the ${KDF_ITERATIONS} this build requires (a test keychain?)`, { field: 'iterations' })
      }
      return this.open(stored)
    }
    if (await hasAny(this.datastore, KEYCHAIN_KEY_PREFIX)) return await this.upgradeLegacy()
    // a new keychain: the only moment a passphrase's strength can be asked for without locking anyone out
    assertStrongPassphrase(this.passphrase)
    const params = this.freshParams()
    await this.datastore.put(KEYCHAIN_PARAMS_KEY, new TextEncoder().encode(JSON.stringify(params)))
    return this.open(params)
  }

  /**
   * Re-encrypts every key of an old fixed-salt keychain under fresh params, in one batch with the
   * params themselves, so a crash leaves either the old keychain whole or the new one whole. A wrong
   * passphrase fails before anything is written.
   */
  private async upgradeLegacy (): Promise<Keychain> {
    const legacy = keychain({ pass: this.passphrase, dek: LEGACY_DEK })({ datastore: this.datastore, logger: this.logger })
    const params = this.freshParams()
    const scratch = new MemoryDatastore()
    const upgraded = this.open(params, scratch)
    const infos = await legacy.listKeys()
    for (const info of infos) {
      let key: PrivateKey
      try {
        key = await legacy.exportKey(info.name)
      } catch (err) {
        throw new StorageError(`cannot decrypt key "${info.name}" of the old-format keychain: wrong passphrase or damaged keychain (${(err as Error).message})`, { key: info.name })
      }
      await upgraded.importKey(info.name, key)
    }
    const batch = this.datastore.batch()
    for (const info of infos) {
      for (const prefix of [KEYCHAIN_KEY_PREFIX, KEYCHAIN_INFO_PREFIX]) {
        const k = new Key(prefix + info.name)
        batch.put(k, await scratch.get(k))
      }
    }
    batch.put(KEYCHAIN_PARAMS_KEY, new TextEncoder().encode(JSON.stringify(params)))
    await batch.commit()
    this.init.onUpgrade?.(params)
    return this.open(params)
  }

  private freshParams (): KeychainParams {
    return {
      version: 1,
      kdf: 'pbkdf2',
      hash: KDF_HASH,
      iterations: this.init.insecureTestIterations ?? KDF_ITERATIONS,
      keyLength: KDF_KEY_LENGTH,
      salt: randomBytes(KDF_SALT_BYTES).toString('base64')
    }
  }

  private open (params: KeychainParams, datastore: Datastore = this.datastore): Keychain {
    const dek: DEKConfig = { hash: params.hash, salt: params.salt, iterationCount: params.iterations, keyLength: params.keyLength }
    return keychain({ pass: this.passphrase, dek })({ datastore, logger: this.logger })
  }
}

/** The stored params, checked field by field; undefined for a keychain that has none (new or legacy). */
export async function readParams (datastore: Datastore): Promise<KeychainParams | undefined> {
  if (!(await datastore.has(KEYCHAIN_PARAMS_KEY))) return undefined
  let raw: unknown
  try {
    raw = JSON.parse(new TextDecoder().decode(await datastore.get(KEYCHAIN_PARAMS_KEY)))
  } catch (err) {
    throw new KeychainParamsError(`the keychain parameters are damaged (${(err as Error).message})`, { field: '(record)' })
  }
  const p = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
  const bad = (field: string): never => { throw new KeychainParamsError(`the keychain parameters are damaged: bad ${field}`, { field }) }
  if (p.version !== 1) bad('version')
  if (p.kdf !== 'pbkdf2') bad('kdf')
  if (p.hash !== 'sha2-512' && p.hash !== 'sha2-256') bad('hash')
  if (typeof p.iterations !== 'number' || !Number.isInteger(p.iterations)) bad('iterations')
  if (typeof p.keyLength !== 'number' || !Number.isInteger(p.keyLength) || p.keyLength < 16 || p.keyLength > 64) bad('keyLength')
  if (typeof p.salt !== 'string' || Buffer.from(p.salt, 'base64').length < 16) bad('salt')
  return p as unknown as KeychainParams
}

async function hasAny (datastore: Datastore, prefix: string): Promise<boolean> {
  for await (const _ of datastore.queryKeys({ prefix, limit: 1 })) return true
  return false
}

function seedOf (key: PrivateKey): Uint8Array {
  if (key.type !== 'Ed25519') throw new StorageError(`authority keys must be Ed25519, found ${key.type}`, {})
  return key.raw.subarray(0, 32)
}
