import { FieldReader } from '../codec/cbor.ts'
import type { CborMap, CborValue } from '../codec/cbor.ts'
import { MalformedRecordError } from '../errors.ts'

/**
 * Typed values of a record, in the spirit of Handle System records: each has a `type` and the
 * fields that type defines. Coordinates are integer micro-degrees so the encoding is exact.
 */
export type RecordValue =
  | { type: 'name', lang: string, value: string }
  | { type: 'geo', lat: number, lon: number }
  | { type: 'peer', id: string }
  | { type: 'addr', value: string }
  | { type: 'service', name: string, url: string }
  | { type: 'key', name: string, key: Uint8Array }
  | { type: 'data', name: string, value: string }

export const MAX_VALUES = 64
const TEXT_MAX = 1024
const SHORT_MAX = 64

const FIELDS: Record<RecordValue['type'], readonly string[]> = {
  name: ['type', 'lang', 'value'],
  geo: ['type', 'lat', 'lon'],
  peer: ['type', 'id'],
  addr: ['type', 'value'],
  service: ['type', 'name', 'url'],
  key: ['type', 'name', 'key'],
  data: ['type', 'name', 'value']
}

export function decodeValue (value: CborValue, i: number): RecordValue {
  const what = `record body.values[${i}]`
  const type = value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array) ? value.type : undefined
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) {
    throw new MalformedRecordError(`${what}.type ${typeof type === 'string' ? `"${type.slice(0, SHORT_MAX)}" is unknown` : 'is missing'}`, { what, field: 'type' })
  }
  const r = new FieldReader(value, what, FIELDS[type as RecordValue['type']])
  switch (type) {
    case 'name': return { type, lang: r.string('lang', 16), value: r.string('value', TEXT_MAX) }
    case 'geo': return { type, lat: r.int('lat', -90_000_000, 90_000_000), lon: r.int('lon', -180_000_000, 180_000_000) }
    case 'peer': return { type, id: r.string('id', 128) }
    case 'addr': return { type, value: r.string('value', 256) }
    case 'service': return { type, name: r.string('name', SHORT_MAX), url: r.string('url', TEXT_MAX) }
    case 'key': {
      const key = r.bytes('key')
      if (key.length > 256) throw new MalformedRecordError(`${what}.key is longer than 256 bytes`, { what, field: 'key' })
      return { type, name: r.string('name', SHORT_MAX), key }
    }
    default: return { type: 'data', name: r.string('name', SHORT_MAX), value: r.string('value', TEXT_MAX) }
  }
}

export function encodeValue (value: RecordValue): CborMap {
  return { ...value }
}

/** Micro-degrees from degrees, rounded (the record stores integers). */
export function toMicroDegrees (degrees: number): number {
  return Math.round(degrees * 1e6)
}
