import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { memory } from '@libp2p/memory'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import type { Multiaddr } from '@multiformats/multiaddr'
import * as varint from 'uint8-varint'
import { decodeCanonical, encodeCbor } from '../../src/core/codec/cbor.ts'
import type { CborMap } from '../../src/core/codec/cbor.ts'
import { CID } from 'multiformats/cid'

/**
 * The other side of `/citycode/exchange/1.0.0` as an attacker: a stock js-libp2p peer (none of our
 * factory or protocol code) that frames messages as SPEC 11.4 says. As a requester it sends the
 * request bytes it is given on a raw stream and returns the decoded frames; as a provider it
 * answers each request with the lie it is set to tell.
 */
export const EXCHANGE_PROTOCOL_ID = '/citycode/exchange/1.0.0'

export type ProviderLie =
  /** Each wanted block's frame carries these bytes instead of the block's. */
  | { kind: 'mismatch', data: Uint8Array }
  /** A length prefix announcing this many bytes (over the frame limit), then bytes without end. */
  | { kind: 'oversized', bytes: number }
  /** Varint continuation bytes without end: a length prefix that never finishes. */
  | { kind: 'endless' }
  /** The true blocks it was given (a copy holder), but it resets the stream after `blocks` of them. */
  | { kind: 'stop-after', blocks: number, held: Map<string, Uint8Array> }

export interface ExchangePeer {
  readonly libp2p: Libp2p
  readonly peerId: PeerId
  lie: ProviderLie
  /** Bytes written as a provider (the requester's side took them, or the stream ended). */
  sent: number
  /** Sends each request on one new stream and returns the frames answered to each, decoded. */
  request(to: Multiaddr | PeerId, requests: Uint8Array[]): Promise<CborMap[][]>
  stop(): Promise<void>
}

export async function startExchangePeer (options: { listen: string, lie?: ProviderLie }): Promise<ExchangePeer> {
  const libp2p = await createLibp2p({
    addresses: { listen: [options.listen] },
    transports: [memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  const peer: ExchangePeer = {
    libp2p,
    peerId: libp2p.peerId,
    lie: options.lie ?? { kind: 'endless' },
    sent: 0,
    request: async (to, requests) => await rawExchange(libp2p, to, requests),
    stop: async () => { await libp2p.stop() }
  }
  const send = async (stream: Stream, bytes: Uint8Array): Promise<boolean> => {
    if (stream.status !== 'open' || stream.writeStatus !== 'writable') return false
    try {
      if (!stream.send(bytes)) await stream.onDrain({ signal: AbortSignal.timeout(30_000) })
    } catch {
      return false
    }
    peer.sent += bytes.byteLength
    return stream.status === 'open'
  }
  await libp2p.handle(EXCHANGE_PROTOCOL_ID, async (stream: Stream) => {
    try {
      const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
      let sentBlocks = 0
      while (true) {
        const outer = decodeCanonical((await lp.read({ signal: AbortSignal.timeout(20_000) })).subarray(), 64 * 1024, 'request') as CborMap
        const body = decodeCanonical(outer.body as Uint8Array, 64 * 1024, 'request body') as CborMap
        const want = (body.want as Uint8Array[]).map(b => CID.decode(b))
        const lie = peer.lie
        if (lie.kind === 'oversized') {
          lp.unwrap()
          await send(stream, varint.encode(lie.bytes))
          const chunk = new Uint8Array(16 * 1024).fill(0xa5)
          while (await send(stream, chunk)) {}
          return
        }
        if (lie.kind === 'endless') {
          lp.unwrap()
          const chunk = new Uint8Array(16 * 1024).fill(0xff)
          while (await send(stream, chunk)) {}
          return
        }
        for (const cid of want) {
          const data = lie.kind === 'mismatch' ? lie.data : lie.held.get(cid.toString())
          if (data === undefined) continue
          await lp.write(encodeCbor({ v: 1, status: 'block', cid: cid.bytes, data }))
          peer.sent += data.byteLength
          sentBlocks++
          if (lie.kind === 'stop-after' && sentBlocks >= lie.blocks) {
            stream.abort(new Error('provider stops mid-transfer'))
            return
          }
        }
        // a receipt it cannot sign as the dataset's provider: only its own garbage
        await lp.write(encodeCbor({ v: 1, status: 'end', receipt: new Uint8Array(8), missing: [] }))
      }
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }, { maxInboundStreams: 16 })
  return peer
}

/**
 * Sends each request on one raw stream of `libp2p` (any libp2p node, ours included: the bytes are
 * built by the caller, the framing here) and returns the frames answered to each, decoded.
 */
export async function rawExchange (libp2p: Libp2p, to: Multiaddr | PeerId, requests: Uint8Array[]): Promise<CborMap[][]> {
  const signal = AbortSignal.timeout(20_000)
  const stream = await libp2p.dialProtocol(to, EXCHANGE_PROTOCOL_ID, { signal })
  const lp = lpStream(stream, { maxDataLength: 2 * 1024 * 1024 })
  const answers: CborMap[][] = []
  try {
    for (const request of requests) {
      await lp.write(request, { signal })
      const frames: CborMap[] = []
      while (true) {
        const f = decodeCanonical((await lp.read({ signal })).subarray(), 2 * 1024 * 1024, 'frame') as CborMap
        frames.push(f)
        if (f.status !== 'block') break
      }
      answers.push(frames)
      if (frames.at(-1)?.status === 'refused') break
    }
  } finally {
    await stream.close().catch(() => undefined)
  }
  return answers
}
