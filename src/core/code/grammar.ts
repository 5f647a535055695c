import { MalformedCodeError } from '../errors.ts'

/**
 * Code grammar (SPEC "Codes"):
 *
 *   code      = agency [ "." country [ "." division *6( "." sub ) ] ]
 *   agency    = 2UPALPHA                    ; issuing agency, e.g. "MA"
 *   country   = 3DIGIT                      ; ISO 3166-1 numeric, not "000"
 *   division  = 4DIGIT                      ; national division code or serial, not "0000"
 *   sub       = "0" NZDIGIT / NZDIGIT 1*7DIGIT  ; serial >= 1, two digits at least, no other leading zero
 *
 * Canonical form is the only accepted form: upper case, no whitespace, "." separators.
 */
export const MAX_SUB_SEGMENTS = 6
export const MAX_CODE_LENGTH = 64
export const AGENCY_DEPTH = 1
export const COUNTRY_DEPTH = 2
export const CITY_DEPTH = 3

/** A parsed code; `segments[0]` is the agency. Immutable by convention. */
export interface Code {
  readonly text: string
  readonly segments: readonly string[]
}

/**
 * Root and country codes. Every node keeps their records as its directory (they lead to every
 * authority), so every version of them, the first included, is gossiped to every node, and any copy
 * of one is as new as that gossip. Records of deeper codes are cached only once resolved. The
 * publisher, the resolver's cache and its holder check all follow this one rule.
 */
export function isDirectoryCode (code: string | Code): boolean {
  return (typeof code === 'string' ? parseCode(code) : code).segments.length <= COUNTRY_DEPTH
}

function fail (text: string, position: number, why: string): never {
  throw new MalformedCodeError(`malformed code "${text}" at position ${position}: ${why}`, { code: text, position })
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57
const isUpper = (c: number): boolean => c >= 65 && c <= 90

export function parseCode (text: string): Code {
  if (typeof text !== 'string') throw new MalformedCodeError('code must be a string', { position: 0 })
  if (text.length === 0) fail(text, 0, 'empty')
  if (text.length > MAX_CODE_LENGTH) fail(text, MAX_CODE_LENGTH, `longer than ${MAX_CODE_LENGTH} characters`)
  const segments = text.split('.')
  if (segments.length > CITY_DEPTH + MAX_SUB_SEGMENTS) {
    fail(text, offsetOf(segments, CITY_DEPTH + MAX_SUB_SEGMENTS) - 1, `more than ${MAX_SUB_SEGMENTS} sub-code segments`)
  }
  segments.forEach((segment, depth) => { checkSegment(text, segment, depth, offsetOf(segments, depth)) })
  return { text, segments }
}

function offsetOf (segments: readonly string[], index: number): number {
  let offset = 0
  for (let i = 0; i < index; i++) offset += (segments[i] as string).length + 1
  return offset
}

function checkSegment (text: string, segment: string, depth: number, at: number): void {
  if (segment.length === 0) fail(text, at, 'empty segment')
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i)
    if (depth === 0 ? !isUpper(c) : !isDigit(c)) {
      fail(text, at + i, depth === 0 ? 'agency must be upper-case letters A-Z' : 'segment must be digits 0-9')
    }
  }
  if (depth === 0) {
    if (segment.length !== 2) fail(text, at + Math.min(segment.length, 2), 'agency must be exactly 2 letters')
  } else if (depth === 1) {
    if (segment.length !== 3) fail(text, at + Math.min(segment.length, 3), 'country must be exactly 3 digits (ISO 3166-1 numeric)')
    if (segment === '000') fail(text, at, 'country 000 does not exist')
  } else if (depth === 2) {
    if (segment.length !== 4) fail(text, at + Math.min(segment.length, 4), 'division must be exactly 4 digits')
    if (segment === '0000') fail(text, at, 'division 0000 is reserved')
  } else {
    if (segment.length < 2) fail(text, at + segment.length, 'sub-code must have at least 2 digits')
    if (segment.length > 8) fail(text, at + 8, 'sub-code must have at most 8 digits')
    if (segment.charCodeAt(0) === 48 && (segment.length > 2 || segment === '00')) {
      fail(text, at, segment === '00' ? 'sub-code 00 is reserved' : 'leading zero: the canonical form pads to two digits only')
    }
  }
}

/**
 * Verification parses the same few namespaces (a certificate's, again for the allocation rule) on
 * every cold chain: remember codes that parsed (bounded), so only new texts pay for the grammar.
 */
const KNOWN_CODES_MAX = 10_000
const knownCodes = new Map<string, Code>()

/** parseCode, remembering successes; the same errors for bad input. */
export function parseKnownCode (text: string): Code {
  let code = knownCodes.get(text)
  if (code === undefined) {
    code = parseCode(text)
    if (knownCodes.size >= KNOWN_CODES_MAX) knownCodes.clear()
    knownCodes.set(text, code)
  }
  return code
}

/** True when `text` is a canonical code. */
export function isCode (text: string): boolean {
  if (knownCodes.has(text)) return true
  try {
    parseKnownCode(text)
    return true
  } catch {
    return false
  }
}

export function formatCode (segments: readonly string[]): string {
  return parseCode(segments.join('.')).text
}

/** Canonical text of sub-code serial `n` (1 -> "01", 123 -> "123"). */
export function formatSerial (n: number): string {
  if (!Number.isSafeInteger(n) || n < 1 || n > 99_999_999) throw new MalformedCodeError(`serial ${n} out of range 1..99999999`, { position: 0 })
  return n < 10 ? `0${n}` : String(n)
}

export function depth (code: Code): number {
  return code.segments.length
}

export function parent (code: Code): Code | undefined {
  if (code.segments.length <= 1) return undefined
  const segments = code.segments.slice(0, -1)
  return { text: segments.join('.'), segments }
}

export function child (code: Code, segment: string): Code {
  return parseCode(`${code.text}.${segment}`)
}

/** True when `ancestor` is a strict ancestor of `descendant` (by whole segments, never by text prefix). */
export function isAncestor (ancestor: Code, descendant: Code): boolean {
  if (ancestor.segments.length >= descendant.segments.length) return false
  return ancestor.segments.every((s, i) => s === descendant.segments[i])
}

/** True when `code` equals `namespace` or lies under it. Takes canonical texts: the hot path of verification. */
export function inNamespace (namespace: string, code: string): boolean {
  return code === namespace || (code.length > namespace.length && code.startsWith(namespace) && code.charCodeAt(namespace.length) === 46)
}

/** Every ancestor from the agency down to `code` itself. */
export function lineage (code: Code): Code[] {
  return code.segments.map((_, i) => {
    const segments = code.segments.slice(0, i + 1)
    return { text: segments.join('.'), segments }
  })
}
