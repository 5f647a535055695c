import { inNamespace, parseCode } from '../code/grammar.ts'
import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import type { CborMap, CborValue } from '../codec/cbor.ts'
import { equalBytes } from '../crypto/hash.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, verifySignature } from '../crypto/signature.ts'
import type { Signer } from '../crypto/signature.ts'
import {
  AllocationError, BadSignatureError, ExpiredError, KeyMismatchError, MalformedRecordError, NamespaceViolationError,
  NotYetValidError, PermissionError, WrongKeyError
} from '../errors.ts'
import { InvalidProofError } from '../ledger/errors.ts'
import { MerkleLog } from '../ledger/log.ts'
import { emptyRoot, HASH_BYTES, leafHash } from '../ledger/merkle.ts'
import { MAX_PROOF_HASHES, verifyInclusion } from '../ledger/proofs.ts'
import { RECORD_MAX_BYTES } from '../record/record.ts'
import { CLOCK_SKEW_MS } from '../record/verify.ts'
import type { ChainVerifier, VerifiedChain } from '../trust/chain.ts'
import { MAX_CHAIN_LENGTH } from '../trust/chain.ts'
import type { RevocationSet } from '../trust/revocation.ts'

/**
 * Authenticated not-found (SPEC "Non-existence proofs"), in the spirit of DNSSEC's NSEC: an
 * authority signs its allocation set as the root of an RFC 9162 Merkle tree over the sorted codes
 * it has allocated. A code nobody holds lies strictly between two adjacent leaves (or before the
 * first, after the last, or in an empty set); the inclusion proofs of those neighbours under the
 * signed root prove it. One signature per allocation (not one per gap, as NSEC ranges would need),
 * and a proof costs two paths of log2(n) hashes.
 *
 *   AllocationSetBody = { v: 1, type: "allocation-set", namespace: code, size: uint, root: bytes(32), time: uint, ttl: uint }
 *   AllocationSet     = { body: bytes(AllocationSetBody), key: bytes(32), sig: bytes(64), chain: [bytes(Certificate)] }  ; domain "absence"
 *   Neighbour         = { code: code, index: uint, path: [bytes(32)] }
 *   AbsenceProof      = { v: 1, type: "absence", set: bytes(AllocationSet), code: code, left: Neighbour | null, right: Neighbour | null }
 *
 * Leaves are leafHash(UTF-8(code)) in ascending bytewise order of the code text.
 */
export const ALLOCATION_SET_MAX_BYTES = RECORD_MAX_BYTES
export const ABSENCE_PROOF_MAX_BYTES = 12 * 1024
/** A set older than its ttl proves nothing; no set may ask for more than this. */
export const MAX_ABSENCE_TTL_MS = 24 * 3_600_000
/** How long a proven not-found may be cached: like a DNS negative TTL, it bounds how long a new allocation can be denied. */
export const DEFAULT_ABSENCE_TTL_MS = 5 * 60_000

export interface AllocationSetBody {
  readonly namespace: string
  readonly size: number
  readonly root: Uint8Array
  readonly time: number
  readonly ttl: number
}

export interface SignedAllocationSet {
  readonly body: AllocationSetBody
  readonly bodyBytes: Uint8Array
  readonly key: Uint8Array
  readonly sig: Uint8Array
  readonly chain: readonly Uint8Array[]
  readonly bytes: Uint8Array
}

export interface Neighbour {
  readonly code: string
  readonly index: number
  readonly path: readonly Uint8Array[]
}

export interface AbsenceProof {
  readonly set: SignedAllocationSet
  /** The code proven unallocated: a direct child of the set's namespace. */
  readonly code: string
  readonly left: Neighbour | null
  readonly right: Neighbour | null
  readonly bytes: Uint8Array
}

const encoder = new TextEncoder()

/** The allocated codes in leaf order: ascending bytewise (codes are ASCII), no repeats. */
export function sortAllocatedCodes (codes: Iterable<string>): string[] {
  return [...new Set(codes)].sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
}

/** The direct child of `namespace` on the way down to `code` (which must lie strictly below it). */
export function childTowards (namespace: string, code: string): string {
  const ns = parseCode(namespace)
  const c = parseCode(code)
  if (c.segments.length <= ns.segments.length || !inNamespace(ns.text, c.text)) {
    throw new NamespaceViolationError(`${c.text} is not below ${ns.text}`, { code: c.text, namespace: ns.text })
  }
  return c.segments.slice(0, ns.segments.length + 1).join('.')
}

/** An authority's allocation set with its Merkle tree: signs the root and proves gaps. */
export class AllocationSetTree {
  readonly namespace: string
  readonly codes: readonly string[]
  private readonly tree = new MerkleLog()
  private readonly positions = new Map<string, number>()

  constructor (namespace: string, codes: Iterable<string>) {
    this.namespace = parseCode(namespace).text
    this.codes = sortAllocatedCodes(codes)
    this.codes.forEach((code, i) => {
      if (childTowards(this.namespace, code) !== code) throw new AllocationError(`${code} is not a direct child of ${this.namespace}`, { code, namespace: this.namespace })
      this.tree.appendLeaf(encoder.encode(code))
      this.positions.set(code, i)
    })
  }

  get root (): Uint8Array {
    return this.tree.root()
  }

  has (code: string): boolean {
    return this.positions.has(code)
  }

  /** Signs the set (domain "absence") with the authority key that `chain` certifies for the namespace. */
  sign (signer: Signer, chain: readonly Uint8Array[], time: number, ttl: number = DEFAULT_ABSENCE_TTL_MS): SignedAllocationSet {
    const bodyBytes = encodeCbor({ v: 1, type: 'allocation-set', namespace: this.namespace, size: this.codes.length, root: this.root, time, ttl })
    return decodeAllocationSet(encodeCbor({ body: bodyBytes, key: signer.publicKey, sig: signer.sign('absence', bodyBytes), chain: [...chain] }))
  }

  /**
   * The proof that `code` (or its ancestor that is a direct child of the namespace) is not allocated,
   * under `set` (a signature of this tree). Throws AllocationError when it is allocated.
   */
  proveAbsence (set: SignedAllocationSet, code: string): AbsenceProof {
    if (set.body.namespace !== this.namespace || !equalBytes(set.body.root, this.root) || set.body.size !== this.codes.length) {
      throw new AllocationError('the signed set is not of this tree', { namespace: this.namespace })
    }
    const target = childTowards(this.namespace, code)
    if (this.positions.has(target)) throw new AllocationError(`${target} is allocated`, { code: target })
    // first leaf greater than the target: the right neighbour; the one before it, the left
    let hi = 0
    while (hi < this.codes.length && (this.codes[hi] as string) < target) hi++
    const neighbour = (i: number): CborMap | null => i < 0 || i >= this.codes.length ? null : { code: this.codes[i] as string, index: i, path: this.tree.inclusionProof(i) }
    return decodeAbsenceProof(encodeCbor({ v: 1, type: 'absence', set: set.bytes, code: target, left: neighbour(hi - 1), right: neighbour(hi) }))
  }
}

export function decodeAllocationSet (bytes: Uint8Array): SignedAllocationSet {
  const env = new FieldReader(decodeCanonical(bytes, ALLOCATION_SET_MAX_BYTES, 'allocation set'), 'allocation set', ['body', 'key', 'sig', 'chain'])
  const bodyBytes = env.bytes('body')
  const b = new FieldReader(decodeCanonical(bodyBytes, ALLOCATION_SET_MAX_BYTES, 'allocation set body'), 'allocation set body', ['v', 'type', 'namespace', 'size', 'root', 'time', 'ttl'])
  b.literal('v', 1)
  b.literal('type', 'allocation-set')
  const body: AllocationSetBody = {
    namespace: codeField(b, 'namespace'),
    size: b.uint('size'),
    root: b.bytes('root', HASH_BYTES),
    time: b.uint('time'),
    ttl: b.uint('ttl')
  }
  if (body.ttl > MAX_ABSENCE_TTL_MS) throw new MalformedRecordError(`allocation set body.ttl is over ${MAX_ABSENCE_TTL_MS} ms`, { what: 'allocation set body', field: 'ttl' })
  return {
    body,
    bodyBytes,
    key: env.bytes('key', ED25519_PUBLIC_KEY_BYTES),
    sig: env.bytes('sig', ED25519_SIGNATURE_BYTES),
    chain: env.bytesArray('chain', MAX_CHAIN_LENGTH),
    bytes
  }
}

export function decodeAbsenceProof (bytes: Uint8Array): AbsenceProof {
  const r = new FieldReader(decodeCanonical(bytes, ABSENCE_PROOF_MAX_BYTES, 'absence proof'), 'absence proof', ['v', 'type', 'set', 'code', 'left', 'right'])
  r.literal('v', 1)
  r.literal('type', 'absence')
  return {
    set: decodeAllocationSet(r.bytes('set')),
    code: codeField(r, 'code'),
    left: decodeNeighbour(r.raw('left'), 'left'),
    right: decodeNeighbour(r.raw('right'), 'right'),
    bytes
  }
}

function codeField (r: FieldReader, field: string): string {
  const text = r.string(field, 64)
  try {
    return parseCode(text).text
  } catch {
    throw new MalformedRecordError(`${r.what}.${field} is not a canonical code`, { what: r.what, field })
  }
}

function decodeNeighbour (value: CborValue, side: string): Neighbour | null {
  if (value === null) return null
  const n = new FieldReader(value, `absence proof.${side}`, ['code', 'index', 'path'])
  const path = n.bytesArray('path', MAX_PROOF_HASHES)
  path.forEach((h, i) => { if (h.length !== HASH_BYTES) throw new MalformedRecordError(`absence proof.${side}.path[${i}] must be ${HASH_BYTES} bytes`, { what: 'absence proof', field: side }) })
  return { code: codeField(n, 'code'), index: n.uint('index'), path }
}

export interface AbsenceVerifyOptions {
  now: number
  /** The code that was asked for: the proven code must be it or one of its ancestors. */
  code?: string
  revocations?: RevocationSet
}

export interface VerifiedAbsence {
  readonly proof: AbsenceProof
  /** The code proven unallocated (the asked code or its ancestor). */
  readonly code: string
  readonly namespace: string
  /** When the set was signed and until when the proof may be relied on (and cached). */
  readonly signedAt: number
  readonly expiresAt: number
  readonly chain: VerifiedChain
}

/**
 * Verifies a non-existence proof offline, in the order of SPEC "Non-existence proofs"; throws the
 * typed error of the first failure (InvalidProofError with `details.reason` for a proof that does
 * not cover the code: "code-allocated" when the code is one of the signed leaves).
 */
export function verifyAbsence (input: Uint8Array | AbsenceProof, chains: ChainVerifier, options: AbsenceVerifyOptions): VerifiedAbsence {
  const proof = input instanceof Uint8Array ? decodeAbsenceProof(input) : input
  const set = proof.set
  const ns = set.body.namespace
  const chain = chains.verify(set.chain, set.key, { now: options.now, revocations: options.revocations })
  if (!equalBytes(chain.subject, set.key)) throw new WrongKeyError(`allocation set of ${ns} carries a key its chain does not certify`, { code: ns })
  if (chain.namespace !== ns) throw new NamespaceViolationError(`allocation set of ${ns} is signed by a key certified for ${chain.namespace}`, { code: ns, namespace: chain.namespace })
  if (!chain.perms.includes('delegate')) throw new PermissionError(`the key certified for ${ns} may not allocate codes`, { namespace: ns })
  if (!verifySignature('absence', set.bodyBytes, set.sig, set.key)) throw new BadSignatureError(`allocation set signature of ${ns} does not verify`, { what: 'allocation set', namespace: ns })
  if (set.body.time > options.now + CLOCK_SKEW_MS) throw new NotYetValidError(`allocation set of ${ns} is signed in the future`, { what: 'allocation set', namespace: ns })
  const expiresAt = set.body.time + set.body.ttl
  if (options.now >= expiresAt) throw new ExpiredError(`allocation set of ${ns} expired at ${new Date(expiresAt).toISOString()}`, { what: 'allocation set', namespace: ns })

  if (childTowards(ns, proof.code) !== proof.code) throw new NamespaceViolationError(`${proof.code} is not a direct child of ${ns}`, { code: proof.code, namespace: ns })
  if (options.code !== undefined) {
    const asked = parseCode(options.code).text
    if (!inNamespace(proof.code, asked)) throw new KeyMismatchError(`proof of absence of ${proof.code} says nothing about ${asked}`, { code: proof.code, expected: asked })
  }
  checkCoverage(proof)
  return { proof, code: proof.code, namespace: ns, signedAt: set.body.time, expiresAt, chain }
}

function checkCoverage (proof: AbsenceProof): void {
  const { size, root } = proof.set.body
  const { left, right, code } = proof
  const fail = (reason: string, message: string): never => { throw new InvalidProofError(message, { reason, code }) }
  if (left?.code === code || right?.code === code) fail('code-allocated', `${code} is in the signed allocation set`)
  if (size === 0) {
    if (left !== null || right !== null) fail('not-adjacent', 'an empty set has no neighbours')
    if (!equalBytes(root, emptyRoot())) fail('root-mismatch', 'an empty set must carry the empty root')
    return
  }
  if (left === null && right === null) fail('not-adjacent', 'a proof over a non-empty set needs a neighbour')
  if (left === null && right?.index !== 0) fail('not-adjacent', 'without a left neighbour, the right one must be the first leaf')
  if (right === null && left?.index !== size - 1) fail('not-adjacent', 'without a right neighbour, the left one must be the last leaf')
  if (left !== null && right !== null && right.index !== left.index + 1) fail('not-adjacent', 'the neighbours are not adjacent leaves')
  if (left !== null && !(left.code < code)) fail('not-covered', `${code} is not after ${left.code}`)
  if (right !== null && !(code < right.code)) fail('not-covered', `${code} is not before ${right.code}`)
  for (const n of [left, right]) if (n !== null) verifyInclusion(leafHash(encoder.encode(n.code)), n.index, size, n.path, root)
}
