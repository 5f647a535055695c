import type { CID } from 'multiformats/cid'
import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { inNamespace, parseCode } from '../code/grammar.ts'
import { equalBytes, sha256, toHex } from '../crypto/hash.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, verifySignature } from '../crypto/signature.ts'
import type { Signer } from '../crypto/signature.ts'
import { MalformedRecordError } from '../errors.ts'
import { MAX_CHAIN_LENGTH } from '../trust/chain.ts'
import type { ChainVerifier, VerifiedChain } from '../trust/chain.ts'
import type { RevocationSet } from '../trust/revocation.ts'
import { parseContentId } from './content-id.ts'
import { InvalidReceiptError, InvalidRequestError, ReplayedRequestError } from './errors.ts'
import { DATASET_NAME_MAX } from './catalogue.ts'

/** A request is accepted this long either side of the provider's clock; its nonce is kept as long. */
export const REQUEST_WINDOW_MS = 2 * 60_000
export const NONCE_BYTES = 16
/** Blocks one request may ask for: bounds the response (UnixFS leaves are at most 1 MiB). */
export const MAX_WANT = 64
export const REQUEST_MAX_BYTES = 32 * 1024
export const RECEIPT_MAX_BYTES = 1024
const PEER_ID_MAX = 128

export interface ExchangeRequestBody {
  readonly v: 1
  readonly type: 'exchange-request'
  /** The requester's code, proven by `chain` and `key`. */
  readonly code: string
  /** The dataset asked for, or '' for the provider's catalogue itself. */
  readonly dataset: string
  /** Root CID of the dataset (or the catalogue's CID). */
  readonly root: CID
  readonly want: readonly CID[]
  readonly nonce: Uint8Array
  readonly time: number
  /** Peer ids of requester and provider: the signature is good on this connection only. */
  readonly from: string
  readonly to: string
  readonly key: Uint8Array
}

export interface SignedExchangeRequest {
  readonly body: ExchangeRequestBody
  readonly bodyBytes: Uint8Array
  readonly sig: Uint8Array
  readonly chain: readonly Uint8Array[]
  readonly bytes: Uint8Array
  /** SHA-256 of `bytes`: what the receipt names. */
  readonly hash: Uint8Array
}

export type ExchangeRequestFields = Omit<ExchangeRequestBody, 'v' | 'type' | 'key'>

export function createExchangeRequest (fields: ExchangeRequestFields, signer: Signer, chain: readonly Uint8Array[]): SignedExchangeRequest {
  if (fields.want.length > MAX_WANT) throw new InvalidRequestError(`a request may want at most ${MAX_WANT} blocks`, { want: fields.want.length })
  const bodyBytes = encodeCbor({
    v: 1,
    type: 'exchange-request',
    code: parseCode(fields.code).text,
    dataset: fields.dataset,
    root: fields.root.bytes,
    want: fields.want.map(c => c.bytes),
    nonce: fields.nonce,
    time: fields.time,
    from: fields.from,
    to: fields.to,
    key: signer.publicKey
  })
  const bytes = encodeCbor({ body: bodyBytes, sig: signer.sign('exchange-request', bodyBytes), chain: [...chain] })
  return decodeExchangeRequest(bytes)
}

export function decodeExchangeRequest (bytes: Uint8Array): SignedExchangeRequest {
  try {
    const outer = new FieldReader(decodeCanonical(bytes, REQUEST_MAX_BYTES, 'exchange request'), 'exchange request', ['body', 'sig', 'chain'])
    const bodyBytes = outer.bytes('body')
    const r = new FieldReader(decodeCanonical(bodyBytes, REQUEST_MAX_BYTES, 'exchange request body'), 'exchange request body',
      ['v', 'type', 'code', 'dataset', 'root', 'want', 'nonce', 'time', 'from', 'to', 'key'])
    r.literal('v', 1)
    r.literal('type', 'exchange-request')
    const code = r.string('code', 128)
    if (parseCode(code).text !== code) throw new MalformedRecordError('exchange request body.code is not canonical', { field: 'code' })
    const body: ExchangeRequestBody = {
      v: 1,
      type: 'exchange-request',
      code,
      dataset: r.string('dataset', DATASET_NAME_MAX),
      root: parseContentId(r.bytes('root')),
      want: r.bytesArray('want', MAX_WANT).map(b => parseContentId(b)),
      nonce: r.bytes('nonce', NONCE_BYTES),
      time: r.uint('time'),
      from: r.string('from', PEER_ID_MAX),
      to: r.string('to', PEER_ID_MAX),
      key: r.bytes('key', ED25519_PUBLIC_KEY_BYTES)
    }
    return { body, bodyBytes, sig: outer.bytes('sig', ED25519_SIGNATURE_BYTES), chain: outer.bytesArray('chain', MAX_CHAIN_LENGTH), bytes, hash: sha256(bytes) }
  } catch (err) {
    // size errors keep their own type (an oversized frame); shape errors become a request error
    if (err instanceof MalformedRecordError) throw new InvalidRequestError(err.message, err.details)
    throw err
  }
}

/**
 * Nonces seen inside the window, bounded; a nonce older than the window may be forgotten because
 * its request is refused on time alone. Pure: time comes in as `now`.
 */
export class NonceCache {
  private readonly seen = new Map<string, number>()
  private readonly max: number
  private readonly windowMs: number

  constructor (max = 100_000, windowMs = REQUEST_WINDOW_MS) {
    this.max = max
    this.windowMs = windowMs
  }

  /** Records `nonce` of `key`; false if it was already seen (a replay). */
  admit (key: Uint8Array, nonce: Uint8Array, now: number): boolean {
    const id = toHex(key) + toHex(nonce)
    const at = this.seen.get(id)
    if (at !== undefined && now - at <= 2 * this.windowMs) return false
    if (this.seen.size >= this.max) this.prune(now)
    // still full of fresh nonces: refuse rather than forget one inside the window
    if (this.seen.size >= this.max) return false
    this.seen.set(id, now)
    return true
  }

  private prune (now: number): void {
    for (const [id, at] of this.seen) if (now - at > 2 * this.windowMs) this.seen.delete(id)
  }
}

export interface RequestVerifyOptions {
  now: number
  /** This provider's peer id and the connection's remote peer id, as strings. */
  localPeer: string
  remotePeer: string
  nonces: NonceCache
  revocations?: RevocationSet
  windowMs?: number
}

export interface VerifiedExchangeRequest {
  readonly request: SignedExchangeRequest
  readonly chain: VerifiedChain
}

/**
 * The provider's check of a request, before any policy: the connection binding, the time window,
 * the chain (the same verifier records use), the key and namespace, the signature, and last the
 * nonce, so a forged request cannot use up a nonce of a genuine one.
 */
export function verifyExchangeRequest (bytes: Uint8Array, chains: ChainVerifier, options: RequestVerifyOptions): VerifiedExchangeRequest {
  const request = decodeExchangeRequest(bytes)
  const { body } = request
  if (body.to !== options.localPeer || body.from !== options.remotePeer) {
    throw new InvalidRequestError('request is bound to another connection', { from: body.from, to: body.to })
  }
  const windowMs = options.windowMs ?? REQUEST_WINDOW_MS
  if (Math.abs(options.now - body.time) > windowMs) {
    throw new ReplayedRequestError(`request time is ${Math.round((options.now - body.time) / 1000)} s from now, the window is ${windowMs / 1000} s`, { time: body.time })
  }
  const chain = chains.verify(request.chain, body.key, { now: options.now, revocations: options.revocations })
  if (!equalBytes(chain.subject, body.key)) throw new InvalidRequestError('request is signed by a key its chain does not certify', { code: body.code })
  if (!chain.perms.includes('sign')) throw new InvalidRequestError(`the key certified for ${chain.namespace} may not sign`, { code: body.code })
  if (!inNamespace(chain.namespace, body.code)) throw new InvalidRequestError(`request for ${body.code} is outside the namespace ${chain.namespace}`, { code: body.code })
  if (!verifySignature('exchange-request', request.bodyBytes, request.sig, body.key)) throw new InvalidRequestError('request signature does not verify', { code: body.code })
  if (!options.nonces.admit(body.key, body.nonce, options.now)) throw new ReplayedRequestError('request nonce was already used', { code: body.code })
  return { request, chain }
}

export interface ReceiptBody {
  readonly v: 1
  readonly type: 'exchange-receipt'
  readonly request: Uint8Array
  readonly root: CID
  readonly bytes: number
  readonly time: number
  /** The provider's code and key. */
  readonly code: string
  readonly key: Uint8Array
}

export interface SignedReceipt {
  readonly body: ReceiptBody
  readonly bodyBytes: Uint8Array
  readonly sig: Uint8Array
  readonly bytes: Uint8Array
}

export function createReceipt (fields: Omit<ReceiptBody, 'v' | 'type' | 'key'>, signer: Signer): SignedReceipt {
  const bodyBytes = encodeCbor({ v: 1, type: 'exchange-receipt', request: fields.request, root: fields.root.bytes, bytes: fields.bytes, time: fields.time, code: fields.code, key: signer.publicKey })
  return decodeReceipt(encodeCbor({ body: bodyBytes, sig: signer.sign('exchange-receipt', bodyBytes) }))
}

export function decodeReceipt (bytes: Uint8Array): SignedReceipt {
  try {
    const outer = new FieldReader(decodeCanonical(bytes, RECEIPT_MAX_BYTES, 'receipt'), 'receipt', ['body', 'sig'])
    const bodyBytes = outer.bytes('body')
    const r = new FieldReader(decodeCanonical(bodyBytes, RECEIPT_MAX_BYTES, 'receipt body'), 'receipt body', ['v', 'type', 'request', 'root', 'bytes', 'time', 'code', 'key'])
    r.literal('v', 1)
    r.literal('type', 'exchange-receipt')
    const body: ReceiptBody = {
      v: 1, type: 'exchange-receipt', request: r.bytes('request', 32), root: parseContentId(r.bytes('root')), bytes: r.uint('bytes'), time: r.uint('time'), code: r.string('code', 128), key: r.bytes('key', ED25519_PUBLIC_KEY_BYTES)
    }
    return { body, bodyBytes, sig: outer.bytes('sig', ED25519_SIGNATURE_BYTES), bytes }
  } catch (err) {
    if (err instanceof MalformedRecordError) throw new InvalidReceiptError(err.message, err.details)
    throw err
  }
}

/** Checks a receipt against the provider key the requester trusts (its catalogue's) and its own request. */
export function verifyReceipt (bytes: Uint8Array, providerKey: Uint8Array, requestHash?: Uint8Array): SignedReceipt {
  const receipt = decodeReceipt(bytes)
  if (!equalBytes(receipt.body.key, providerKey)) throw new InvalidReceiptError('receipt is signed by another key than the provider\'s', { code: receipt.body.code })
  if (requestHash !== undefined && !equalBytes(receipt.body.request, requestHash)) throw new InvalidReceiptError('receipt names another request', { code: receipt.body.code })
  if (!verifySignature('exchange-receipt', receipt.bodyBytes, receipt.sig, receipt.body.key)) throw new InvalidReceiptError('receipt signature does not verify', { code: receipt.body.code })
  return receipt
}
