import { lpStream } from '@libp2p/utils'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { decodeCanonical, encodeCbor, FieldReader } from '../../core/codec/cbor.ts'
import { deadlineSignal } from '../deadline.ts'
import { ProtocolError } from '../errors.ts'
import { addExchange } from '../message-cost.ts'
import { DEFAULT_REQUEST_TIMEOUT_MS, exchangeOnStream, framing, raceSignal, requestError, sendRequest } from './index.ts'
import type { RequestOptions } from './index.ts'

/**
 * Sessions: many request/response exchanges on one long-lived stream per peer. Each frame is a
 * varint length-prefixed DAG-CBOR map `{ id, body }` (a request, or its answer) or `{ id, failed:
 * true }` (the responder could not answer that one). Answers may come in any order; the asker
 * matches them by id.
 *
 * Why: libp2p 3.3 always negotiates a new stream with a full multistream-select round trip
 * (`negotiateFully: false` is not honoured), so a one-request stream costs two round trips. A
 * session pays that once, when the connection is new, and every later question costs one.
 */

/** Bytes a frame adds around its body: the map, `id` (up to 2^32) and the byte string's head. */
export const SESSION_FRAME_OVERHEAD = 24
/** Questions one session may have unanswered at the responder; it reads no more until one is answered. */
export const DEFAULT_SESSION_MAX_IN_FLIGHT = 16
/** Sessions one connection may open on a protocol: one per side is what an honest asker needs. */
export const DEFAULT_SESSION_MAX_INBOUND_STREAMS = 2
/** Sessions an asker keeps open; past this, questions go on one-request streams. */
export const DEFAULT_MAX_SESSIONS = 256
const MAX_ID = 0xffff_ffff

export type SessionFrame = { id: number, body: Uint8Array } | { id: number, failed: true }

export function encodeSessionFrame (frame: SessionFrame): Uint8Array {
  return encodeCbor('body' in frame ? { id: frame.id, body: frame.body } : { id: frame.id, failed: true })
}

export function decodeSessionFrame (bytes: Uint8Array, maxBodyBytes: number, what: string): SessionFrame {
  const r = new FieldReader(decodeCanonical(bytes, maxBodyBytes + SESSION_FRAME_OVERHEAD, what), what, ['id', 'body', 'failed'])
  const id = r.int('id', 1, MAX_ID)
  if (r.has('failed')) {
    if (r.raw('failed') !== true || r.has('body')) throw new ProtocolError(`${what}: a failure frame is { id, failed: true }`, { what })
    return { id, failed: true }
  }
  return { id, body: r.bytes('body') }
}

export type SessionHandler = (request: Uint8Array, peer: PeerId, options: { signal: AbortSignal }) => Promise<Uint8Array>

export interface SessionHandleOptions {
  /** Larger request bodies end the session. */
  maxRequestBytes: number
  /** Deadline per question on this side: the handler and writing its answer. @default DEFAULT_REQUEST_TIMEOUT_MS */
  timeoutMs?: number
  /** @default DEFAULT_SESSION_MAX_IN_FLIGHT */
  maxInFlight?: number
  /** @default DEFAULT_SESSION_MAX_INBOUND_STREAMS */
  maxInboundStreams?: number
}

/**
 * Serves sessions on `protocol`. A peer that breaks the framing, reuses an id still in flight or
 * stops reading its answers loses its session (the stream is aborted), nothing else; a handler that
 * throws costs that question a `failed` frame. Unanswered questions are bounded per session: past
 * `maxInFlight` the responder stops reading, and the muxer's flow control holds the asker back.
 */
export async function handleSessions (libp2p: Libp2p, protocol: string, handler: SessionHandler, options: SessionHandleOptions): Promise<void> {
  const log = libp2p.logger.forComponent('citycode:session')
  await libp2p.handle(protocol, async (stream, connection) => {
    try {
      await serveSession(stream, connection.remotePeer, protocol, handler, options)
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err))
      log('%s session from %p ended: %s: %s', protocol, connection.remotePeer, error.name, error.message)
      stream.abort(error)
    }
  }, { runOnLimitedConnection: false, maxInboundStreams: options.maxInboundStreams ?? DEFAULT_SESSION_MAX_INBOUND_STREAMS })
}

async function serveSession (stream: Stream, peer: PeerId, protocol: string, handler: SessionHandler, options: SessionHandleOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const maxInFlight = options.maxInFlight ?? DEFAULT_SESSION_MAX_IN_FLIGHT
  const ended = new AbortController()
  const onClose = (): void => { ended.abort(new ProtocolError(`${protocol}: the session closed`, { protocol })) }
  stream.addEventListener('close', onClose, { once: true })
  const lp = lpStream(stream, framing(options.maxRequestBytes + SESSION_FRAME_OVERHEAD))
  const inFlight = new Map<number, Promise<void>>()
  let freed: (() => void) | undefined
  const answer = async (id: number, body: Uint8Array): Promise<void> => {
    const deadline = deadlineSignal(timeoutMs, ended.signal)
    try {
      let frame: SessionFrame
      try {
        frame = { id, body: await raceSignal(Promise.resolve().then(async () => await handler(body, peer, { signal: deadline.signal })), deadline.signal) }
      } catch {
        frame = { id, failed: true }
      }
      if (ended.signal.aborted) return
      // an asker that does not read its answers within the deadline holds no more of ours
      await raceSignal(lp.write(encodeSessionFrame(frame), { signal: deadline.signal }), deadline.signal)
    } catch (err) {
      if (!ended.signal.aborted) stream.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      deadline.clear()
    }
  }
  try {
    while (!ended.signal.aborted) {
      if (inFlight.size >= maxInFlight) {
        await raceSignal(new Promise<void>((resolve) => { freed = resolve }), ended.signal)
        continue
      }
      let bytes: Uint8Array
      try {
        bytes = (await lp.read({ signal: ended.signal })).subarray()
      } catch (err) {
        // the asker closed its side: answer what it asked, then close ours
        if (stream.remoteWriteStatus !== 'writable' && stream.readBufferLength === 0) break
        throw err
      }
      const frame = decodeSessionFrame(bytes, options.maxRequestBytes, `${protocol} request`)
      if (!('body' in frame)) throw new ProtocolError(`${protocol}: a request frame must carry a body`, { protocol })
      if (inFlight.has(frame.id)) throw new ProtocolError(`${protocol}: request id ${frame.id} is still in flight`, { protocol, id: frame.id })
      const id = frame.id
      inFlight.set(id, answer(id, frame.body).finally(() => {
        inFlight.delete(id)
        freed?.()
        freed = undefined
      }))
    }
    await Promise.all(inFlight.values())
    if (!ended.signal.aborted) await stream.close({ signal: AbortSignal.timeout(timeoutMs) })
  } finally {
    stream.removeEventListener('close', onClose)
  }
}

export interface SessionPoolInit {
  protocol: string
  /** A one-request protocol asked on the same dial when the peer does not speak `protocol`. */
  fallback?: string
  maxRequestBytes: number
  maxResponseBytes: number
  /** Deadline for opening a session (dial and negotiation). @default DEFAULT_REQUEST_TIMEOUT_MS */
  openTimeoutMs?: number
  /** @default DEFAULT_MAX_SESSIONS */
  maxSessions?: number
  /**
   * Peers to open a session to as soon as identify shows they speak the protocol, so the first
   * question to them costs one round trip too (the asker's likely authorities); others get one
   * on their first question.
   */
  eager?: (peer: PeerId) => boolean
}

/** What a dial negotiated: a session, or the fallback protocol on a stream its first question takes. */
type Opened = { kind: 'session', session: ClientSession } | { kind: 'fallback', stream?: Stream }

/**
 * The asking side: one session per peer, opened on the first question (or as soon as the peer is
 * identified, with `eager`), shared by every question to that peer. A peer that only speaks the
 * fallback protocol is asked on one-request streams, as before sessions existed.
 */
export class SessionPool {
  private readonly libp2p: Libp2p
  private readonly init: SessionPoolInit
  private readonly maxSessions: number
  /** Sessions open or opening, by peer. */
  private readonly opened = new Map<string, Promise<Opened>>()
  /** Peers whose dial negotiated the fallback protocol, until they disconnect. */
  private readonly fallbackPeers = new Set<string>()
  private readonly listeners: Array<[string, (evt: CustomEvent) => void]> = []
  private stopped = false

  constructor (libp2p: Libp2p, init: SessionPoolInit) {
    this.libp2p = libp2p
    this.init = init
    this.maxSessions = init.maxSessions ?? DEFAULT_MAX_SESSIONS
  }

  start (): void {
    const onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
      if (this.init.eager?.(evt.detail.peerId) === true && evt.detail.protocols.includes(this.init.protocol)) this.open(evt.detail.peerId)
    }
    // a peer gone takes its fallback mark with it: it may speak sessions when it comes back
    const onDisconnect = (evt: CustomEvent<PeerId>): void => { this.fallbackPeers.delete(evt.detail.toString()) }
    this.listen('peer:identify', onIdentify as (evt: CustomEvent) => void)
    this.listen('peer:disconnect', onDisconnect as (evt: CustomEvent) => void)
  }

  stop (): void {
    this.stopped = true
    for (const [name, listener] of this.listeners) this.libp2p.removeEventListener(name as 'peer:identify', listener)
    this.listeners.length = 0
    for (const opening of this.opened.values()) void opening.then(o => { if (o.kind === 'session') o.session.end(new ProtocolError('the node stopped', {})) }, () => undefined)
    this.opened.clear()
    this.fallbackPeers.clear()
  }

  /** Opens a session to `peer` in the background, if none is open or opening and a connection is. */
  open (peer: PeerId): void {
    const key = peer.toString()
    if (this.stopped || this.opened.has(key) || this.fallbackPeers.has(key) || this.opened.size >= this.maxSessions) return
    if (this.libp2p.getConnections(peer).length === 0) return
    this.opening(peer).catch(() => undefined)
  }

  /** Sends one request to `peer` and returns its answer; rejects as `sendRequest` does. */
  async request (peer: PeerId, body: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array> {
    const { protocol, maxResponseBytes } = this.init
    const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    const key = peer.toString()
    const fallback = this.init.fallback
    // a one-request stream when the peer speaks only the fallback, or the pool is full (without a
    // fallback, a session is the only way to ask)
    if (fallback !== undefined && (this.stopped || this.fallbackPeers.has(key) || (!this.opened.has(key) && this.opened.size >= this.maxSessions))) {
      return await sendRequest(this.libp2p, peer, fallback, body, { ...options, maxResponseBytes })
    }
    const deadline = deadlineSignal(timeoutMs, options.signal)
    const signal = deadline.signal
    const context = { protocol, timeoutMs, maxResponseBytes, callerSignal: options.signal }
    try {
      let opened: Opened
      try {
        opened = await raceSignal(this.opened.get(key) ?? this.opening(peer), signal)
      } catch (err) {
        addExchange(options.cost)
        throw requestError(err instanceof Error ? err : new Error(String(err)), { ...context, deadlinePassed: signal.aborted })
      }
      if (opened.kind === 'fallback') {
        // the stream the dial negotiated serves the first question; questions that waited on the
        // same dial dial their own
        const stream = opened.stream
        opened.stream = undefined
        if (stream !== undefined) return await exchangeOnStream(stream, body, { ...options, ...context, protocol: fallback as string }, options.signal, signal)
        return await sendRequest(this.libp2p, peer, fallback as string, body, { ...options, signal, maxResponseBytes })
      }
      return await opened.session.ask(body, signal, options, context)
    } finally {
      deadline.clear()
    }
  }

  private listen (name: string, listener: (evt: CustomEvent) => void): void {
    this.libp2p.addEventListener(name as 'peer:identify', listener)
    this.listeners.push([name, listener])
  }

  private async opening (peer: PeerId): Promise<Opened> {
    const key = peer.toString()
    // called once the dial settled, so `promise` is set by then
    const forget = (): void => { if (this.opened.get(key) === promise) this.opened.delete(key) }
    const promise = (async (): Promise<Opened> => {
      const { protocol, fallback } = this.init
      const deadline = deadlineSignal(this.init.openTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)
      try {
        const stream = await raceSignal(this.libp2p.dialProtocol(peer, fallback !== undefined ? [protocol, fallback] : [protocol], { signal: deadline.signal }), deadline.signal)
        if (stream.protocol === protocol) return { kind: 'session', session: new ClientSession(stream, protocol, this.init.maxResponseBytes, forget) }
        this.fallbackPeers.add(key)
        forget()
        return { kind: 'fallback', stream }
      } finally {
        deadline.clear()
      }
    })()
    this.opened.set(key, promise)
    // a failed dial is not remembered: the next question tries again
    promise.catch(forget)
    return await promise
  }
}

interface Pending { resolve: (body: Uint8Array) => void, reject: (err: Error) => void }

/** The asking end of one session: writes questions, and one reader loop hands each answer to its question. */
class ClientSession {
  private readonly stream: Stream
  private readonly lp: ReturnType<typeof lpStream>
  private readonly protocol: string
  private readonly maxResponseBytes: number
  private readonly pending = new Map<number, Pending>()
  private readonly onEnd: () => void
  private nextId = 1
  private ended: Error | undefined

  constructor (stream: Stream, protocol: string, maxResponseBytes: number, onEnd: () => void) {
    this.stream = stream
    this.protocol = protocol
    this.maxResponseBytes = maxResponseBytes
    this.onEnd = onEnd
    this.lp = lpStream(stream, framing(maxResponseBytes + SESSION_FRAME_OVERHEAD))
    void this.readAnswers()
  }

  async ask (body: Uint8Array, signal: AbortSignal, options: RequestOptions, context: { protocol: string, timeoutMs: number, maxResponseBytes: number, callerSignal?: AbortSignal }): Promise<Uint8Array> {
    const id = this.nextId
    this.nextId = this.nextId >= MAX_ID ? 1 : this.nextId + 1
    const frame = encodeSessionFrame({ id, body })
    let written = false
    try {
      if (this.ended !== undefined) throw this.ended
      const answer = new Promise<Uint8Array>((resolve, reject) => { this.pending.set(id, { resolve, reject }) })
      await raceSignal(this.lp.write(frame, { signal }), signal)
      written = true
      const response = await raceSignal(answer, signal)
      addExchange(options.cost, frame.byteLength, response.byteLength + SESSION_FRAME_OVERHEAD)
      return response
    } catch (err) {
      addExchange(options.cost, written ? frame.byteLength : undefined)
      throw requestError(err instanceof Error ? err : new Error(String(err)), { ...context, deadlinePassed: signal.aborted })
    } finally {
      // an answer after the question was given up is dropped by the reader
      this.pending.delete(id)
    }
  }

  /** Ends the session: every question still open fails with `err`. */
  end (err: Error): void {
    if (this.ended !== undefined) return
    this.ended = err
    for (const pending of this.pending.values()) pending.reject(err)
    this.pending.clear()
    if (this.stream.status === 'open') this.stream.abort(err)
    this.onEnd()
  }

  private async readAnswers (): Promise<void> {
    try {
      while (true) {
        const frame = decodeSessionFrame((await this.lp.read()).subarray(), this.maxResponseBytes, `${this.protocol} answer`)
        const pending = this.pending.get(frame.id)
        this.pending.delete(frame.id)
        // an id never used is a broken or lying peer; one given up is a late answer, dropped
        if (pending === undefined && frame.id >= this.nextId) throw new ProtocolError(`${this.protocol}: an answer to question ${frame.id}, which was never asked`, { protocol: this.protocol, id: frame.id })
        if (pending === undefined) continue
        if ('body' in frame) pending.resolve(frame.body)
        else pending.reject(new ProtocolError(`${this.protocol}: the peer could not answer`, { protocol: this.protocol }))
      }
    } catch (err) {
      this.end(err instanceof Error ? err : new Error(String(err)))
    }
  }
}
