import { lpStream } from '@libp2p/utils'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { deadlineSignal } from '../deadline.ts'
import { MessageTooLargeError, ProtocolError, RequestTimeoutError } from '../errors.ts'

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024

/**
 * One request, one response per stream, each a length-prefixed message. The length prefix is
 * checked against the limit before any byte of the body is read, so a huge prefix costs nothing.
 */
export interface HandleOptions {
  maxRequestBytes?: number
  /** How long a peer may take to send its request. */
  timeoutMs?: number
}

export async function handleRequests (libp2p: Libp2p, protocol: string, handler: (request: Uint8Array, peer: PeerId) => Promise<Uint8Array>, options: HandleOptions = {}): Promise<void> {
  const maxDataLength = options.maxRequestBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  await libp2p.handle(protocol, async (stream: Stream, connection) => {
    const deadline = deadlineSignal(timeoutMs)
    try {
      const lp = lpStream(stream, { maxDataLength })
      const request = (await lp.read({ signal: deadline.signal })).subarray()
      const response = await handler(request, connection.remotePeer)
      await lp.write(response, { signal: deadline.signal })
      await stream.close({ signal: deadline.signal })
    } catch (err) {
      // A bad peer (garbage, oversized prefix, silence) loses its stream, never the node.
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      deadline.clear()
    }
  }, { runOnLimitedConnection: false })
}

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

export interface RequestOptions {
  signal?: AbortSignal
  timeoutMs?: number
  maxResponseBytes?: number
}

export async function sendRequest (libp2p: Libp2p, peer: PeerId | Multiaddr, protocol: string, request: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const deadline = deadlineSignal(timeoutMs, options.signal)
  let stream: Stream | undefined
  try {
    // libp2p's dial queue can leave a dial unsettled after a failed handshake, ignoring the signal
    // (seen with hundreds of nodes in one process): race every step against the deadline ourselves.
    stream = await raceSignal(libp2p.dialProtocol(peer, protocol, { signal: deadline.signal }), deadline.signal)
    const lp = lpStream(stream, { maxDataLength: options.maxResponseBytes ?? DEFAULT_MAX_MESSAGE_BYTES })
    await raceSignal(lp.write(request, { signal: deadline.signal }), deadline.signal)
    const response = (await raceSignal(lp.read({ signal: deadline.signal }), deadline.signal)).subarray()
    await stream.close({ signal: deadline.signal }).catch(() => undefined)
    return response
  } catch (err) {
    stream?.abort(err instanceof Error ? err : new Error(String(err)))
    if (deadline.signal.aborted && options.signal?.aborted !== true) {
      throw new RequestTimeoutError(`${protocol} request did not finish within ${timeoutMs} ms`, { protocol, timeoutMs })
    }
    if (options.signal?.aborted === true) throw err
    const e = err as Error
    if (e.name === 'InvalidDataLengthError' || /too long|max.*length/i.test(e.message)) throw new MessageTooLargeError(`${protocol} response over the size limit`, { protocol })
    if (e.name === 'UnexpectedEOFError' || e.name === 'StreamResetError' || e.name === 'StreamAbortedError') throw new ProtocolError(`${protocol}: the peer closed the stream without an answer (${e.name})`, { protocol })
    throw err
  } finally {
    deadline.clear()
  }
}
