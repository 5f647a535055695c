import { InvalidDataLengthLengthError, lpStream } from '@libp2p/utils'
import { addExchange } from '../message-cost.ts'
import type { MessageCost } from '../message-cost.ts'
import type { LengthPrefixedStreamOpts } from '@libp2p/utils'
import type { AbortOptions, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { deadlineSignal } from '../deadline.ts'
import { ProtocolError, RequestTimeoutError, RequestTooLargeError, ResponseTooLargeError } from '../errors.ts'

/**
 * Request/response over a libp2p stream protocol: one stream carries exactly one request and one
 * response, each a varint length-prefixed message. Length prefixes are checked against the limit
 * before any byte of the body is read or buffered, so a prefix announcing terabytes costs nothing.
 *
 * libp2p 3 streams are event-driven message streams (`send()`/'message' events), no longer duplex
 * `{ source, sink }` iterables; `lpStream` from @libp2p/utils reads and writes whole framed
 * messages on top of one. `stream.close()` closes only our writable end.
 */

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024
/** A varint length prefix of a message up to 2^63 bytes; slack for the read buffer bound. */
const MAX_PREFIX_BYTES = 10

/** Bytes of the varint that encodes `n`. */
function varintLength (n: number): number {
  let bytes = 1
  while (n >= 128) {
    n = Math.floor(n / 128)
    bytes++
  }
  return bytes
}

/**
 * The length-prefix decoder handed to `lpStream`. Its stock varint decoder throws `RangeError` on an
 * unfinished varint, and `lpStream` then reads another byte *before* checking `maxLengthLength`:
 * a peer sending endless 0xff bytes would hold the stream until the deadline (measured). This one
 * refuses a prefix as soon as it is longer than the largest allowed length needs.
 */
function boundedLengthDecoder (maxDataLength: number): LengthPrefixedStreamOpts['lengthDecoder'] {
  const maxPrefixBytes = varintLength(maxDataLength)
  return (data) => {
    let value = 0
    let scale = 1
    for (let i = 0; i < data.byteLength && i < maxPrefixBytes; i++) {
      const byte = data.get(i)
      value += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) return value
      scale *= 128
    }
    if (data.byteLength >= maxPrefixBytes) throw new InvalidDataLengthLengthError(`length prefix longer than ${maxPrefixBytes} bytes`)
    // unfinished varint: lpStream reads one more byte and asks again
    throw new RangeError('unfinished varint')
  }
}

/** Framing for one message of at most `maxDataLength` bytes. */
export function framing (maxDataLength: number): Partial<LengthPrefixedStreamOpts> {
  return {
    maxDataLength,
    lengthDecoder: boundedLengthDecoder(maxDataLength),
    // bytes a peer may push beyond what the framing lets us read: one message and its prefix
    maxBufferSize: maxDataLength + MAX_PREFIX_BYTES
  }
}

export type RequestHandler = (request: Uint8Array, peer: PeerId, options: AbortOptions) => Promise<Uint8Array>

export interface HandleOptions {
  /** Larger requests are refused on their length prefix. @default DEFAULT_MAX_MESSAGE_BYTES */
  maxRequestBytes?: number
  /**
   * Deadline for the whole exchange on this side: the peer sending its request, the handler
   * (whose signal also fires when the peer gives up) and writing the response.
   * @default DEFAULT_REQUEST_TIMEOUT_MS
   */
  timeoutMs?: number
  /** Concurrent requests one connection may have open on this protocol. @default libp2p's 32 */
  maxInboundStreams?: number
}

/**
 * Serves `protocol`: reads one request, answers with the handler's response and closes. Whatever a
 * peer does (garbage framing, oversized prefix, silence) and whatever the handler throws, only that
 * stream is aborted; the node carries on. A peer learns of a failure as a reset stream, so
 * protocols that want to explain a refusal encode it in their response.
 */
export async function handleRequests (libp2p: Libp2p, protocol: string, handler: RequestHandler, options: HandleOptions = {}): Promise<void> {
  const log = libp2p.logger.forComponent('citycode:rpc')
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  await libp2p.handle(protocol, async (stream: Stream, connection) => {
    // the handler's signal fires at the deadline, or as soon as the asker resets the stream (it gave up)
    const peerGone = new AbortController()
    const onClose = (): void => { peerGone.abort(new ProtocolError(`${protocol}: the peer closed the stream before the response`, { protocol })) }
    stream.addEventListener('close', onClose, { once: true })
    const deadline = deadlineSignal(timeoutMs, peerGone.signal)
    const signal = deadline.signal
    try {
      const lp = lpStream(stream, framing(maxRequestBytes))
      let request: Uint8Array
      try {
        request = (await lp.read({ signal })).subarray()
      } catch (err) {
        if (isOversized(err)) throw new RequestTooLargeError(`${protocol} request over ${maxRequestBytes} bytes`, { protocol, maxRequestBytes })
        throw err
      }
      const response = await raceSignal(Promise.resolve().then(async () => await handler(request, connection.remotePeer, { signal })), signal)
      await lp.write(response, { signal })
      await stream.close({ signal })
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err))
      log('%s request from %p failed: %s: %s', protocol, connection.remotePeer, error.name, error.message)
      stream.abort(error)
    } finally {
      stream.removeEventListener('close', onClose)
      deadline.clear()
    }
  }, {
    runOnLimitedConnection: false,
    ...(options.maxInboundStreams !== undefined ? { maxInboundStreams: options.maxInboundStreams } : {})
  })
}

export interface RequestOptions extends AbortOptions {
  /** Deadline for dial, request and response together. @default DEFAULT_REQUEST_TIMEOUT_MS */
  timeoutMs?: number
  /** Larger responses are refused on their length prefix. @default DEFAULT_MAX_MESSAGE_BYTES */
  maxResponseBytes?: number
  /** Adds this exchange (the peer, the request once written, the response once read) to a lookup's cost. */
  cost?: MessageCost
}

/**
 * Sends one request and returns the response. Rejects with
 * - `RequestTimeoutError` when the deadline passes, or the caller's signal fires with a timeout
 *   reason (`AbortSignal.timeout()`);
 * - the signal's reason when the caller aborts for another reason;
 * - `ResponseTooLargeError` when the response's length prefix exceeds `maxResponseBytes`;
 * - `ProtocolError` when the peer resets or closes the stream without a whole response (its
 *   handler failed, or it refused our request);
 * - libp2p's own errors when the dial or protocol negotiation fails (e.g. `UnsupportedProtocolError`).
 */
export async function sendRequest (libp2p: Libp2p, peer: PeerId | Multiaddr, protocol: string, request: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const deadline = deadlineSignal(timeoutMs, options.signal)
  const signal = deadline.signal
  let stream: Stream
  try {
    // libp2p's dial queue can leave a dial unsettled after a failed handshake, ignoring the signal
    // (seen with hundreds of nodes in one process): race every step against the deadline ourselves.
    stream = await raceSignal(libp2p.dialProtocol(peer, protocol, { signal }), signal)
  } catch (err) {
    addExchange(options.cost)
    deadline.clear()
    throw requestError(err instanceof Error ? err : new Error(String(err)), { protocol, timeoutMs, maxResponseBytes, deadlinePassed: signal.aborted, callerSignal: options.signal })
  }
  try {
    return await exchangeOnStream(stream, request, { ...options, signal, timeoutMs, maxResponseBytes, protocol }, options.signal, signal)
  } finally {
    deadline.clear()
  }
}

/**
 * One request and its response on a stream already negotiated (e.g. the older protocol a session
 * dial fell back to), then closes it; errors as `sendRequest`'s. `signal` is the exchange's deadline,
 * `callerSignal` the caller's own, to tell a timeout from an abort.
 */
export async function exchangeOnStream (stream: Stream, request: Uint8Array, options: RequestOptions & { protocol: string, timeoutMs: number, maxResponseBytes: number }, callerSignal: AbortSignal | undefined, signal: AbortSignal): Promise<Uint8Array> {
  const { protocol, timeoutMs, maxResponseBytes } = options
  let written = false
  try {
    const lp = lpStream(stream, framing(maxResponseBytes))
    await raceSignal(lp.write(request, { signal }), signal)
    written = true
    const response = (await raceSignal(lp.read({ signal }), signal)).subarray()
    addExchange(options.cost, request.byteLength, response.byteLength)
    await stream.close({ signal }).catch(() => undefined)
    return response
  } catch (err) {
    addExchange(options.cost, written ? request.byteLength : undefined)
    const error = err instanceof Error ? err : new Error(String(err))
    stream.abort(error)
    throw requestError(error, { protocol, timeoutMs, maxResponseBytes, deadlinePassed: signal.aborted, callerSignal })
  }
}

/** Maps what libp2p throws to our typed errors; errors we have no better name for pass through. */
export function requestError (err: Error, context: { protocol: string, timeoutMs: number, maxResponseBytes: number, deadlinePassed: boolean, callerSignal?: AbortSignal }): Error {
  const { protocol, timeoutMs, maxResponseBytes, callerSignal } = context
  if (callerSignal?.aborted === true) {
    const reason = callerSignal.reason as unknown
    if (reason instanceof Error && reason.name === 'TimeoutError') {
      return new RequestTimeoutError(`${protocol} request aborted by the caller's timeout`, { protocol })
    }
    return reason instanceof Error ? reason : err
  }
  if (context.deadlinePassed) return new RequestTimeoutError(`${protocol} request did not finish within ${timeoutMs} ms`, { protocol, timeoutMs })
  if (isOversized(err)) return new ResponseTooLargeError(`${protocol} response over ${maxResponseBytes} bytes`, { protocol, maxResponseBytes })
  if (PEER_BROKE_EXCHANGE.has(err.name)) return new ProtocolError(`${protocol}: the peer ended the stream without a whole response (${err.name})`, { protocol, cause: err.name })
  return err
}

/** A length prefix over the limit, or more buffered bytes than one message may take. */
function isOversized (err: unknown): boolean {
  const name = (err as Error | undefined)?.name
  // InvalidDataLengthLengthError: a prefix too long to encode any allowed length
  return name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError' || name === 'StreamBufferError'
}

const PEER_BROKE_EXCHANGE = new Set([
  'UnexpectedEOFError', 'StreamResetError', 'StreamAbortedError', 'StreamClosedError', 'StreamStateError', 'InvalidMessageLengthError'
])

/** Settles with `promise`, or rejects as soon as `signal` aborts, whichever comes first. */
export async function raceSignal<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined)
    throw signal.reason as Error
  }
  let onAbort: () => void = () => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason as Error) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
    promise.catch(() => undefined)
  }
}
