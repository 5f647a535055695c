import { createPrivateKey, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { MalformedRecordError } from '../errors.ts'
import { equalBytes } from './hash.ts'

/**
 * Domain separation: every signature covers `"citycode-" + domain + ":v1\0" || body`, so a
 * signature made for one kind of object can never be replayed as another (SPEC "Signatures").
 */
export type SignatureDomain =
  | 'record'
  | 'cert'
  | 'revocation'
  | 'rotation'
  | 'tree-head'
  | 'cosignature'
  | 'absence'
  | 'application'
  | 'bundle'
  | 'revocation-status'
  | 'invitation'
  | 'catalogue'
  | 'exchange-request'
  | 'exchange-receipt'

export const ED25519_PUBLIC_KEY_BYTES = 32
export const ED25519_SIGNATURE_BYTES = 64

const encoder = new TextEncoder()
const prefixes = new Map<SignatureDomain, Uint8Array>()

function domainPrefix (domain: SignatureDomain): Uint8Array {
  let prefix = prefixes.get(domain)
  if (prefix === undefined) {
    prefix = encoder.encode(`citycode-${domain}:v1\0`)
    prefixes.set(domain, prefix)
  }
  return prefix
}

export function signingPayload (domain: SignatureDomain, body: Uint8Array): Uint8Array {
  const prefix = domainPrefix(domain)
  const out = new Uint8Array(prefix.length + body.length)
  out.set(prefix, 0)
  out.set(body, prefix.length)
  return out
}

// DER prefixes of SubjectPublicKeyInfo / PKCS#8 for Ed25519 (RFC 8410), so raw 32-byte keys can be
// handed to node:crypto without a round trip through another key library.
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20])

/**
 * Building a KeyObject costs about as much as a verify; a resolver sees the same few authority keys
 * over and over, so they are kept (bounded, oldest dropped first). The map is keyed by a number
 * made of six key bytes (no string to build per lookup); a hit is confirmed against the whole key,
 * so keys sharing those bytes only cost each other a rebuild.
 */
const KEY_CACHE_MAX = 4096
const keyCache = new Map<number, { raw: Uint8Array, key: KeyObject }>()

function publicKeyObject (publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new MalformedRecordError(`Ed25519 public key must be ${ED25519_PUBLIC_KEY_BYTES} bytes, got ${publicKey.length}`, { field: 'key' })
  }
  const id = ((publicKey[0] as number) | ((publicKey[1] as number) << 8) | ((publicKey[2] as number) << 16)) +
    ((publicKey[3] as number) | ((publicKey[4] as number) << 8) | ((publicKey[5] as number) << 16)) * 0x1000000
  const cached = keyCache.get(id)
  if (cached !== undefined && equalBytes(cached.raw, publicKey)) return cached.key
  const der = new Uint8Array(SPKI_PREFIX.length + publicKey.length)
  der.set(SPKI_PREFIX, 0)
  der.set(publicKey, SPKI_PREFIX.length)
  const key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' })
  if (cached === undefined && keyCache.size >= KEY_CACHE_MAX) {
    const oldest = keyCache.keys().next().value
    if (oldest !== undefined) keyCache.delete(oldest)
  }
  keyCache.set(id, { raw: Uint8Array.from(publicKey), key })
  return key
}

/**
 * The payload (prefix || body) is assembled in one reused buffer instead of a fresh allocation per
 * check: verification is synchronous, so nothing else can see the buffer while it is in use.
 */
let scratch = new Uint8Array(4096)

/** Verifies a domain-separated Ed25519 signature; false (never a throw) for a wrong-length signature. */
export function verifySignature (domain: SignatureDomain, body: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false
  const key = publicKeyObject(publicKey)
  const prefix = domainPrefix(domain)
  const length = prefix.length + body.length
  if (length > scratch.length) scratch = new Uint8Array(Math.max(length, 2 * scratch.length))
  scratch.set(prefix, 0)
  scratch.set(body, prefix.length)
  return nodeVerify(null, scratch.subarray(0, length), key, signature)
}

/** Something that can sign for one Ed25519 key: an authority key, kept apart from the libp2p peer id. */
export interface Signer {
  readonly publicKey: Uint8Array
  sign(domain: SignatureDomain, body: Uint8Array): Uint8Array
}

/** A signer from a 32-byte Ed25519 seed (the private key as RFC 8032 defines it). */
export function signerFromSeed (seed: Uint8Array): Signer {
  if (seed.length !== 32) throw new MalformedRecordError(`Ed25519 seed must be 32 bytes, got ${seed.length}`, { field: 'seed' })
  const der = new Uint8Array(PKCS8_PREFIX.length + 32)
  der.set(PKCS8_PREFIX, 0)
  der.set(seed, PKCS8_PREFIX.length)
  const privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32))
  return {
    publicKey,
    sign: (domain, body) => new Uint8Array(nodeSign(null, signingPayload(domain, body), privateKey))
  }
}

export function generateSeed (): Uint8Array {
  return new Uint8Array(randomBytes(32))
}
