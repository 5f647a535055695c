/**
 * Reads one object of a known shape straight from its canonical bytes, field by field in canonical
 * key order, without building a generic CBOR tree first. It never throws: the first surprise (an
 * unexpected key, type, length or non-shortest head, bad UTF-8, a value out of its bounds) clears
 * `ok`, every later read returns a placeholder, and the caller falls back to the general strict
 * decoder (strict-decoder.ts + FieldReader), which names the problem with its typed error. So
 * error reporting has one implementation, and this reader only has to be right about inputs it
 * accepts: those are exactly the canonical encodings of a valid shape, and it returns what the
 * general path returns for them (byte strings are views into the input there too).
 *
 * Why: on the verification hot path the generic decode (a map object per CBOR map, dynamic keys,
 * then a FieldReader pass over it) cost as much as a tenth of the Ed25519 check (bench/verify).
 */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const encoder = new TextEncoder()
const EMPTY = new Uint8Array(0)

/** The canonical encoding of a text string: what a map key must be byte for byte. */
export function encodedText (text: string): Uint8Array {
  const body = encoder.encode(text)
  if (body.length >= 24) throw new RangeError('encodedText is for short keys and literals')
  const out = new Uint8Array(body.length + 1)
  out[0] = 0x60 | body.length
  out.set(body, 1)
  return out
}

export class CanonicalCursor {
  readonly buf: Uint8Array
  pos = 0
  ok = true

  constructor (buf: Uint8Array) {
    this.buf = buf
  }

  /** Gives up on this input: the caller takes the general path. */
  miss (): void {
    this.ok = false
    this.pos = this.buf.length
  }

  /**
   * Reads a head of major type `major`; returns its argument in shortest form or -1 (and a miss).
   * Arguments above 2^53 - 1 are refused like the strict decoder refuses them.
   */
  head (major: number): number {
    const b = this.buf
    let p = this.pos
    if (p >= b.length) { this.miss(); return -1 }
    const h = b[p++] as number
    if (h >> 5 !== major) { this.miss(); return -1 }
    const info = h & 0x1f
    let v: number
    if (info < 24) {
      v = info
    } else if (info === 24) {
      if (p + 1 > b.length) { this.miss(); return -1 }
      v = b[p] as number
      p += 1
      if (v < 24) { this.miss(); return -1 }
    } else if (info === 25) {
      if (p + 2 > b.length) { this.miss(); return -1 }
      v = ((b[p] as number) << 8) | (b[p + 1] as number)
      p += 2
      if (v < 256) { this.miss(); return -1 }
    } else if (info === 26) {
      if (p + 4 > b.length) { this.miss(); return -1 }
      v = ((b[p] as number) * 0x1000000) + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number))
      p += 4
      if (v < 65536) { this.miss(); return -1 }
    } else if (info === 27) {
      if (p + 8 > b.length) { this.miss(); return -1 }
      const hi = ((b[p] as number) * 0x1000000) + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number))
      const lo = ((b[p + 4] as number) * 0x1000000) + (((b[p + 5] as number) << 16) | ((b[p + 6] as number) << 8) | (b[p + 7] as number))
      p += 8
      if (hi === 0 || hi >= 0x200000) { this.miss(); return -1 }
      v = hi * 0x100000000 + lo
    } else {
      this.miss()
      return -1
    }
    this.pos = p
    return v
  }

  /** Consumes exactly `expected` (a key, or a key and a literal value), or misses. */
  expect (expected: Uint8Array): void {
    const b = this.buf
    const p = this.pos
    const n = expected.length
    if (n > b.length - p) { this.miss(); return }
    for (let i = 0; i < n; i++) {
      if (b[p + i] !== expected[i]) { this.miss(); return }
    }
    this.pos = p + n
  }

  /** True (without consuming) when the next bytes are `expected`. */
  at (expected: Uint8Array): boolean {
    const b = this.buf
    const p = this.pos
    const n = expected.length
    if (n > b.length - p) return false
    for (let i = 0; i < n; i++) if (b[p + i] !== expected[i]) return false
    return true
  }

  mapOf (entries: number): void {
    if (this.head(5) !== entries) this.miss()
  }

  /** An array header of at most `maxItems` items; returns the count (0 after a miss). */
  arrayOf (maxItems: number): number {
    const n = this.head(4)
    if (n < 0 || n > maxItems || n > this.buf.length - this.pos) { this.miss(); return 0 }
    return n
  }

  uint (): number {
    const v = this.head(0)
    return v < 0 ? 0 : v
  }

  /** An integer (major type 0 or 1) in min..max. */
  int (min: number, max: number): number {
    const b = this.buf
    if (this.pos >= b.length) { this.miss(); return 0 }
    const negative = (b[this.pos] as number) >> 5 === 1
    const arg = this.head(negative ? 1 : 0)
    if (arg < 0) return 0
    const v = negative ? -1 - arg : arg
    if (v < min || v > max) { this.miss(); return 0 }
    return v
  }

  /** A byte string of any length up to `maxLength`, or exactly `length` when given. */
  bytes (maxLength: number, length = -1): Uint8Array {
    const n = this.head(2)
    if (n < 0 || n > this.buf.length - this.pos || n > maxLength || (length >= 0 && n !== length)) { this.miss(); return EMPTY }
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  /** `null` or a byte string of exactly `length` bytes. */
  bytesOrNull (length: number): Uint8Array | null {
    if (this.pos < this.buf.length && this.buf[this.pos] === 0xf6) {
      this.pos++
      return null
    }
    return this.bytes(length, length)
  }

  /** A text string of at most `maxLength` UTF-16 code units (the limit FieldReader applies). */
  text (maxLength: number): string {
    const n = this.head(3)
    const b = this.buf
    const start = this.pos
    if (n < 0 || n > b.length - start) { this.miss(); return '' }
    const end = start + n
    let out = ''
    for (let i = start; i < end; i++) {
      const c = b[i] as number
      if (c > 0x7f) {
        try {
          out = utf8.decode(b.subarray(start, end))
        } catch {
          this.miss()
          return ''
        }
        break
      }
      out += String.fromCharCode(c)
    }
    if (out.length > maxLength) { this.miss(); return '' }
    this.pos = end
    return out
  }

  /** True when every read matched and the whole input was consumed (no trailing bytes). */
  done (): boolean {
    return this.ok && this.pos === this.buf.length
  }
}
