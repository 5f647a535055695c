import { hash } from 'node:crypto'

/** One-shot hashing: a quarter of the cost of createHash().update().digest() for small objects. */
export function sha256 (data: Uint8Array): Uint8Array {
  return new Uint8Array(hash('sha256', data, 'buffer'))
}

export function toHex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export function fromHex (hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

/**
 * Past a few dozen bytes the native compare wins by far (certificates of ~300 bytes: 25 ns against
 * 500 ns for the loop), which matters for chain-cache hits; short keys stay in JS.
 */
const NATIVE_COMPARE_MIN = 48

/**
 * Node's native compare, looked up once: the global `Buffer` is a getter in Node 22, and reading it
 * on every call was most of this function's cost in a 1000-node simulation (5% of the process).
 * Absent outside Node (browsers), where the loop does the work.
 */
const nativeCompare: ((a: Uint8Array, b: Uint8Array) => number) | undefined = typeof Buffer === 'function' ? Buffer.compare.bind(Buffer) : undefined

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  if (nativeCompare !== undefined && a.length >= NATIVE_COMPARE_MIN) return nativeCompare(a, b) === 0
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Unsigned lexicographic byte order; the tie-breaker of the selection rule and of sorted sets. */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}
