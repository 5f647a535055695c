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

export function decodeValue (value: CborValue, i: number): RecordValue {
  const what = `record body.values[${i}]`
  const probe = new FieldReader(value, what, ['type', 'lang', 'value', 'lat', 'lon', 'id', 'name', 'url', 'key'])
  const type = probe.string('type', SHORT_MAX)
  switch (type) {
    case 'name': {
      const r = new FieldReader(value, what, ['type', 'lang', 'value'])
      return { type, lang: r.string('lang', 16), value: r.string('value', TEXT_MAX) }
    }
    case 'geo': {
      const r = new FieldReader(value, what, ['type', 'lat', 'lon'])
      return { type, lat: r.int('lat', -90_000_000, 90_000_000), lon: r.int('lon', -180_000_000, 180_000_000) }
    }
    case 'peer': {
      const r = new FieldReader(value, what, ['type', 'id'])
      return { type, id: r.string('id', 128) }
    }
    case 'addr': {
      const r = new FieldReader(value, what, ['type', 'value'])
      return { type, value: r.string('value', 256) }
    }
    case 'service': {
      const r = new FieldReader(value, what, ['type', 'name', 'url'])
      return { type, name: r.string('name', SHORT_MAX), url: r.string('url', TEXT_MAX) }
    }
    case 'key': {
      const r = new FieldReader(value, what, ['type', 'name', 'key'])
      const key = r.bytes('key')
      if (key.length > 256) throw new MalformedRecordError(`${what}.key is longer than 256 bytes`, { what, field: 'key' })
      return { type, name: r.string('name', SHORT_MAX), key }
    }
    case 'data': {
      const r = new FieldReader(value, what, ['type', 'name', 'value'])
      return { type, name: r.string('name', SHORT_MAX), value: r.string('value', TEXT_MAX) }
    }
    default:
      throw new MalformedRecordError(`${what}.type "${type}" is unknown`, { what, field: 'type' })
  }
}

export function encodeValue (value: RecordValue): CborMap {
  return { ...value }
}

/** Micro-degrees from degrees, rounded (the record stores integers). */
export function toMicroDegrees (degrees: number): number {
  return Math.round(degrees * 1e6)
}
