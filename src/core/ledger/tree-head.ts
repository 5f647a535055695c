import { isCode } from '../code/grammar.ts'
import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { equalBytes, sha256 } from '../crypto/hash.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, verifySignature } from '../crypto/signature.ts'
import type { Signer } from '../crypto/signature.ts'
import { BadSignatureError, MalformedRecordError } from '../errors.ts'
import {
  BadTreeHeadError, InsufficientCosignaturesError, TreeHeadFromFutureError, TreeHeadTooOldError
} from './errors.ts'
import { emptyRoot, HASH_BYTES, MAX_TREE_SIZE } from './merkle.ts'

/**
 * Signed tree heads (STH) and witness cosignatures.
 *
 *   TreeHeadBody   = { v: 1, type: "tree-head", log: code, size: uint, root: bytes(32), time: uint }
 *   SignedTreeHead = { body: bytes(TreeHeadBody), sig: bytes(64) }       ; domain "tree-head", <= 1 KiB
 *   CosignedBody   = { v: 1, type: "cosignature", head: bytes(32), time: uint }  ; head = SHA-256(body)
 *   Cosignature    = { witness: bytes(32), time: uint, sig: bytes(64) }  ; sig over CosignedBody, domain "cosignature"
 */
export const TREE_HEAD_MAX_BYTES = 1024
export const COSIGNATURE_MAX_BYTES = 256
/** Same allowance as records (SPEC 5.2): a timestamp may run this far ahead of the verifier's clock. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000

export interface TreeHead {
  readonly v: 1
  readonly type: 'tree-head'
  /** The log's id: the namespace of the authority that keeps it, e.g. "MA.156". */
  readonly log: string
  readonly size: number
  readonly root: Uint8Array
  readonly time: number
}

export type TreeHeadFields = Pick<TreeHead, 'log' | 'size' | 'root' | 'time'>

/** A decoded (not yet verified) signed tree head. */
export interface SignedTreeHead {
  readonly head: TreeHead
  readonly bodyBytes: Uint8Array
  readonly sig: Uint8Array
  readonly bytes: Uint8Array
}

function checkFields (f: TreeHeadFields): void {
  if (typeof f.log !== 'string' || !isCode(f.log)) throw new MalformedRecordError('tree head body.log must be a canonical code', { what: 'tree head body', field: 'log' })
  if (!Number.isSafeInteger(f.size) || f.size < 0 || f.size > MAX_TREE_SIZE) throw new MalformedRecordError('tree head body.size must be a non-negative integer', { what: 'tree head body', field: 'size' })
  if (!(f.root instanceof Uint8Array) || f.root.length !== HASH_BYTES) throw new MalformedRecordError(`tree head body.root must be ${HASH_BYTES} bytes`, { what: 'tree head body', field: 'root' })
  if (!Number.isSafeInteger(f.time) || f.time < 0) throw new MalformedRecordError('tree head body.time must be a non-negative integer', { what: 'tree head body', field: 'time' })
  if (f.size === 0 && !equalBytes(f.root, emptyRoot())) {
    throw new BadTreeHeadError('a tree head of size 0 must carry the empty root', { log: f.log, size: 0 })
  }
}

export function encodeTreeHeadBody (fields: TreeHeadFields): Uint8Array {
  checkFields(fields)
  return encodeCbor({ v: 1, type: 'tree-head', log: fields.log, size: fields.size, root: fields.root, time: fields.time })
}

/** Signs a tree head with the log's authority key (domain "tree-head"). */
export function signTreeHead (fields: TreeHeadFields, signer: Signer): SignedTreeHead {
  const bodyBytes = encodeTreeHeadBody(fields)
  return decodeSignedTreeHead(encodeCbor({ body: bodyBytes, sig: signer.sign('tree-head', bodyBytes) }))
}

export function decodeTreeHeadBody (bytes: Uint8Array): TreeHead {
  const r = new FieldReader(decodeCanonical(bytes, TREE_HEAD_MAX_BYTES, 'tree head body'), 'tree head body', ['v', 'type', 'log', 'size', 'root', 'time'])
  r.literal('v', 1)
  r.literal('type', 'tree-head')
  const head: TreeHead = { v: 1, type: 'tree-head', log: r.string('log', 64), size: r.uint('size'), root: r.bytes('root', HASH_BYTES), time: r.uint('time') }
  checkFields(head)
  return head
}

/** Strict decoding: canonical DAG-CBOR, exact shape, at most 1 KiB. Does not check the signature. */
export function decodeSignedTreeHead (bytes: Uint8Array): SignedTreeHead {
  const env = new FieldReader(decodeCanonical(bytes, TREE_HEAD_MAX_BYTES, 'tree head'), 'tree head', ['body', 'sig'])
  const bodyBytes = env.bytes('body')
  const sig = env.bytes('sig', ED25519_SIGNATURE_BYTES)
  return { head: decodeTreeHeadBody(bodyBytes), bodyBytes, sig, bytes }
}

export interface TreeHeadCheck {
  /** The log the head must belong to. */
  log?: string
  /** The verifier's clock; enables the freshness checks. */
  now?: number
  /** With `now`: reject heads older than this (TreeHeadTooOldError). */
  maxAgeMs?: number
  maxSkewMs?: number
}

function checkTime (time: number, now: number | undefined, maxAgeMs: number | undefined, maxSkewMs: number, what: string): void {
  if (now === undefined) return
  if (time > now + maxSkewMs) throw new TreeHeadFromFutureError(`${what} is dated ${time - now} ms in the future`, { what, time, now })
  if (maxAgeMs !== undefined && now - time > maxAgeMs) {
    throw new TreeHeadTooOldError(`${what} is ${now - time} ms old, the limit is ${maxAgeMs}`, { what, age: now - time, maxAge: maxAgeMs })
  }
}

/**
 * Decodes (if given bytes) and verifies a signed tree head against the log's public key; checks the
 * log id and freshness when asked. Throws MalformedRecordError, BadTreeHeadError, BadSignatureError,
 * TreeHeadFromFutureError, TreeHeadTooOldError.
 */
export function verifyTreeHead (input: SignedTreeHead | Uint8Array, publicKey: Uint8Array, check: TreeHeadCheck = {}): SignedTreeHead {
  const sth = input instanceof Uint8Array ? decodeSignedTreeHead(input) : input
  if (check.log !== undefined && sth.head.log !== check.log) {
    throw new BadTreeHeadError(`tree head of log ${sth.head.log}, expected ${check.log}`, { log: sth.head.log, expected: check.log })
  }
  if (!verifySignature('tree-head', sth.bodyBytes, sth.sig, publicKey)) {
    throw new BadSignatureError(`tree head signature of log ${sth.head.log} at size ${sth.head.size} does not verify`, { what: 'tree head', log: sth.head.log, size: sth.head.size })
  }
  checkTime(sth.head.time, check.now, check.maxAgeMs, check.maxSkewMs ?? MAX_CLOCK_SKEW_MS, 'tree head')
  return sth
}

/** What a cosignature commits to: SHA-256 of the tree head body bytes. */
export function treeHeadHash (sth: SignedTreeHead): Uint8Array {
  return sha256(sth.bodyBytes)
}

// ---------------------------------------------------------------------------------------------
// Cosignatures

export interface Cosignature {
  readonly witness: Uint8Array
  readonly time: number
  readonly sig: Uint8Array
}

/** The bytes a witness signs (domain "cosignature"): the head's body hash and the witness's own clock. */
export function encodeCosignedBody (headHash: Uint8Array, time: number): Uint8Array {
  if (!(headHash instanceof Uint8Array) || headHash.length !== HASH_BYTES) throw new MalformedRecordError('cosigned body.head must be 32 bytes', { what: 'cosigned body', field: 'head' })
  if (!Number.isSafeInteger(time) || time < 0) throw new MalformedRecordError('cosigned body.time must be a non-negative integer', { what: 'cosigned body', field: 'time' })
  return encodeCbor({ v: 1, type: 'cosignature', head: headHash, time })
}

/** A witness's statement "I saw this head at `time`" (the witness should first check consistency with what it saw before). */
export function cosign (sth: SignedTreeHead, witness: Signer, time: number): Cosignature {
  return { witness: witness.publicKey, time, sig: witness.sign('cosignature', encodeCosignedBody(treeHeadHash(sth), time)) }
}

export function encodeCosignature (c: Cosignature): Uint8Array {
  return encodeCbor({ witness: c.witness, time: c.time, sig: c.sig })
}

export function decodeCosignature (bytes: Uint8Array): Cosignature {
  const r = new FieldReader(decodeCanonical(bytes, COSIGNATURE_MAX_BYTES, 'cosignature'), 'cosignature', ['witness', 'time', 'sig'])
  return { witness: r.bytes('witness', ED25519_PUBLIC_KEY_BYTES), time: r.uint('time'), sig: r.bytes('sig', ED25519_SIGNATURE_BYTES) }
}

/**
 * One cosignature: the signature verifies, and it is not dated before the head (beyond clock skew),
 * nor, given `now`, in the future or older than `maxAgeMs`. Does not check the witness is configured.
 */
export function verifyCosignature (sth: SignedTreeHead, c: Cosignature, check: Omit<TreeHeadCheck, 'log'> = {}): void {
  const skew = check.maxSkewMs ?? MAX_CLOCK_SKEW_MS
  if (c.witness.length !== ED25519_PUBLIC_KEY_BYTES || !verifySignature('cosignature', encodeCosignedBody(treeHeadHash(sth), c.time), c.sig, c.witness)) {
    throw new BadSignatureError('cosignature does not verify', { what: 'cosignature', log: sth.head.log, size: sth.head.size })
  }
  if (c.time + skew < sth.head.time) {
    throw new TreeHeadFromFutureError('cosignature is dated before the head it cosigns', { what: 'cosignature', time: c.time, headTime: sth.head.time })
  }
  checkTime(c.time, check.now, check.maxAgeMs, skew, 'cosignature')
}

export interface WitnessPolicy {
  /** Configured witness keys (never learnt from the network). */
  readonly witnesses: readonly Uint8Array[]
  /** How many distinct configured witnesses must cosign. */
  readonly threshold: number
}

/**
 * k-of-n cosignatures: returns the distinct configured witness keys whose cosignature is valid;
 * throws InsufficientCosignaturesError when fewer than `policy.threshold`. Cosignatures from unknown
 * keys, invalid or stale ones, and repeats of one witness are ignored (never counted), so one bad
 * cosignature cannot veto a head another quorum vouches for.
 */
export function verifyCosignatures (sth: SignedTreeHead, cosignatures: readonly Cosignature[], policy: WitnessPolicy, check: Omit<TreeHeadCheck, 'log'> = {}): Uint8Array[] {
  if (!Number.isSafeInteger(policy.threshold) || policy.threshold < 0 || policy.threshold > policy.witnesses.length) {
    throw new RangeError(`witness threshold ${policy.threshold} is not within 0..${policy.witnesses.length}`)
  }
  const counted: Uint8Array[] = []
  let invalid = 0
  for (const c of cosignatures) {
    const configured = policy.witnesses.some(w => equalBytes(w, c.witness))
    if (!configured || counted.some(w => equalBytes(w, c.witness))) continue
    try {
      verifyCosignature(sth, c, check)
      counted.push(c.witness)
    } catch {
      invalid++
    }
  }
  if (counted.length < policy.threshold) {
    throw new InsufficientCosignaturesError(`${counted.length} valid cosignatures of configured witnesses, ${policy.threshold} needed`,
      { log: sth.head.log, size: sth.head.size, valid: counted.length, invalid, threshold: policy.threshold })
  }
  return counted
}
