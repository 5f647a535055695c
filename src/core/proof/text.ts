import base45 from 'base45'
import { unzlibSync, zlibSync } from 'fflate'
import { BundleTextError } from './errors.ts'

/**
 * The text form of a bundle, for QR codes and anything else that carries text (SPEC "Bundle text
 * form"), after the EU Digital COVID Certificate: `CC1:` + base45(zlib(bundle bytes)). Every
 * character is in the QR alphanumeric set (0-9, A-Z, space, $%*+-./:), which QR packs at 5.5 bits
 * a character instead of 8, so base45's 1.5x expansion costs only ~3 % over binary mode.
 */
export const BUNDLE_TEXT_PREFIX = 'CC1:'
/** The largest bundle the text form inflates to (the bundle size limit; see bundle.ts). */
export const BUNDLE_TEXT_MAX_BYTES = 16 * 1024
/** Text longer than this is refused unread (base45 of the worst-case compressed bundle). */
export const BUNDLE_TEXT_MAX_CHARS = BUNDLE_TEXT_PREFIX.length + 2 * BUNDLE_TEXT_MAX_BYTES

const BASE45 = /^[0-9A-Z $%*+\-./:]*$/

export function bundleToText (bytes: Uint8Array): string {
  return BUNDLE_TEXT_PREFIX + base45.encode(zlibSync(bytes, { level: 9 }))
}

/** Bundle bytes from the text form; throws BundleTextError (details.reason) for anything that is not one. */
export function bundleFromText (input: string): Uint8Array {
  if (typeof input !== 'string') throw new BundleTextError('bundle text must be a string', { reason: 'not-text' })
  const text = input.trim()
  if (text.length > BUNDLE_TEXT_MAX_CHARS) throw new BundleTextError(`bundle text is ${text.length} characters, the limit is ${BUNDLE_TEXT_MAX_CHARS}`, { reason: 'too-long', length: text.length })
  if (!text.startsWith(BUNDLE_TEXT_PREFIX)) {
    throw new BundleTextError(`bundle text must start with ${BUNDLE_TEXT_PREFIX}`, { reason: 'prefix', found: text.slice(0, BUNDLE_TEXT_PREFIX.length) })
  }
  const payload = text.slice(BUNDLE_TEXT_PREFIX.length)
  if (!BASE45.test(payload)) {
    const position = [...payload].findIndex(c => !BASE45.test(c))
    throw new BundleTextError(`character ${JSON.stringify(payload[position])} at ${position + BUNDLE_TEXT_PREFIX.length} is not base45`, { reason: 'base45', position: position + BUNDLE_TEXT_PREFIX.length })
  }
  if (payload.length % 3 === 1) throw new BundleTextError('base45 text has a dangling character', { reason: 'base45', length: payload.length })
  const compressed = new Uint8Array(base45.decode(payload))
  // The library wraps a triple above 65535 (or a pair above 255) instead of refusing it; only the
  // one canonical spelling re-encodes to the same text.
  if (base45.encode(compressed) !== payload) throw new BundleTextError('base45 text has a group out of range', { reason: 'base45' })
  return inflate(compressed)
}

function inflate (compressed: Uint8Array): Uint8Array {
  if (compressed.length < 6 || ((compressed[0] as number) & 0x0f) !== 8 || (((compressed[0] as number) << 8) | (compressed[1] as number)) % 31 !== 0) {
    throw new BundleTextError('bundle text is not a zlib stream', { reason: 'zlib' })
  }
  let out: Uint8Array
  try {
    // One byte of room above the limit: filling it means the stream inflates to more than the limit.
    out = unzlibSync(compressed, { out: new Uint8Array(BUNDLE_TEXT_MAX_BYTES + 1) })
  } catch (err) {
    throw new BundleTextError(`bundle text does not inflate: ${(err as Error).message}`, { reason: 'zlib' })
  }
  if (out.length > BUNDLE_TEXT_MAX_BYTES) throw new BundleTextError(`bundle inflates to more than ${BUNDLE_TEXT_MAX_BYTES} bytes`, { reason: 'too-large' })
  const view = new DataView(compressed.buffer, compressed.byteOffset, compressed.byteLength)
  // fflate does not check the Adler-32 trailer; a damaged scan should be "unreadable", not "invalid".
  if (view.getUint32(compressed.length - 4) !== adler32(out)) throw new BundleTextError('bundle text fails its zlib checksum', { reason: 'checksum' })
  return out.slice()
}

/** RFC 1950 Adler-32. */
function adler32 (data: Uint8Array): number {
  let a = 1
  let b = 0
  for (let i = 0; i < data.length; i++) {
    a = (a + (data[i] as number)) % 65521
    b = (b + a) % 65521
  }
  return ((b << 16) | a) >>> 0
}
