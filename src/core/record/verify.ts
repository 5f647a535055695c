import { checkAllocationRule } from '../allocation/rule.ts'
import { inNamespace, parseCode } from '../code/grammar.ts'
import type { Code } from '../code/grammar.ts'
import { equalBytes } from '../crypto/hash.ts'
import { verifySignature } from '../crypto/signature.ts'
import {
  BadSignatureError, ExpiredError, KeyMismatchError, NamespaceViolationError, NotYetValidError,
  PermissionError, WrongKeyError
} from '../errors.ts'
import type { TrustAnchor } from '../trust/anchors.ts'
import { ChainVerifier } from '../trust/chain.ts'
import type { VerifiedChain } from '../trust/chain.ts'
import type { RevocationSet } from '../trust/revocation.ts'
import { decodeRecord } from './record.ts'
import type { SignedRecord } from './record.ts'

/** Clocks of honest nodes disagree; a record issued this far in the future is still accepted. */
export const CLOCK_SKEW_MS = 5 * 60_000

export interface VerifyOptions {
  now: number
  /** The code the record was looked up under (e.g. from its DHT key): it must be the record's code. */
  expectedCode?: string
  revocations?: RevocationSet
}

export interface VerifiedRecord {
  readonly record: SignedRecord
  readonly chain: VerifiedChain
}

/**
 * Verifies signed record bytes offline, in the order SPEC "Validation order" gives: size and
 * decoding, code, key match, allocation rule, chain, signer key and permission, namespace,
 * validity window, signature. The first failure is thrown as its typed error.
 */
export function verifyRecord (bytes: Uint8Array | SignedRecord, chains: ChainVerifier, options: VerifyOptions): VerifiedRecord {
  const record = bytes instanceof Uint8Array ? decodeRecord(bytes) : bytes
  const body = record.body
  const code = checkedCode(body.code)
  if (options.expectedCode !== undefined && options.expectedCode !== code.text) {
    throw new KeyMismatchError(`record for ${code.text} was found under ${options.expectedCode}`, { code: code.text, expected: options.expectedCode })
  }
  const chain = chains.verify(record.chain, body.key, { now: options.now, revocations: options.revocations })
  if (!equalBytes(chain.subject, body.key)) throw new WrongKeyError(`record for ${code.text} is signed by a key its chain does not certify`, { code: code.text })
  if (!chain.perms.includes('sign')) throw new PermissionError(`the key certified for ${chain.namespace} may not sign records`, { code: code.text, namespace: chain.namespace })
  if (!inNamespace(chain.namespace, code.text)) {
    throw new NamespaceViolationError(`record for ${code.text} is outside the namespace ${chain.namespace} its signer holds`, { code: code.text, namespace: chain.namespace })
  }
  if (body.issuedAt > options.now + CLOCK_SKEW_MS) throw new NotYetValidError(`record for ${code.text} is issued in the future`, { code: code.text })
  if (options.now >= body.expiresAt) throw new ExpiredError(`record for ${code.text} expired at ${new Date(body.expiresAt).toISOString()}`, { code: code.text })
  if (!verifySignature('record', record.bodyBytes, record.sig, body.key)) throw new BadSignatureError(`signature on the record for ${code.text} does not verify`, { code: code.text })
  return { record, chain }
}

/**
 * Grammar and allocation rule are pure functions of the code text, and a resolver sees the same
 * codes again and again: remember the ones that passed (bounded), so only new codes pay for parsing.
 */
const CHECKED_CODES_MAX = 10_000
const checkedCodes = new Map<string, Code>()

function checkedCode (text: string): Code {
  let code = checkedCodes.get(text)
  if (code === undefined) {
    code = parseCode(text)
    checkAllocationRule(code)
    if (checkedCodes.size >= CHECKED_CODES_MAX) checkedCodes.clear()
    checkedCodes.set(text, code)
  }
  return code
}

/** One-shot verification with no cache: `verify(record, anchors, now)`. */
export function verify (bytes: Uint8Array, anchors: readonly TrustAnchor[], now: number, options: Omit<VerifyOptions, 'now'> = {}): VerifiedRecord {
  return verifyRecord(bytes, new ChainVerifier(anchors, 16), { ...options, now })
}
