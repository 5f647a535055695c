import { encodedText } from '../codec/canonical-cursor.ts'
import type { CanonicalCursor } from '../codec/canonical-cursor.ts'
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

// Each type's keys in canonical order; the first key alone tells the types apart.
const K_TYPE = encodedText('type')
const K_LANG = encodedText('lang')
const K_VALUE = encodedText('value')
const K_LAT = encodedText('lat')
const K_LON = encodedText('lon')
const K_ID = encodedText('id')
const K_URL = encodedText('url')
const K_NAME = encodedText('name')
const K_KEY = encodedText('key')
const T_NAME = Uint8Array.of(...K_TYPE, ...encodedText('name'))
const T_GEO = Uint8Array.of(...K_TYPE, ...encodedText('geo'))
const T_PEER = Uint8Array.of(...K_TYPE, ...encodedText('peer'))
const T_ADDR = Uint8Array.of(...K_TYPE, ...encodedText('addr'))
const T_SERVICE = Uint8Array.of(...K_TYPE, ...encodedText('service'))
const T_KEY = Uint8Array.of(...K_TYPE, ...encodedText('key'))
const T_DATA = Uint8Array.of(...K_TYPE, ...encodedText('data'))

/**
 * Fast path of `decodeValue` (see codec/canonical-cursor.ts): reads one value in canonical form
 * with the same bounds, or misses on `c` so the caller takes the general path.
 */
export function readValue (c: CanonicalCursor): RecordValue | undefined {
  const b = c.buf
  const p = c.pos
  const entries = p < b.length ? (b[p] as number) : 0
  if (entries === 0xa3) {
    c.pos++
    if (c.at(K_LANG)) {
      c.expect(K_LANG)
      const lang = c.text(16)
      c.expect(T_NAME)
      c.expect(K_VALUE)
      return { type: 'name', lang, value: c.text(TEXT_MAX) }
    }
    if (c.at(K_LAT)) {
      c.expect(K_LAT)
      const lat = c.int(-90_000_000, 90_000_000)
      c.expect(K_LON)
      const lon = c.int(-180_000_000, 180_000_000)
      c.expect(T_GEO)
      return { type: 'geo', lat, lon }
    }
    if (c.at(K_URL)) {
      c.expect(K_URL)
      const url = c.text(TEXT_MAX)
      c.expect(K_NAME)
      const name = c.text(SHORT_MAX)
      c.expect(T_SERVICE)
      return { type: 'service', name, url }
    }
    if (c.at(K_KEY)) {
      c.expect(K_KEY)
      const key = c.bytes(256)
      c.expect(K_NAME)
      const name = c.text(SHORT_MAX)
      c.expect(T_KEY)
      return { type: 'key', name, key }
    }
    c.expect(K_NAME)
    const name = c.text(SHORT_MAX)
    c.expect(T_DATA)
    c.expect(K_VALUE)
    return { type: 'data', name, value: c.text(TEXT_MAX) }
  }
  if (entries === 0xa2) {
    c.pos++
    if (c.at(K_ID)) {
      c.expect(K_ID)
      const id = c.text(128)
      c.expect(T_PEER)
      return { type: 'peer', id }
    }
    c.expect(T_ADDR)
    c.expect(K_VALUE)
    return { type: 'addr', value: c.text(256) }
  }
  c.miss()
  return undefined
}

export function encodeValue (value: RecordValue): CborMap {
  return { ...value }
}

/** Micro-degrees from degrees, rounded (the record stores integers). */
export function toMicroDegrees (degrees: number): number {
  return Math.round(degrees * 1e6)
}
