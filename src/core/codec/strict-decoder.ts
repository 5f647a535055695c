import type { CborValue } from './cbor.ts'

/**
 * A decoder for the subset of DAG-CBOR that citycode objects use (unsigned and negative integers,
 * byte and text strings, arrays, maps with text keys, null, true, false) that accepts only the
 * canonical encoding: shortest lengths, map keys sorted length-first then bytewise and unique, no
 * indefinite lengths, no tags, no floats, no trailing bytes, bounded nesting. Checking canonical form
 * while decoding (instead of re-encoding and comparing) keeps record verification close to the
 * cost of the signature check itself (bench/verify). Byte strings are returned as views into the
 * input, never copied.
 */
export const MAX_NESTING = 16

export class StrictDecodeError extends Error {
  readonly offset: number
  constructor (message: string, offset: number) {
    super(`${message} at byte ${offset}`)
    this.name = 'StrictDecodeError'
    this.offset = offset
  }
}

// ignoreBOM: a leading U+FEFF is part of the text; stripping it would accept a second byte form.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

class Reader {
  readonly buf: Uint8Array
  pos = 0

  constructor (buf: Uint8Array) {
    this.buf = buf
  }

  fail (why: string, at = this.pos): never {
    throw new StrictDecodeError(why, at)
  }

  byte (): number {
    if (this.pos >= this.buf.length) this.fail('unexpected end of input')
    return this.buf[this.pos++] as number
  }

  /** Reads the argument of a head whose additional info is `info`, insisting on the shortest form. */
  argument (info: number, at: number): number {
    if (info < 24) return info
    const b = this.buf
    const p = this.pos
    switch (info) {
      case 24: {
        if (p + 1 > b.length) this.fail('unexpected end of input')
        const v = b[p] as number
        this.pos = p + 1
        if (v < 24) this.fail('non-canonical length or integer', at)
        return v
      }
      case 25: {
        if (p + 2 > b.length) this.fail('unexpected end of input')
        const v = ((b[p] as number) << 8) | (b[p + 1] as number)
        this.pos = p + 2
        if (v < 256) this.fail('non-canonical length or integer', at)
        return v
      }
      case 26: {
        if (p + 4 > b.length) this.fail('unexpected end of input')
        const v = ((b[p] as number) * 0x1000000) + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number))
        this.pos = p + 4
        if (v < 65536) this.fail('non-canonical length or integer', at)
        return v
      }
      case 27: {
        if (p + 8 > b.length) this.fail('unexpected end of input')
        const hi = ((b[p] as number) * 0x1000000) + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number))
        const lo = ((b[p + 4] as number) * 0x1000000) + (((b[p + 5] as number) << 16) | ((b[p + 6] as number) << 8) | (b[p + 7] as number))
        this.pos = p + 8
        if (hi === 0) this.fail('non-canonical length or integer', at)
        if (hi >= 0x200000) this.fail('integer larger than 2^53 - 1', at)
        return hi * 0x100000000 + lo
      }
      default:
        return this.fail(info === 31 ? 'indefinite length is not allowed' : 'reserved additional information', at)
    }
  }

  take (n: number): Uint8Array {
    if (n > this.buf.length - this.pos) this.fail('length runs past the end of input')
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  text (n: number): string {
    const at = this.pos
    const end = at + n
    if (n > this.buf.length - at) this.fail('length runs past the end of input')
    const b = this.buf
    // Most text (keys, codes, Latin names) is ASCII: building it here is cheaper than a decoder call
    // for strings this short.
    let out = ''
    for (let i = at; i < end; i++) {
      const c = b[i] as number
      if (c > 0x7f) {
        try {
          out = utf8.decode(b.subarray(at, end))
        } catch {
          return this.fail('text string is not valid UTF-8', at)
        }
        break
      }
      out += String.fromCharCode(c)
    }
    this.pos = end
    return out
  }

  value (depth: number): CborValue {
    if (depth > MAX_NESTING) this.fail(`nesting deeper than ${MAX_NESTING}`)
    const at = this.pos
    const head = this.byte()
    const major = head >> 5
    const info = head & 0x1f
    switch (major) {
      case 0: return this.argument(info, at)
      case 1: return -1 - this.argument(info, at)
      case 2: return this.take(this.argument(info, at))
      case 3: return this.text(this.argument(info, at))
      case 4: {
        const n = this.argument(info, at)
        if (n > this.buf.length - this.pos) this.fail('array longer than its input', at)
        const out: CborValue[] = new Array(n)
        for (let i = 0; i < n; i++) out[i] = this.value(depth + 1)
        return out
      }
      case 5: {
        const n = this.argument(info, at)
        if (n > this.buf.length - this.pos) this.fail('map longer than its input', at)
        const out: { [key: string]: CborValue } = {}
        let prevStart = -1
        let prevEnd = -1
        for (let i = 0; i < n; i++) {
          const keyAt = this.pos
          const keyHead = this.byte()
          if (keyHead >> 5 !== 3) this.fail('map key is not a text string', keyAt)
          const len = this.argument(keyHead & 0x1f, keyAt)
          const start = this.pos
          const key = this.text(len)
          if (prevStart >= 0 && compareKeys(this.buf, prevStart, prevEnd, start, this.pos) >= 0) {
            this.fail('map keys are not in canonical order or repeat', keyAt)
          }
          prevStart = start
          prevEnd = this.pos
          if (key === '__proto__') this.fail('map key "__proto__" is not allowed', keyAt)
          out[key] = this.value(depth + 1)
        }
        return out
      }
      case 6: return this.fail('tags are not allowed', at)
      default:
        if (info === 20) return false
        if (info === 21) return true
        if (info === 22) return null
        return this.fail(info >= 25 && info <= 27 ? 'floats are not allowed' : 'simple value is not allowed', at)
    }
  }
}

/** DAG-CBOR map key order: shorter keys first, then bytewise. */
function compareKeys (buf: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const la = aEnd - aStart
  const lb = bEnd - bStart
  if (la !== lb) return la - lb
  for (let i = 0; i < la; i++) {
    const d = (buf[aStart + i] as number) - (buf[bStart + i] as number)
    if (d !== 0) return d
  }
  return 0
}

export function decodeStrict (bytes: Uint8Array): CborValue {
  const reader = new Reader(bytes)
  const value = reader.value(0)
  if (reader.pos !== bytes.length) reader.fail('trailing bytes after the value')
  return value
}
