import type { CID } from 'multiformats/cid'
import { decodeCanonical, encodeCbor, FieldReader } from '../codec/cbor.ts'
import { equalBytes, sha256, toHex } from '../crypto/hash.ts'
import { verifySignature } from '../crypto/signature.ts'
import { MalformedRecordError } from '../errors.ts'
import { parseContentId } from './content-id.ts'
import { DATASET_NAME_MAX } from './catalogue.ts'
import { ExchangeLogError } from './errors.ts'
import { decodeExchangeRequest, decodeReceipt, REQUEST_MAX_BYTES } from './exchange.ts'
import type { SignedReceipt } from './exchange.ts'

/**
 * The exchange log (SPEC 11.6): what a node served and fetched, one entry per transfer stream, each
 * naming the hash of the entry before it, so an entry changed or dropped from the middle breaks
 * every later link. An entry keeps the signed objects themselves: the provider's log holds the
 * requests (the requester's signature that it asked, under which code), both logs hold the receipts
 * (the provider's signature that it sent). Pure: encode, decode, verify.
 */
export const LOG_ENTRY_MAX_BYTES = 4 * 1024 * 1024
/** Batches one entry keeps: a stream carries at most this many (network MAX_BATCHES_PER_STREAM). */
export const MAX_ENTRY_BATCHES = 4096

export type ExchangeRole = 'served' | 'fetched'

export interface ExchangeLogFields {
  readonly role: ExchangeRole
  /** Unix ms when the transfer ended. */
  readonly time: number
  /** The other side's peer id. */
  readonly peer: string
  /** The requester's code (proven by its requests) and the provider's code (its catalogue's). */
  readonly requester: string
  readonly provider: string
  /** '' for a catalogue transfer. */
  readonly dataset: string
  readonly root: CID
  readonly bytes: number
  /** The access policy the provider applied, as text: `public`, a namespace, or `codes:A,B`. */
  readonly policy: string
  /** Request bytes (provider side) or their hashes (requester side). */
  readonly requests: readonly Uint8Array[]
  readonly receipts: readonly Uint8Array[]
  /** Why the transfer ended early, if it did (an error's name). */
  readonly outcome: string
}

export interface ExchangeLogEntry extends ExchangeLogFields {
  readonly seq: number
  readonly prev: Uint8Array | null
  readonly bytesOfEntry: Uint8Array
  /** SHA-256 of the entry's bytes: the next entry's `prev`. */
  readonly hash: Uint8Array
}

export function encodeLogEntry (fields: ExchangeLogFields, seq: number, prev: Uint8Array | null): ExchangeLogEntry {
  const bytes = encodeCbor({
    v: 1,
    type: 'exchange-log-entry',
    seq,
    prev,
    role: fields.role,
    time: fields.time,
    peer: fields.peer,
    requester: fields.requester,
    provider: fields.provider,
    dataset: fields.dataset,
    root: fields.root.bytes,
    bytes: fields.bytes,
    policy: fields.policy,
    requests: [...fields.requests],
    receipts: [...fields.receipts],
    outcome: fields.outcome
  })
  return decodeLogEntry(bytes)
}

export function decodeLogEntry (bytes: Uint8Array): ExchangeLogEntry {
  const r = new FieldReader(decodeCanonical(bytes, LOG_ENTRY_MAX_BYTES, 'exchange log entry'), 'exchange log entry',
    ['v', 'type', 'seq', 'prev', 'role', 'time', 'peer', 'requester', 'provider', 'dataset', 'root', 'bytes', 'policy', 'requests', 'receipts', 'outcome'])
  r.literal('v', 1)
  r.literal('type', 'exchange-log-entry')
  const role = r.string('role', 8)
  if (role !== 'served' && role !== 'fetched') throw new MalformedRecordError('exchange log entry.role must be "served" or "fetched"', { what: 'exchange log entry', field: 'role' })
  const requests = r.bytesArray('requests', MAX_ENTRY_BATCHES)
  for (const q of requests) if (q.length > REQUEST_MAX_BYTES) throw new MalformedRecordError('exchange log entry.requests holds an oversized request', { what: 'exchange log entry', field: 'requests' })
  return {
    seq: r.uint('seq'),
    prev: r.bytesOrNull('prev', 32),
    role,
    time: r.uint('time'),
    peer: r.string('peer', 128),
    requester: r.string('requester', 128),
    provider: r.string('provider', 128),
    dataset: r.string('dataset', DATASET_NAME_MAX),
    root: parseContentId(r.bytes('root')),
    bytes: r.uint('bytes'),
    policy: r.string('policy', 64 * 1024),
    requests,
    receipts: r.bytesArray('receipts', MAX_ENTRY_BATCHES),
    outcome: r.string('outcome', 64),
    bytesOfEntry: bytes,
    hash: sha256(bytes)
  }
}

export interface LogVerification {
  readonly entries: number
  /** Hash of the last entry (hex), or null for an empty log: what an operator notes to detect truncation later. */
  readonly head: string | null
}

/**
 * Checks a whole log, oldest first: the sequence and hash links, and every signed object in each
 * entry: receipts verify under their key and name one of the entry's requests; a provider's
 * requests verify under their own key and are bound to the peer the entry names.
 * Throws ExchangeLogError naming the first entry that fails (`details.seq`, `details.reason`).
 */
export function verifyExchangeLog (entries: readonly Uint8Array[]): LogVerification {
  let prev: Uint8Array | null = null
  let head: string | null = null
  entries.forEach((bytes, i) => {
    let entry: ExchangeLogEntry
    try {
      entry = decodeLogEntry(bytes)
    } catch (err) {
      throw new ExchangeLogError(`entry ${i} does not decode: ${(err as Error).message}`, { seq: i, reason: 'malformed' })
    }
    if (entry.seq !== i) throw new ExchangeLogError(`entry ${i} says it is entry ${entry.seq}`, { seq: i, reason: 'seq' })
    if ((prev === null) !== (entry.prev === null) || (prev !== null && entry.prev !== null && !equalBytes(prev, entry.prev))) {
      throw new ExchangeLogError(`entry ${i} does not follow entry ${i - 1}: an entry was changed, removed or inserted`, { seq: i, reason: 'link' })
    }
    const requestHashes = entry.role === 'served' ? entry.requests.map(q => checkRequest(q, entry, i)) : entry.requests
    entry.receipts.forEach((receiptBytes, j) => {
      let receipt: SignedReceipt
      try {
        receipt = decodeReceipt(receiptBytes)
      } catch {
        throw new ExchangeLogError(`entry ${i} receipt ${j} does not decode`, { seq: i, reason: 'receipt' })
      }
      if (!verifySignature('exchange-receipt', receipt.bodyBytes, receipt.sig, receipt.body.key)) throw new ExchangeLogError(`entry ${i} receipt ${j} signature does not verify`, { seq: i, reason: 'receipt' })
      if (!requestHashes.some(h => equalBytes(h, receipt.body.request))) throw new ExchangeLogError(`entry ${i} receipt ${j} names a request the entry does not hold`, { seq: i, reason: 'receipt' })
    })
    prev = entry.hash
    head = toHex(entry.hash)
  })
  return { entries: entries.length, head }
}

function checkRequest (bytes: Uint8Array, entry: ExchangeLogEntry, i: number): Uint8Array {
  try {
    const request = decodeExchangeRequest(bytes)
    if (!verifySignature('exchange-request', request.bodyBytes, request.sig, request.body.key)) throw new Error('bad signature')
    if (request.body.from !== entry.peer || request.body.code !== entry.requester) throw new Error('bound to another requester')
    return request.hash
  } catch (err) {
    throw new ExchangeLogError(`entry ${i} holds a request that does not verify (${(err as Error).message})`, { seq: i, reason: 'request' })
  }
}
