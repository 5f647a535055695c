import { generateKeyPair, privateKeyFromRaw } from '@libp2p/crypto/keys'
import { keychain } from '@libp2p/keychain'
import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, PrivateKey } from '@libp2p/interface'
import type { Keychain } from '@libp2p/keychain'
import type { Datastore } from 'interface-datastore'
import { signerFromSeed } from '../core/crypto/signature.ts'
import type { Signer } from '../core/crypto/signature.ts'
import { StorageError } from './errors.ts'

/** The libp2p keychain encrypts keys at rest with a key derived from this passphrase (>= 20 chars). */
export const MIN_PASSPHRASE_LENGTH = 20
export const PEER_KEY_NAME = 'self'

/**
 * Keeps the node's libp2p identity and its authority signing keys in the encrypted keychain. The two
 * are separate keys on purpose: an authority key signs codes and can rotate; the peer key only
 * secures transport.
 */
export class KeyStore {
  private readonly chain: Keychain

  constructor (datastore: Datastore, passphrase: string, logger: ComponentLogger = defaultLogger()) {
    if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
      throw new StorageError(`keychain passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`, { field: 'passphrase' })
    }
    this.chain = keychain({ pass: passphrase })({ datastore, logger })
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
    try {
      await this.chain.findKeyByName(name)
      return true
    } catch {
      return false
    }
  }

  /** Stores a signer seed under `name` (e.g. moving the pre-committed next key into place). */
  async importSeed (name: string, seed: Uint8Array): Promise<void> {
    const signer = signerFromSeed(seed)
    const raw = new Uint8Array(64)
    raw.set(seed, 0)
    raw.set(signer.publicKey, 32)
    const full = `citycode-${name}`
    if (await this.hasKey(full)) await this.chain.removeKey(full)
    await this.chain.importKey(full, privateKeyFromRaw(raw))
  }

  private async loadOrCreate (name: string): Promise<PrivateKey> {
    if (await this.hasKey(name)) {
      try {
        return await this.chain.exportKey(name)
      } catch (err) {
        throw new StorageError(`cannot decrypt key "${name}": wrong passphrase or damaged keychain (${(err as Error).message})`, { key: name })
      }
    }
    const key = await generateKeyPair('Ed25519')
    await this.chain.importKey(name, key)
    return key
  }
}

function seedOf (key: PrivateKey): Uint8Array {
  if (key.type !== 'Ed25519') throw new StorageError(`authority keys must be Ed25519, found ${key.type}`, {})
  return key.raw.subarray(0, 32)
}
