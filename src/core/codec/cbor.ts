import * as dagCbor from '@ipld/dag-cbor'
import { MalformedRecordError, RecordTooLargeError } from '../errors.ts'
import { decodeStrict } from './strict-decoder.ts'

/** A decoded DAG-CBOR value (no CIDs are used by citycode objects). */
export type CborValue = null | boolean | number | string | Uint8Array | CborValue[] | { [key: string]: CborValue }
export type CborMap = { [key: string]: CborValue }

export function encodeCbor (value: CborValue): Uint8Array {
  return dagCbor.encode(value)
}

/**
 * Decodes `bytes` as DAG-CBOR and insists they are the one canonical encoding of what they decode
 * to, so every signed object has exactly one byte form: no byte of it can change unnoticed, and
 * hashes of objects identify them.
 */
export function decodeCanonical (bytes: Uint8Array, maxBytes: number, what: string): CborValue {
  if (!(bytes instanceof Uint8Array)) throw new MalformedRecordError(`${what} must be bytes`, { what })
  if (bytes.length > maxBytes) {
    throw new RecordTooLargeError(`${what} is ${bytes.length} bytes, the limit is ${maxBytes}`, { what, size: bytes.length, limit: maxBytes })
  }
  try {
    return decodeStrict(bytes)
  } catch (err) {
    throw new MalformedRecordError(`${what} is not canonical DAG-CBOR: ${(err as Error).message}`, { what })
  }
}

/** Reads fields of a decoded map, naming the object and field in every error. */
export class FieldReader {
  readonly what: string
  readonly map: CborMap

  constructor (value: CborValue, what: string, allowed: readonly string[]) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
      throw new MalformedRecordError(`${what} must be a map`, { what })
    }
    this.what = what
    this.map = value
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) throw new MalformedRecordError(`${what} has unknown field "${key}"`, { what, field: key })
    }
  }

  private bad (field: string, why: string): never {
    throw new MalformedRecordError(`${this.what}.${field} ${why}`, { what: this.what, field })
  }

  has (field: string): boolean {
    return Object.hasOwn(this.map, field)
  }

  raw (field: string): CborValue {
    if (!this.has(field)) this.bad(field, 'is missing')
    return this.map[field] as CborValue
  }

  string (field: string, maxLength: number): string {
    const v = this.raw(field)
    if (typeof v !== 'string') this.bad(field, 'must be a string')
    if (v.length > maxLength) this.bad(field, `is longer than ${maxLength} characters`)
    return v
  }

  literal<T extends string | number> (field: string, expected: T): T {
    const v = this.raw(field)
    if (v !== expected) this.bad(field, `must be ${JSON.stringify(expected)}`)
    return expected
  }

  uint (field: string): number {
    const v = this.raw(field)
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.bad(field, 'must be a non-negative integer')
    return v
  }

  int (field: string, min: number, max: number): number {
    const v = this.raw(field)
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) this.bad(field, `must be an integer in ${min}..${max}`)
    return v
  }

  bytes (field: string, length?: number): Uint8Array {
    const v = this.raw(field)
    if (!(v instanceof Uint8Array)) this.bad(field, 'must be bytes')
    if (length !== undefined && v.length !== length) this.bad(field, `must be ${length} bytes`)
    return v
  }

  bytesOrNull (field: string, length: number): Uint8Array | null {
    return this.raw(field) === null ? null : this.bytes(field, length)
  }

  array (field: string, maxItems: number): CborValue[] {
    const v = this.raw(field)
    if (!Array.isArray(v)) this.bad(field, 'must be an array')
    if (v.length > maxItems) this.bad(field, `has more than ${maxItems} items`)
    return v
  }

  bytesArray (field: string, maxItems: number): Uint8Array[] {
    return this.array(field, maxItems).map((item, i) => {
      if (!(item instanceof Uint8Array)) this.bad(`${field}[${i}]`, 'must be bytes')
      return item
    })
  }

  stringArray (field: string, maxItems: number, maxLength: number): string[] {
    return this.array(field, maxItems).map((item, i) => {
      if (typeof item !== 'string' || item.length > maxLength) this.bad(`${field}[${i}]`, `must be a string of at most ${maxLength} characters`)
      return item
    })
  }
}
