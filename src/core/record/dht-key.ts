import { parseCode } from '../code/grammar.ts'
import { KeyMismatchError } from '../errors.ts'

/**
 * DHT keys (SPEC "DHT keys"): UTF-8 of `/citycode/r/<canonical code>` for records. kad-dht picks
 * the validator and selector by the first segment, `citycode`.
 */
export const DHT_NAMESPACE = 'citycode'
export const RECORD_KEY_PREFIX = `/${DHT_NAMESPACE}/r/`

const encoder = new TextEncoder()
// ignoreBOM: a key with a leading U+FEFF is another key, not this one.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function recordKey (code: string): Uint8Array {
  return encoder.encode(RECORD_KEY_PREFIX + parseCode(code).text)
}

/** The code a record key names; throws KeyMismatchError for a key that is not a record key. */
export function codeFromRecordKey (key: Uint8Array): string {
  let text: string
  try {
    text = decoder.decode(key)
  } catch {
    throw new KeyMismatchError('DHT key is not UTF-8', {})
  }
  if (!text.startsWith(RECORD_KEY_PREFIX)) throw new KeyMismatchError(`DHT key ${text.slice(0, 80)} is not a citycode record key`, { key: text.slice(0, 80) })
  return parseCode(text.slice(RECORD_KEY_PREFIX.length)).text
}
