import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Libp2p, Stream } from '@libp2p/interface'
import { memory } from '@libp2p/memory'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { multiaddr } from '@multiformats/multiaddr'
import { decodeCanonical, encodeCbor } from '../../src/core/codec/cbor.ts'
import type { CborMap } from '../../src/core/codec/cbor.ts'
import * as varint from 'uint8-varint'

/**
 * A malicious holder or parent on `/citycode/resolve/1.0.0`: a stock js-libp2p peer (none of our
 * factory, gate, rpc helpers or handlers) that reads the question as SPEC section 7 frames it (one
 * varint length-prefixed DAG-CBOR message) and answers with the lie it is set to tell. What it
 * sends is built here from the SPEC; only the signed payloads it replays (records, proofs) come
 * from honest nodes or the core signing functions.
 */
export const RESOLVE_PROTOCOL_ID = '/citycode/resolve/1.0.0'

export type Lie =
  /** `found` with this record: a valid record, but of another code than the one asked. */
  | { kind: 'wrong-code', record: Uint8Array }
  /** `found` with this record: validly signed, older than one the asker verified. */
  | { kind: 'stale', record: Uint8Array }
  /** `not-found` with this proof: validly signed, from before the code was allocated. */
  | { kind: 'stale-absence', proof: Uint8Array }
  /** A length prefix announcing `bytes` (over the protocol's cap), then that many bytes. */
  | { kind: 'oversized', bytes: number }
  /** `found` with this (true) record, but one byte every `byteEveryMs`, after `delayMs`. */
  | { kind: 'slow', record: Uint8Array, delayMs: number, byteEveryMs: number }
  /** Reads the question, then sends nothing and never closes. */
  | { kind: 'silent' }
  /** Bytes without end (a length prefix that never ends, never closed), as fast as the stream takes them. */
  | { kind: 'endless' }
  /** A well-framed message of `bytes` random bytes. */
  | { kind: 'garbage', bytes: number }

export interface LyingPeer {
  readonly libp2p: Libp2p
  readonly id: string
  /** A dialable address with the peer id. */
  readonly addr: string
  /** The lie told from now on. */
  lie: Lie
  /** The codes asked, in order (every question, whatever was answered). */
  readonly questions: string[]
  /** Bytes the asker's side accepted from this peer (every lie together). */
  sent: number
  /**
   * Asks `addr` for `code` as any client may, and returns the decoded answer: how a liar collects
   * the signed answers it replays later.
   */
  ask(addr: string, code: string): Promise<CborMap>
  stop(): Promise<void>
}

/** The framing of one message: its length, then the bytes. */
function frame (body: Uint8Array): Uint8Array {
  const prefix = varint.encode(body.byteLength)
  const out = new Uint8Array(prefix.byteLength + body.byteLength)
  out.set(prefix, 0)
  out.set(body, prefix.byteLength)
  return out
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

export async function startLyingPeer (options: { transport: 'memory' | 'tcp', listen: string[], lie: Lie }): Promise<LyingPeer> {
  const libp2p = await createLibp2p({
    addresses: { listen: options.listen },
    transports: [options.transport === 'tcp' ? tcp() : memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() }
  })
  const questions: string[] = []
  const liar: LyingPeer = {
    libp2p,
    id: libp2p.peerId.toString(),
    addr: libp2p.getMultiaddrs()[0]?.toString() ?? '',
    lie: options.lie,
    questions,
    sent: 0,
    ask: async (addr, code) => {
      const signal = AbortSignal.timeout(10_000)
      const stream = await libp2p.dialProtocol(multiaddr(addr), RESOLVE_PROTOCOL_ID, { signal })
      const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
      await lp.write(encodeCbor({ v: 1, code }), { signal })
      const response = decodeCanonical((await lp.read({ signal })).subarray(), 64 * 1024, 'resolve response')
      await stream.close().catch(() => undefined)
      return response as CborMap
    },
    stop: async () => { await libp2p.stop() }
  }
  const open = (stream: Stream): boolean => stream.status === 'open' && stream.writeStatus === 'writable'
  /** Sends and counts what the stream took; false once the asker has gone. */
  const send = async (stream: Stream, bytes: Uint8Array): Promise<boolean> => {
    if (!open(stream)) return false
    try {
      if (!stream.send(bytes)) await stream.onDrain({ signal: AbortSignal.timeout(30_000) })
    } catch {
      return false
    }
    liar.sent += bytes.byteLength
    return open(stream)
  }
  const answer = (value: CborMap): Uint8Array => frame(encodeCbor({ v: 1, ...value }))

  await libp2p.handle(RESOLVE_PROTOCOL_ID, async (stream: Stream) => {
    try {
      const lp = lpStream(stream, { maxDataLength: 256 })
      const request = decodeCanonical((await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray(), 256, 'resolve request') as { code?: unknown }
      questions.push(typeof request.code === 'string' ? request.code : '?')
      // whatever lp read ahead of the question is not ours to keep
      lp.unwrap()
      const lie = liar.lie
      switch (lie.kind) {
        case 'wrong-code':
        case 'stale':
          await send(stream, answer({ status: 'found', record: lie.record }))
          break
        case 'stale-absence':
          await send(stream, answer({ status: 'not-found', proof: lie.proof }))
          break
        case 'garbage':
          await send(stream, frame(crypto.getRandomValues(new Uint8Array(lie.bytes))))
          break
        case 'oversized': {
          if (!await send(stream, varint.encode(lie.bytes))) break
          const chunk = new Uint8Array(16 * 1024).fill(0xa5)
          for (let left = lie.bytes; left > 0; left -= chunk.byteLength) {
            if (!await send(stream, chunk.subarray(0, Math.min(left, chunk.byteLength)))) break
          }
          break
        }
        case 'slow': {
          await sleep(lie.delayMs)
          const bytes = answer({ status: 'found', record: lie.record })
          for (let i = 0; i < bytes.byteLength; i++) {
            if (!await send(stream, bytes.subarray(i, i + 1))) break
            await sleep(lie.byteEveryMs)
          }
          break
        }
        case 'silent':
          await new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
          return
        case 'endless': {
          // every byte a varint continuation byte: a length prefix that never ends, so no message ever does
          const chunk = new Uint8Array(16 * 1024).fill(0xff)
          while (await send(stream, chunk)) {}
          return
        }
      }
      if (open(stream)) await stream.close().catch(() => undefined)
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }, { maxInboundStreams: 256 })
  return liar
}
