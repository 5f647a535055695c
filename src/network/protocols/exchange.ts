import { lpStream } from '@libp2p/utils'
import * as varint from 'uint8-varint'
import type { AbortOptions, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { blockMatches, parseContentId } from '../../core/catalogue/content-id.ts'
import * as exchangeErrors from '../../core/catalogue/errors.ts'
import { BlockMismatchError, FrameTooLargeError, InvalidRequestError } from '../../core/catalogue/errors.ts'
import { MAX_WANT, RECEIPT_MAX_BYTES, REQUEST_MAX_BYTES } from '../../core/catalogue/exchange.ts'
import { decodeCanonical, encodeCbor, FieldReader } from '../../core/codec/cbor.ts'
import type { CborMap, CborValue } from '../../core/codec/cbor.ts'
import { CitycodeError, MalformedRecordError } from '../../core/errors.ts'
import type { ErrorDetails } from '../../core/errors.ts'
import { deadlineSignal } from '../deadline.ts'
import { ProtocolError, RequestTimeoutError } from '../errors.ts'
import { framing, raceSignal } from '../rpc/index.ts'
import { errorFromWire, errorToWire, RemoteError } from './wire-errors.ts'

/**
 * `/citycode/exchange/1.0.0` (SPEC 11.4): one stream per transfer between a requester and a
 * provider. The requester sends a signed ExchangeRequest (its chain, its code key's signature over
 * dataset, root, the blocks it wants, a nonce, a time and both peer ids); the provider answers that
 * batch with one frame per block it holds and an `end` frame carrying its signed receipt, or with
 * one `refused` frame and closes. The requester may then send the next batch's request on the same
 * stream, and closes its side when it has what it wanted.
 *
 *   requester -> provider: bytes(ExchangeRequest)                         ; <= 32 KiB
 *   provider -> requester: { v: 1, status: "block", cid: bytes, data: bytes }   ; one per wanted block held, in want order
 *                          { v: 1, status: "end", receipt: bytes(Receipt), missing: [bytes(CID)] }
 *                          { v: 1, status: "refused", error: { name, code, message } }   ; then the stream closes
 *
 * Why a request per batch rather than one per transfer: a batch bounds what one signature commits
 * the provider to (64 blocks, at most 64 MiB), and a requester that resumes (later, or from another
 * holder) asks for exactly the blocks it lacks, which it can only know as the DAG unfolds.
 */
export const EXCHANGE_PROTOCOL = '/citycode/exchange/1.0.0'
/** The largest block a provider may send: Kubo's limit, so any IPFS block of a dataset fits. */
export const BLOCK_MAX_BYTES = 1024 * 1024
const FRAME_OVERHEAD_BYTES = 128
export const EXCHANGE_FRAME_MAX_BYTES = BLOCK_MAX_BYTES + FRAME_OVERHEAD_BYTES
/** A provider gives one batch (verification, reading its blocks, sending them) this long. */
export const DEFAULT_BATCH_TIMEOUT_MS = 60_000
/** A provider waits this long for the next request on an open transfer stream before closing it. */
export const DEFAULT_IDLE_TIMEOUT_MS = 10_000
/** Batches one stream may carry; a longer transfer opens another stream. */
export const MAX_BATCHES_PER_STREAM = 4096
/** Blocks a requester stores while it reads on: overlaps storing with the transfer, 4 MiB at most. */
export const MAX_BLOCKS_STORING = 4
/** Transfer streams one connection may have open: a requester needs one per dataset it fetches. */
export const DEFAULT_EXCHANGE_MAX_INBOUND_STREAMS = 8

export type ProviderFrame =
  | { status: 'block', cid: CID, data: Uint8Array }
  | { status: 'end', receipt: Uint8Array, missing: CID[] }
  | { status: 'refused', error: CitycodeError }

export function encodeProviderFrame (frame: { status: 'block', cid: CID, data: Uint8Array } | { status: 'end', receipt: Uint8Array, missing: readonly CID[] } | { status: 'refused', error: unknown }): Uint8Array {
  switch (frame.status) {
    case 'block': return concat(blockFrameParts(frame.cid, frame.data))
    case 'end': return encodeCbor({ v: 1, status: 'end', receipt: frame.receipt, missing: frame.missing.map(c => c.bytes) })
    case 'refused': return encodeCbor({ v: 1, status: 'refused', error: errorToWire(frame.error) })
  }
}

const encoder = new TextEncoder()
const BLOCK_FRAME_HEAD = Uint8Array.from([0xa4, 0x61, ...encoder.encode('v'), 0x01, 0x63, ...encoder.encode('cid')])
const DATA_KEY = Uint8Array.from([0x64, ...encoder.encode('data')])
const BLOCK_FRAME_TAIL = Uint8Array.from([0x66, ...encoder.encode('status'), 0x65, ...encoder.encode('block')])

/** The head of a CBOR byte string (major type 2) of `length` bytes, in its shortest form. */
function bytesHead (length: number): Uint8Array {
  if (length < 24) return Uint8Array.of(0x40 + length)
  if (length < 0x100) return Uint8Array.of(0x58, length)
  if (length < 0x10000) return Uint8Array.of(0x59, length >> 8, length & 0xff)
  return Uint8Array.of(0x5a, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff)
}

/**
 * A block frame as three parts around the block's own bytes, so they are never copied into a frame:
 * the generic encoder copied each 256 KiB block at ~285 MB/s, a third of a raw stream's time. The
 * bytes are exactly canonical DAG-CBOR of `{ v: 1, cid, data, status: "block" }` (keys by length).
 */
export function blockFrameParts (cid: CID, data: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const id = cid.bytes
  const head = concat([BLOCK_FRAME_HEAD, bytesHead(id.length), id, DATA_KEY, bytesHead(data.length)])
  return [head, data, BLOCK_FRAME_TAIL]
}

function concat (parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Writes one length-prefixed message given in parts, waiting for the muxer to drain as lpStream does. */
async function writeParts (stream: Stream, parts: readonly Uint8Array[], signal: AbortSignal): Promise<void> {
  const length = parts.reduce((n, p) => n + p.length, 0)
  for (const part of [varint.encode(length), ...parts]) {
    if (!stream.send(part)) await stream.onDrain({ signal })
  }
}

/** Strict decoding of a provider's frame; a refusal comes back as the remote's typed error (not thrown). */
export function decodeProviderFrame (bytes: Uint8Array): ProviderFrame {
  const value = decodeCanonical(bytes, EXCHANGE_FRAME_MAX_BYTES, 'exchange frame')
  const status = new FieldReader(value, 'exchange frame', ['v', 'status', 'cid', 'data', 'receipt', 'missing', 'error']).string('status', 16)
  switch (status) {
    case 'block': {
      const r = reader(value, ['v', 'status', 'cid', 'data'])
      const data = r.bytes('data')
      if (data.length > BLOCK_MAX_BYTES) throw new FrameTooLargeError(`block of ${data.length} bytes, the limit is ${BLOCK_MAX_BYTES}`, { bytes: data.length })
      return { status, cid: parseContentId(r.bytes('cid')), data }
    }
    case 'end': {
      const r = reader(value, ['v', 'status', 'receipt', 'missing'])
      const receipt = r.bytes('receipt')
      if (receipt.length > RECEIPT_MAX_BYTES) throw new FrameTooLargeError(`receipt of ${receipt.length} bytes, the limit is ${RECEIPT_MAX_BYTES}`, { bytes: receipt.length })
      return { status, receipt, missing: r.bytesArray('missing', MAX_WANT).map(b => parseContentId(b)) }
    }
    case 'refused': {
      const r = reader(value, ['v', 'status', 'error'])
      return { status, error: exchangeErrorFromWire(r.raw('error')) }
    }
    default:
      throw new MalformedRecordError(`exchange frame.status "${status}" is not known`, { what: 'exchange frame', field: 'status' })
  }
}

function reader (value: CborValue, fields: readonly string[]): FieldReader {
  const r = new FieldReader(value, 'exchange frame', fields)
  r.literal('v', 1)
  return r
}

type ErrorClass = new (message: string, details?: ErrorDetails) => CitycodeError
const EXCHANGE_ERRORS = new Map<string, ErrorClass>()
for (const value of Object.values(exchangeErrors)) {
  if (typeof value === 'function' && value.prototype instanceof CitycodeError) EXCHANGE_ERRORS.set(value.name, value as unknown as ErrorClass)
}

/** errorFromWire, also knowing the exchange's error classes (AccessDeniedError, ReplayedRequestError...). */
export function exchangeErrorFromWire (value: CborValue): CitycodeError {
  const err = errorFromWire(value)
  if (err instanceof RemoteError) {
    const Class = EXCHANGE_ERRORS.get(String(err.details.remoteName))
    if (Class !== undefined) return new Class(`remote: ${(value as CborMap).message as string}`, { remote: true })
  }
  return err
}

// ---------------------------------------------------------------- provider side

/** What the provider's service decided for one verified, admitted request. */
export interface ExchangeBatch {
  /** The blocks to send, in order (already checked to belong to the dataset asked for). */
  readonly want: readonly CID[]
  /** The block's bytes, or undefined when this node does not hold it. */
  block(cid: CID, options: AbortOptions): Promise<Uint8Array | undefined>
  /** Signs the receipt for `bytes` sent in answer to this request. */
  receipt(bytes: number): Uint8Array
}

/** Verifies and authorises one request (throws the typed refusal). */
export type ExchangeServe = (request: Uint8Array, peer: PeerId, options: { signal: AbortSignal }) => Promise<ExchangeBatch>

/** One batch served, as the provider logs it. */
export interface ServedBatch {
  readonly request: Uint8Array
  readonly receipt: Uint8Array
  readonly bytes: number
  readonly blocks: number
}

/** A transfer stream that ended: what it carried, and why it ended if not cleanly. */
export interface ServedTransfer {
  readonly peer: PeerId
  readonly batches: readonly ServedBatch[]
  /** The refusal sent, or what broke the stream. */
  readonly error?: Error
  /** The request that was refused, when a refusal ended the stream. */
  readonly refused?: Uint8Array
}

export interface ServeExchangeOptions {
  /** @default DEFAULT_BATCH_TIMEOUT_MS */
  batchTimeoutMs?: number
  /** @default DEFAULT_IDLE_TIMEOUT_MS */
  idleTimeoutMs?: number
  /** @default DEFAULT_EXCHANGE_MAX_INBOUND_STREAMS */
  maxInboundStreams?: number
  /** Called once per stream when it ends, whatever ended it. */
  onTransfer?: (transfer: ServedTransfer) => void
}

/**
 * Serves transfers. Memory per stream is bounded by one request and two blocks: the block being
 * written and the next, read from the store meanwhile; writing waits for the muxer's flow control,
 * so a slow reader holds them until the batch deadline aborts the stream.
 */
export async function serveExchange (libp2p: Libp2p, serve: ExchangeServe, options: ServeExchangeOptions = {}): Promise<void> {
  const log = libp2p.logger.forComponent('citycode:exchange')
  await libp2p.handle(EXCHANGE_PROTOCOL, async (stream, connection) => {
    const batches: ServedBatch[] = []
    let error: Error | undefined
    let refused: Uint8Array | undefined
    try {
      const refusal = await serveStream(stream, connection.remotePeer, serve, options, batches)
      error = refusal?.error
      refused = refusal?.request
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err))
      log('exchange stream from %p ended: %s: %s', connection.remotePeer, error.name, error.message)
      stream.abort(error)
    } finally {
      options.onTransfer?.({ peer: connection.remotePeer, batches, ...(error !== undefined ? { error } : {}), ...(refused !== undefined ? { refused } : {}) })
    }
  }, { runOnLimitedConnection: false, maxInboundStreams: options.maxInboundStreams ?? DEFAULT_EXCHANGE_MAX_INBOUND_STREAMS })
}

/** Returns the refusal it sent and the request refused, if any; throws what broke the stream. */
async function serveStream (stream: Stream, peer: PeerId, serve: ExchangeServe, options: ServeExchangeOptions, batches: ServedBatch[]): Promise<{ error: Error, request: Uint8Array } | undefined> {
  const batchTimeoutMs = options.batchTimeoutMs ?? DEFAULT_BATCH_TIMEOUT_MS
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
  const lp = lpStream(stream, framing(REQUEST_MAX_BYTES))
  while (true) {
    let request: Uint8Array
    const idle = deadlineSignal(idleTimeoutMs)
    try {
      request = (await lp.read({ signal: idle.signal })).subarray()
    } catch (err) {
      // the requester closed its side after its last batch: a clean end
      if (stream.remoteWriteStatus !== 'writable' && stream.readBufferLength === 0) break
      throw err
    } finally {
      idle.clear()
    }
    if (batches.length >= MAX_BATCHES_PER_STREAM) throw new InvalidRequestError(`a transfer stream may carry at most ${MAX_BATCHES_PER_STREAM} batches`, { batches: batches.length })
    const deadline = deadlineSignal(batchTimeoutMs)
    const signal = deadline.signal
    try {
      let batch: ExchangeBatch
      try {
        batch = await raceSignal(Promise.resolve().then(async () => await serve(request, peer, { signal })), signal)
      } catch (err) {
        if (signal.aborted) throw err
        await raceSignal(lp.write(encodeProviderFrame({ status: 'refused', error: err }), { signal }), signal)
        await stream.close({ signal }).catch(() => undefined)
        return { error: err instanceof Error ? err : new Error(String(err)), request }
      }
      let bytes = 0
      let blocks = 0
      const missing: CID[] = []
      // the next block is read from the store while this one is written: two blocks in memory at most
      let reading = batch.want.length > 0 ? batch.block(batch.want[0] as CID, { signal }) : undefined
      for (let i = 0; i < batch.want.length; i++) {
        const cid = batch.want[i] as CID
        const data = await reading
        reading = i + 1 < batch.want.length ? batch.block(batch.want[i + 1] as CID, { signal }) : undefined
        reading?.catch(() => undefined)
        if (data === undefined) {
          missing.push(cid)
          continue
        }
        await raceSignal(writeParts(stream, blockFrameParts(cid, data), signal), signal)
        bytes += data.byteLength
        blocks++
      }
      const receipt = batch.receipt(bytes)
      await raceSignal(lp.write(encodeProviderFrame({ status: 'end', receipt, missing }), { signal }), signal)
      batches.push({ request, receipt, bytes, blocks })
    } finally {
      deadline.clear()
    }
  }
  await stream.close({ signal: AbortSignal.timeout(idleTimeoutMs) }).catch(() => undefined)
  return undefined
}

// ---------------------------------------------------------------- requester side

export interface BatchResult {
  readonly receipt: Uint8Array
  /** Wanted blocks the provider said it does not hold. */
  readonly missing: readonly CID[]
  /** Blocks received and handed to `onBlock`, and their bytes. */
  readonly blocks: number
  readonly bytes: number
}

export interface BatchOptions extends AbortOptions {
  /** Deadline for the whole batch. @default DEFAULT_BATCH_TIMEOUT_MS */
  timeoutMs?: number
}

/**
 * One transfer stream to a provider, requester side. Every block is checked on arrival before the
 * caller sees it: it must be one asked for in this batch, not yet received, and hash to its CID
 * (BlockMismatchError otherwise, and the stream is aborted, so nothing more from that provider is
 * taken on it). A frame over the limit, more frames than blocks asked for, or a batch not answered
 * by its deadline also end the stream with a typed error.
 */
export class ExchangeStream {
  readonly peer: PeerId
  private readonly stream: Stream
  private readonly lp: ReturnType<typeof lpStream>

  private constructor (stream: Stream, peer: PeerId) {
    this.stream = stream
    this.peer = peer
    this.lp = lpStream(stream, framing(EXCHANGE_FRAME_MAX_BYTES))
  }

  static async open (libp2p: Libp2p, peer: PeerId, options: BatchOptions = {}): Promise<ExchangeStream> {
    const deadline = deadlineSignal(options.timeoutMs ?? DEFAULT_BATCH_TIMEOUT_MS, options.signal)
    try {
      const stream = await raceSignal(libp2p.dialProtocol(peer, EXCHANGE_PROTOCOL, { signal: deadline.signal }), deadline.signal)
      return new ExchangeStream(stream, peer)
    } catch (err) {
      throw transferError(err, deadline.signal, options)
    } finally {
      deadline.clear()
    }
  }

  /**
   * Sends `request` (which wants `want`) and reads its answer; `onBlock` runs for each block while
   * the next frames are read, at most MAX_BLOCKS_STORING at once, and all have finished when this
   * returns.
   * A refusal is thrown as the provider's typed error.
   */
  async batch (request: Uint8Array, want: readonly CID[], onBlock: (cid: CID, data: Uint8Array) => Promise<void>, options: BatchOptions = {}): Promise<BatchResult> {
    const deadline = deadlineSignal(options.timeoutMs ?? DEFAULT_BATCH_TIMEOUT_MS, options.signal)
    const signal = deadline.signal
    const pending = new Map(want.map(c => [c.toString(), c]))
    if (pending.size !== want.length) throw new InvalidRequestError('a batch may want each block once', { want: want.length })
    let blocks = 0
    let bytes = 0
    const storing: Array<Promise<void>> = []
    try {
      await raceSignal(this.lp.write(request, { signal }), signal)
      // at most one frame per wanted block, then the end: a provider cannot keep a batch open by talking
      for (let frames = 0; frames <= want.length; frames++) {
        let raw: Uint8Array
        try {
          raw = (await raceSignal(this.lp.read({ signal }), signal)).subarray()
        } catch (err) {
          if (isOversized(err)) throw new FrameTooLargeError(`exchange frame over ${EXCHANGE_FRAME_MAX_BYTES} bytes`, { limit: EXCHANGE_FRAME_MAX_BYTES })
          throw err
        }
        const frame = decodeProviderFrame(raw)
        if (frame.status === 'refused') throw frame.error
        if (frame.status === 'end') {
          for (const cid of frame.missing) {
            if (!pending.has(cid.toString())) throw new ProtocolError(`provider says it lacks ${cid.toString()}, which this batch did not want or it sent`, { cid: cid.toString() })
          }
          await Promise.all(storing)
          return { receipt: frame.receipt, missing: frame.missing, blocks, bytes }
        }
        const key = frame.cid.toString()
        if (!pending.delete(key)) throw new ProtocolError(`provider sent block ${key}, which this batch did not want (or sent it twice)`, { cid: key })
        if (!blockMatches(frame.cid, frame.data)) throw new BlockMismatchError(`provider sent bytes that do not hash to ${key}`, { cid: key, peer: this.peer.toString() })
        // the next frame is read while this block is stored; at most MAX_BLOCKS_STORING wait, so a slow
        // store holds back the provider (flow control), not memory
        const stored = onBlock(frame.cid, frame.data)
        stored.catch(() => undefined)
        storing.push(stored)
        if (storing.length >= MAX_BLOCKS_STORING) await storing.shift()
        blocks++
        bytes += frame.data.byteLength
      }
      throw new FrameTooLargeError(`provider sent more than the ${want.length} blocks asked for without ending the batch`, { want: want.length })
    } catch (err) {
      const error = transferError(err, signal, options)
      this.stream.abort(error)
      throw error
    } finally {
      deadline.clear()
    }
  }

  /** Ends the transfer cleanly: the provider sees our side closed and logs it. */
  async close (options: AbortOptions = {}): Promise<void> {
    await this.stream.close({ signal: options.signal ?? AbortSignal.timeout(DEFAULT_IDLE_TIMEOUT_MS) }).catch(() => { this.stream.abort(new ProtocolError('closing the transfer stream failed', {})) })
  }

  abort (err: Error): void {
    this.stream.abort(err)
  }
}

function isOversized (err: unknown): boolean {
  const name = (err as Error | undefined)?.name
  return name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError' || name === 'StreamBufferError'
}

const PEER_BROKE_STREAM = new Set(['UnexpectedEOFError', 'StreamResetError', 'StreamAbortedError', 'StreamClosedError', 'StreamStateError', 'InvalidMessageLengthError'])

/** A timeout as RequestTimeoutError, a broken stream as ProtocolError, typed errors as they are. */
function transferError (err: unknown, signal: AbortSignal, options: AbortOptions): Error {
  const error = err instanceof Error ? err : new Error(String(err))
  if (error instanceof CitycodeError) return error
  if (options.signal?.aborted === true) return options.signal.reason instanceof Error ? options.signal.reason : error
  if (signal.aborted) return new RequestTimeoutError(`${EXCHANGE_PROTOCOL} batch did not finish in time`, { protocol: EXCHANGE_PROTOCOL })
  if (PEER_BROKE_STREAM.has(error.name)) return new ProtocolError(`${EXCHANGE_PROTOCOL}: the provider ended the stream mid-batch (${error.name})`, { protocol: EXCHANGE_PROTOCOL, cause: error.name })
  return error
}
