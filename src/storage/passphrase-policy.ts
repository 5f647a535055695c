import { WeakPassphraseError } from './errors.ts'

/** @libp2p/keychain refuses a passphrase shorter than 20 characters (its reading of NIST SP 800-132). */
export const MIN_PASSPHRASE_LENGTH = 20
export const MIN_PASSPHRASE_CLASSES = 2
export const MIN_PASSPHRASE_DISTINCT = 8

/** The rule in one sentence, as the CLI prints it and README.md states it. */
export const PASSPHRASE_RULE = `at least ${MIN_PASSPHRASE_LENGTH} characters, from at least ${MIN_PASSPHRASE_CLASSES} of lower-case letters, upper-case letters, digits and other characters (spaces, punctuation, letters without case), with at least ${MIN_PASSPHRASE_DISTINCT} different characters, and not a common password (several unrelated words with spaces between them will do)`

/**
 * The letters of passwords that top the public breach lists (and of this project's own names), so
 * `Password1234567890!!` or `citycode citycode citycode` is refused although it is long and mixed:
 * an attacker tries these first. Small on purpose: it catches the obvious, length does the rest.
 */
const COMMON = new Set([
  'password', 'passphrase', 'passwd', 'pass', 'qwerty', 'qwertyuiop', 'qwertz', 'azerty', 'asdf', 'asdfghjkl',
  'zxcvbnm', 'qazwsx', 'abc', 'abcdef', 'abcdefghijklmnopqrstuvwxyz', 'letmein', 'welcome', 'admin',
  'administrator', 'root', 'toor', 'login', 'iloveyou', 'monkey', 'dragon', 'football', 'baseball',
  'sunshine', 'princess', 'master', 'shadow', 'superman', 'batman', 'trustno', 'changeme', 'secret',
  'default', 'test', 'testing', 'guest', 'hello', 'freedom', 'whatever', 'correcthorsebatterystaple',
  'citycode', 'libp2p', 'keychain'
])

function characterClass (c: string): string {
  if (/\p{Ll}/u.test(c)) return 'lower-case letters'
  if (/\p{Lu}/u.test(c)) return 'upper-case letters'
  if (/\p{Nd}/u.test(c)) return 'digits'
  return 'other characters'
}

/** True when `letters` is one of the common words, or one repeated (`passwordpassword`). */
function isCommon (letters: string): boolean {
  if (COMMON.has(letters)) return true
  for (let n = 1; n <= letters.length / 2; n++) {
    if (letters.length % n !== 0) continue
    const unit = letters.slice(0, n)
    if (unit.repeat(letters.length / n) === letters && (COMMON.has(unit) || n <= 2)) return true
  }
  return false
}

/**
 * Throws WeakPassphraseError unless `passphrase` meets PASSPHRASE_RULE. Checked only where a new
 * keychain is made: an existing one keeps opening with the passphrase it was made with.
 */
export function assertStrongPassphrase (passphrase: string): void {
  const chars = [...passphrase]
  const refuse = (rule: string, why: string): never => {
    throw new WeakPassphraseError(`the keychain passphrase is too weak (${why}): use ${PASSPHRASE_RULE}`, { rule })
  }
  if (chars.length < MIN_PASSPHRASE_LENGTH) refuse('length', `${chars.length} characters`)
  const classes = new Set(chars.map(characterClass))
  if (classes.size < MIN_PASSPHRASE_CLASSES) refuse('classes', `only ${[...classes].join('')}`)
  const distinct = new Set(chars).size
  if (distinct < MIN_PASSPHRASE_DISTINCT) refuse('distinct', `only ${distinct} different characters`)
  const letters = passphrase.toLowerCase().replace(/[^\p{L}]/gu, '')
  if (letters.length > 0 && isCommon(letters)) refuse('common', 'a common password with digits or symbols around it')
}
