import { parseCode } from '../../core/code/grammar.ts'
import { decodeCanonical, encodeCbor, FieldReader } from '../../core/codec/cbor.ts'
import type { CborMap, CborValue } from '../../core/codec/cbor.ts'
import { CitycodeError, MalformedRecordError } from '../../core/errors.ts'
import type { ErrorDetails } from '../../core/errors.ts'
import * as ledgerErrors from '../../core/ledger/errors.ts'
import { LEAF_MAX_BYTES } from '../../core/ledger/log.ts'
import { HASH_BYTES } from '../../core/ledger/merkle.ts'
import { PAGE_KINDS } from '../../core/ledger/page.ts'
import type { PageItem, PageKind } from '../../core/ledger/page.ts'
import { MAX_PROOF_HASHES } from '../../core/ledger/proofs.ts'
import { MAX_TILE_LEVEL, TILE_WIDTH } from '../../core/ledger/tiles.ts'
import type { TileRef } from '../../core/ledger/tiles.ts'
import { COSIGNATURE_MAX_BYTES } from '../../core/ledger/tree-head.ts'
import { HEAD_RECORD_MAX_BYTES } from '../../core/record/head-record.ts'
import { RECORD_INCLUSION_MAX_BYTES } from '../../core/record/record-inclusion.ts'
import { errorFromWire, errorToWire, RemoteError } from './wire-errors.ts'

/**
 * `/citycode/ledger/1.0.0`: questions to the node that keeps an authority's ledger (or to a
 * witness). One length-prefixed DAG-CBOR request and one response per stream, decoded strictly
 * (canonical bytes, exact shape, unknown fields refused).
 *
 *   { v: 1, op: "get-head", log }                          -> { v: 1, status: "head", record: bytes(HeadRecord) }
 *   { v: 1, op: "get-consistency", log, oldSize, newSize } -> { v: 1, status: "consistency", proof: [bytes(32)] }
 *   { v: 1, op: "get-inclusion", log, index, size }        -> { v: 1, status: "inclusion", proof: [bytes(32)], leaf: bytes }
 *   { v: 1, op: "get-entries", log, from, to }             -> { v: 1, status: "entries", entries: [bytes] }   ; to - from <= 256
 *   { v: 1, op: "cosign", record: bytes(HeadRecord) }      -> { v: 1, status: "cosignature", cosignature: bytes(Cosignature) }
 *   { v: 1, op: "prove-record", log, code, object: bytes(32) } -> { v: 1, status: "record-inclusion", inclusion: bytes(RecordInclusion) }
 *   { v: 1, op: "get-page", log, of, ?code, from, ?bound, limit } -> { v: 1, status: "page", record: bytes(HeadRecord),
 *                                                             items: [{ index, leaf, proof: [bytes(32)] }], ?next }  ; limit <= 128
 *   { v: 1, op: "get-tile", log, of: "hash" | "entries", level, index, width } -> { v: 1, status: "tile", data: bytes }
 *   any                                                    -> { v: 1, status: "refused", error: { name, code, message } }
 *
 * Proofs are in RFC 9162 form. Every answer is checked by the asker against a signed head, so a
 * node may serve another's ledger (a mirror) without being trusted.
 */
export const LEDGER_PROTOCOL = '/citycode/ledger/1.0.0'
export const MAX_ENTRIES_PER_REQUEST = 256
export const LEDGER_REQUEST_MAX_BYTES = HEAD_RECORD_MAX_BYTES + 256
/** Items of one `get-page` answer at most: each carries its inclusion proof (about 20 hashes at a million entries). */
export const MAX_PAGE_ITEMS_PER_REQUEST = 128
const PAGE_ITEM_MAX_BYTES = LEAF_MAX_BYTES + 32 + MAX_PROOF_HASHES * (HASH_BYTES + 2)
/** The largest tile: an entry bundle of 256 leaves, each with its 2-byte length. */
const TILE_MAX_BYTES = TILE_WIDTH * (LEAF_MAX_BYTES + 2)
export const LEDGER_RESPONSE_MAX_BYTES = Math.max(MAX_ENTRIES_PER_REQUEST * (LEAF_MAX_BYTES + 3), MAX_PAGE_ITEMS_PER_REQUEST * PAGE_ITEM_MAX_BYTES) + HEAD_RECORD_MAX_BYTES + 1024

/** The node asked keeps no ledger for this log (not its own, not mirrored). */
export class UnknownLogError extends CitycodeError {
  static override readonly code = 'ERR_UNKNOWN_LOG'
}

export type LedgerRequest =
  | { op: 'get-head', log: string }
  | { op: 'get-consistency', log: string, oldSize: number, newSize: number }
  | { op: 'get-inclusion', log: string, index: number, size: number }
  | { op: 'get-entries', log: string, from: number, to: number }
  | { op: 'cosign', record: Uint8Array }
  | { op: 'prove-record', log: string, code: string, object: Uint8Array }
  | { op: 'get-page', log: string, of: PageKind, code?: string, from: number, bound?: number, limit: number }
  | { op: 'get-tile', log: string, tile: TileRef }

export type LedgerOp = LedgerRequest['op']

export type LedgerResponse =
  | { status: 'head', record: Uint8Array }
  | { status: 'consistency', proof: Uint8Array[] }
  | { status: 'inclusion', proof: Uint8Array[], leaf: Uint8Array }
  | { status: 'entries', entries: Uint8Array[] }
  | { status: 'cosignature', cosignature: Uint8Array }
  | { status: 'record-inclusion', inclusion: Uint8Array }
  | PageAnswer
  | { status: 'tile', data: Uint8Array }

/** A page of a listing under the serving node's latest head (`record`); `bound` absent: that head's size. */
export interface PageAnswer { status: 'page', record: Uint8Array, items: PageItem[], next?: number }

/** What answers each request. */
export interface LedgerAnswers {
  'get-head': { status: 'head', record: Uint8Array }
  'get-consistency': { status: 'consistency', proof: Uint8Array[] }
  'get-inclusion': { status: 'inclusion', proof: Uint8Array[], leaf: Uint8Array }
  'get-entries': { status: 'entries', entries: Uint8Array[] }
  'cosign': { status: 'cosignature', cosignature: Uint8Array }
  'prove-record': { status: 'record-inclusion', inclusion: Uint8Array }
  'get-page': PageAnswer
  'get-tile': { status: 'tile', data: Uint8Array }
}

const STATUS_OF: { [K in LedgerOp]: LedgerAnswers[K]['status'] } = {
  'get-head': 'head',
  'get-consistency': 'consistency',
  'get-inclusion': 'inclusion',
  'get-entries': 'entries',
  cosign: 'cosignature',
  'prove-record': 'record-inclusion',
  'get-page': 'page',
  'get-tile': 'tile'
}

export function encodeLedgerRequest (request: LedgerRequest): Uint8Array {
  switch (request.op) {
    case 'get-head': return encodeCbor({ v: 1, op: request.op, log: parseCode(request.log).text })
    case 'get-consistency': return encodeCbor({ v: 1, op: request.op, log: parseCode(request.log).text, oldSize: request.oldSize, newSize: request.newSize })
    case 'get-inclusion': return encodeCbor({ v: 1, op: request.op, log: parseCode(request.log).text, index: request.index, size: request.size })
    case 'get-entries': return encodeCbor({ v: 1, op: request.op, log: parseCode(request.log).text, from: request.from, to: request.to })
    case 'cosign': return encodeCbor({ v: 1, op: request.op, record: request.record })
    case 'prove-record': return encodeCbor({ v: 1, op: request.op, log: parseCode(request.log).text, code: parseCode(request.code).text, object: request.object })
    case 'get-tile': return encodeCbor({ v: 1, op: request.op, log: parseCode(request.log).text, of: request.tile.kind, level: request.tile.level, index: request.tile.index, width: request.tile.width })
    case 'get-page': {
      const map: CborMap = { v: 1, op: request.op, log: parseCode(request.log).text, of: request.of, from: request.from, limit: request.limit }
      if (request.code !== undefined) map.code = parseCode(request.code).text
      if (request.bound !== undefined) map.bound = request.bound
      return encodeCbor(map)
    }
  }
}

const REQUEST_FIELDS: { [K in LedgerOp]: readonly string[] } = {
  'get-head': ['v', 'op', 'log'],
  'get-consistency': ['v', 'op', 'log', 'oldSize', 'newSize'],
  'get-inclusion': ['v', 'op', 'log', 'index', 'size'],
  'get-entries': ['v', 'op', 'log', 'from', 'to'],
  cosign: ['v', 'op', 'record'],
  'prove-record': ['v', 'op', 'log', 'code', 'object'],
  'get-page': ['v', 'op', 'log', 'of', 'code', 'from', 'bound', 'limit'],
  'get-tile': ['v', 'op', 'log', 'of', 'level', 'index', 'width']
}

function isOp (op: string): op is LedgerOp {
  return Object.hasOwn(REQUEST_FIELDS, op)
}

/** Strict decoding; throws MalformedRecordError (or MalformedCodeError for the log) on anything else. */
export function decodeLedgerRequest (bytes: Uint8Array): LedgerRequest {
  const value = decodeCanonical(bytes, LEDGER_REQUEST_MAX_BYTES, 'ledger request')
  const op = new FieldReader(value, 'ledger request', ['v', 'op', 'log', 'oldSize', 'newSize', 'index', 'size', 'from', 'to', 'record', 'code', 'object', 'of', 'bound', 'limit', 'level', 'width']).string('op', 32)
  if (!isOp(op)) throw new MalformedRecordError(`ledger request.op "${op.slice(0, 32)}" is not known`, { what: 'ledger request', field: 'op' })
  const r = new FieldReader(value, 'ledger request', REQUEST_FIELDS[op])
  r.literal('v', 1)
  if (op === 'cosign') return { op, record: r.bytes('record') }
  const log = parseCode(r.string('log', 64)).text
  switch (op) {
    case 'get-head': return { op, log }
    case 'prove-record': return { op, log, code: parseCode(r.string('code', 64)).text, object: r.bytes('object', HASH_BYTES) }
    case 'get-consistency': {
      const oldSize = r.uint('oldSize')
      const newSize = r.uint('newSize')
      if (oldSize > newSize) throw new MalformedRecordError('ledger request.oldSize must not exceed newSize', { what: 'ledger request', field: 'oldSize' })
      return { op, log, oldSize, newSize }
    }
    case 'get-inclusion': return { op, log, index: r.uint('index'), size: r.uint('size') }
    case 'get-tile': {
      const of = r.string('of', 8)
      if (of !== 'hash' && of !== 'entries') throw new MalformedRecordError(`ledger request.of "${of}" is not a tile kind`, { what: 'ledger request', field: 'of' })
      const tile: TileRef = { kind: of, level: r.uint('level'), index: r.uint('index'), width: r.uint('width') }
      if (tile.level > MAX_TILE_LEVEL || (of === 'entries' && tile.level !== 0) || tile.width < 1 || tile.width > TILE_WIDTH) {
        throw new MalformedRecordError('ledger request names no tile', { what: 'ledger request', field: 'level' })
      }
      return { op, log, tile }
    }
    case 'get-page': {
      const of = r.string('of', 16)
      if (!(PAGE_KINDS as readonly string[]).includes(of)) throw new MalformedRecordError(`ledger request.of "${of}" is not a listing`, { what: 'ledger request', field: 'of' })
      const limit = r.uint('limit')
      if (limit < 1 || limit > MAX_PAGE_ITEMS_PER_REQUEST) throw new MalformedRecordError(`ledger request.limit must be 1..${MAX_PAGE_ITEMS_PER_REQUEST}`, { what: 'ledger request', field: 'limit' })
      const from = r.uint('from')
      const out: Extract<LedgerRequest, { op: 'get-page' }> = { op, log, of: of as PageKind, from, limit }
      if ((of === 'range') === r.has('code')) throw new MalformedRecordError(`ledger request.code is ${of === 'range' ? 'not allowed' : 'required'} for ${of}`, { what: 'ledger request', field: 'code' })
      const code = r.has('code') ? parseCode(r.string('code', 64)).text : undefined
      const bound = r.has('bound') ? r.uint('bound') : undefined
      if (bound !== undefined && from > bound) throw new MalformedRecordError('ledger request.from must not exceed bound', { what: 'ledger request', field: 'from' })
      return { ...out, ...(code !== undefined ? { code } : {}), ...(bound !== undefined ? { bound } : {}) }
    }
    case 'get-entries': {
      const from = r.uint('from')
      const to = r.uint('to')
      if (to < from || to - from > MAX_ENTRIES_PER_REQUEST) {
        throw new MalformedRecordError(`ledger request must ask for 0..${MAX_ENTRIES_PER_REQUEST} entries`, { what: 'ledger request', field: 'to' })
      }
      return { op, log, from, to }
    }
  }
}

export function encodeLedgerResponse (response: LedgerResponse | { status: 'refused', error: unknown }): Uint8Array {
  switch (response.status) {
    case 'head': return encodeCbor({ v: 1, status: 'head', record: response.record })
    case 'consistency': return encodeCbor({ v: 1, status: 'consistency', proof: response.proof })
    case 'inclusion': return encodeCbor({ v: 1, status: 'inclusion', proof: response.proof, leaf: response.leaf })
    case 'entries': return encodeCbor({ v: 1, status: 'entries', entries: response.entries })
    case 'cosignature': return encodeCbor({ v: 1, status: 'cosignature', cosignature: response.cosignature })
    case 'record-inclusion': return encodeCbor({ v: 1, status: 'record-inclusion', inclusion: response.inclusion })
    case 'tile': return encodeCbor({ v: 1, status: 'tile', data: response.data })
    case 'page': {
      const map: CborMap = { v: 1, status: 'page', record: response.record, items: response.items.map(i => ({ index: i.index, leaf: i.leaf, proof: [...i.proof] })) }
      if (response.next !== undefined) map.next = response.next
      return encodeCbor(map)
    }
    case 'refused': return encodeCbor({ v: 1, status: 'refused', error: errorToWire(response.error) })
  }
}

function proofHashes (r: FieldReader): Uint8Array[] {
  const proof = r.bytesArray('proof', MAX_PROOF_HASHES)
  proof.forEach((h, i) => { if (h.length !== HASH_BYTES) r.bytes(`proof[${i}]`, HASH_BYTES) })
  return proof
}

/**
 * Decodes the answer to a request of kind `op`; a refusal is thrown as the remote's typed error
 * (ledger errors included), any other shape as MalformedRecordError.
 */
export function decodeLedgerResponse<K extends LedgerOp> (bytes: Uint8Array, op: K): LedgerAnswers[K] {
  const value = decodeCanonical(bytes, LEDGER_RESPONSE_MAX_BYTES, 'ledger response')
  const status = new FieldReader(value, 'ledger response', ['v', 'status', 'record', 'proof', 'leaf', 'entries', 'cosignature', 'inclusion', 'error', 'items', 'next', 'data']).string('status', 16)
  if (status === 'refused') {
    const r = new FieldReader(value, 'ledger response', ['v', 'status', 'error'])
    r.literal('v', 1)
    throw ledgerErrorFromWire(r.raw('error'))
  }
  if (status !== STATUS_OF[op]) throw new MalformedRecordError(`ledger response to ${op} has status "${status}"`, { what: 'ledger response', field: 'status' })
  const answer = decodeAnswer(value, status)
  return answer as LedgerAnswers[K]
}

function decodeAnswer (value: CborValue, status: string): LedgerResponse {
  switch (status) {
    case 'head': {
      const r = reader(value, ['v', 'status', 'record'])
      return { status, record: r.bytes('record') }
    }
    case 'consistency': {
      const r = reader(value, ['v', 'status', 'proof'])
      return { status, proof: proofHashes(r) }
    }
    case 'inclusion': {
      const r = reader(value, ['v', 'status', 'proof', 'leaf'])
      const leaf = r.bytes('leaf')
      if (leaf.length > LEAF_MAX_BYTES) throw new MalformedRecordError('ledger response.leaf is too large', { what: 'ledger response', field: 'leaf' })
      return { status, proof: proofHashes(r), leaf }
    }
    case 'entries': {
      const r = reader(value, ['v', 'status', 'entries'])
      const entries = r.bytesArray('entries', MAX_ENTRIES_PER_REQUEST)
      entries.forEach((e, i) => { if (e.length > LEAF_MAX_BYTES) throw new MalformedRecordError(`ledger response.entries[${i}] is too large`, { what: 'ledger response', field: 'entries' }) })
      return { status, entries }
    }
    case 'record-inclusion': {
      const r = reader(value, ['v', 'status', 'inclusion'])
      const inclusion = r.bytes('inclusion')
      if (inclusion.length > RECORD_INCLUSION_MAX_BYTES) throw new MalformedRecordError('ledger response.inclusion is too large', { what: 'ledger response', field: 'inclusion' })
      return { status, inclusion }
    }
    case 'tile': {
      const r = reader(value, ['v', 'status', 'data'])
      const data = r.bytes('data')
      if (data.length > TILE_MAX_BYTES) throw new MalformedRecordError('ledger response.data is too large for a tile', { what: 'ledger response', field: 'data' })
      return { status, data }
    }
    case 'page': {
      const r = reader(value, ['v', 'status', 'record', 'items', 'next'])
      const record = r.bytes('record')
      if (record.length > HEAD_RECORD_MAX_BYTES) throw new MalformedRecordError('ledger response.record is too large', { what: 'ledger response', field: 'record' })
      const items = r.array('items', MAX_PAGE_ITEMS_PER_REQUEST).map((item) => {
        const ir = new FieldReader(item, 'ledger response item', ['index', 'leaf', 'proof'])
        const leaf = ir.bytes('leaf')
        if (leaf.length > LEAF_MAX_BYTES) throw new MalformedRecordError('ledger response item.leaf is too large', { what: 'ledger response', field: 'items' })
        return { index: ir.uint('index'), leaf, proof: proofHashes(ir) }
      })
      return r.has('next') ? { status, record, items, next: r.uint('next') } : { status, record, items }
    }
    default: {
      const r = reader(value, ['v', 'status', 'cosignature'])
      const cosignature = r.bytes('cosignature')
      if (cosignature.length > COSIGNATURE_MAX_BYTES) throw new MalformedRecordError('ledger response.cosignature is too large', { what: 'ledger response', field: 'cosignature' })
      return { status: 'cosignature', cosignature }
    }
  }
}

function reader (value: CborValue, fields: readonly string[]): FieldReader {
  const r = new FieldReader(value, 'ledger response', fields)
  r.literal('v', 1)
  return r
}

type ErrorClass = new (message: string, details?: ErrorDetails) => CitycodeError
const LEDGER_ERRORS = new Map<string, ErrorClass>()
for (const value of [...Object.values(ledgerErrors), UnknownLogError]) {
  if (typeof value === 'function' && value.prototype instanceof CitycodeError) LEDGER_ERRORS.set(value.name, value as unknown as ErrorClass)
}

/** errorFromWire, also knowing the ledger's error classes. */
export function ledgerErrorFromWire (value: CborValue): CitycodeError {
  const err = errorFromWire(value)
  if (err instanceof RemoteError) {
    const name = String(err.details.remoteName)
    const Class = LEDGER_ERRORS.get(name)
    if (Class !== undefined) return new Class(`remote: ${(value as CborMap).message as string}`, { remote: true })
  }
  return err
}
