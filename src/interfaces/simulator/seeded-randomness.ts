import crypto from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'
import { Rng } from './rng.ts'

/**
 * Seeded randomness for a virtual-clock simulation (docs/SIMULATION.md, "Determinism"): while
 * installed, `Math.random`, `crypto.getRandomValues`, node's `randomBytes` / `randomFillSync` /
 * `randomUUID` / `randomInt` and X25519 / Ed25519 key generation (noise's ephemeral keys) all draw
 * from one generator seeded by the scenario, so one scenario and seed give one run. Installed by the
 * simulator's runner only: never reachable from `citycode node start`.
 */
export interface SeededRandomness {
  /** `n` bytes from the seeded stream. */
  bytes(n: number): Uint8Array
  uninstall(): void
}

type Restore = () => void

// DER prefixes of a PKCS #8 private key of 32 raw bytes (RFC 8410), by algorithm
const PKCS8_PREFIX: Record<'x25519' | 'ed25519', Buffer> = {
  x25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
  ed25519: Buffer.from('302e020100300506032b657004220420', 'hex')
}

interface KeyEncoding { type: string, format: 'der' | 'pem' | 'jwk' }

function exportKey (key: KeyObject, encoding: KeyEncoding | undefined): KeyObject | string | Buffer | object {
  if (encoding === undefined) return key
  // the shapes node's generateKeyPairSync accepts for these encodings
  return key.export(encoding as Parameters<KeyObject['export']>[0])
}

let active: SeededRandomness | undefined

export function installSeededRandomness (seed: number): SeededRandomness {
  if (active !== undefined) throw new Error('seeded randomness is already installed')
  const rng = new Rng(seed ^ 0x72616e64)
  const fill = <T extends ArrayBufferView>(view: T): T => {
    const u8 = new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
    for (let i = 0; i < u8.length; i += 4) {
      let word = Math.floor(rng.next() * 0x1_0000_0000)
      for (let j = i; j < Math.min(i + 4, u8.length); j++) { u8[j] = word & 0xff; word >>>= 8 }
    }
    return view
  }
  const bytes = (n: number): Uint8Array => fill(new Uint8Array(n))
  const restores: Restore[] = []
  const replace = <O extends object, K extends keyof O>(target: O, key: K, value: O[K]): void => {
    const before = Object.getOwnPropertyDescriptor(target, key)
    Object.defineProperty(target, key, { configurable: true, writable: true, value })
    restores.push(() => { if (before !== undefined) Object.defineProperty(target, key, before); else Reflect.deleteProperty(target, key) })
  }

  replace(Math, 'random', () => rng.next())
  const webcrypto = globalThis.crypto
  replace(webcrypto, 'getRandomValues', (<T extends ArrayBufferView | null>(view: T): T => view === null ? view : fill(view)) as typeof webcrypto.getRandomValues)
  replace(webcrypto, 'randomUUID', (() => uuidOf(bytes(16))) as typeof webcrypto.randomUUID)
  const nodeCrypto = crypto as unknown as Record<string, unknown>
  replace(nodeCrypto, 'randomBytes', ((n: number, cb?: (err: Error | null, buf: Buffer) => void) => {
    const buf = Buffer.from(bytes(n))
    if (cb === undefined) return buf
    queueMicrotask(() => { cb(null, buf) })
    return undefined
  }) as typeof crypto.randomBytes)
  replace(nodeCrypto, 'randomFillSync', (<T extends ArrayBufferView>(view: T, offset = 0, size?: number): T => {
    const len = size ?? view.byteLength - offset
    fill(new Uint8Array(view.buffer, view.byteOffset + offset, len))
    return view
  }) as typeof crypto.randomFillSync)
  replace(nodeCrypto, 'randomUUID', (() => uuidOf(bytes(16))) as typeof crypto.randomUUID)
  replace(nodeCrypto, 'randomInt', ((a: number, b?: number) => {
    const [min, max] = b === undefined ? [0, a] : [a, b]
    return min + Math.floor(rng.next() * (max - min))
  }) as typeof crypto.randomInt)
  const realGenerate = crypto.generateKeyPairSync
  replace(nodeCrypto, 'generateKeyPairSync', ((type: string, options?: { publicKeyEncoding?: KeyEncoding, privateKeyEncoding?: KeyEncoding }) => {
    if (type !== 'x25519' && type !== 'ed25519') return (realGenerate as (t: string, o?: object) => unknown)(type, options)
    const privateKey = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX[type], bytes(32)]), format: 'der', type: 'pkcs8' })
    const publicKey = crypto.createPublicKey(privateKey)
    return { publicKey: exportKey(publicKey, options?.publicKeyEncoding), privateKey: exportKey(privateKey, options?.privateKeyEncoding) }
  }) as typeof crypto.generateKeyPairSync)
  // named ESM imports of node:crypto are live bindings of these exports
  syncBuiltinESMExports()

  active = {
    bytes,
    uninstall () {
      for (const restore of restores.reverse()) restore()
      syncBuiltinESMExports()
      active = undefined
    }
  }
  return active
}

function uuidOf (b: Uint8Array): `${string}-${string}-${string}-${string}-${string}` {
  b[6] = ((b[6] as number) & 0x0f) | 0x40
  b[8] = ((b[8] as number) & 0x3f) | 0x80
  const h = Buffer.from(b).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
