import { yamux } from '@chainsafe/libp2p-yamux'
import type { YamuxMuxerInit } from '@chainsafe/libp2p-yamux'
import type { MultiaddrConnection, StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'

/** The part of a yamux stream the guard touches (its class is not exported). */
interface WindowUpdating {
  sendWindowUpdate: () => void
  abort: (err: Error) => void
}

/** The part of a yamux muxer the guard touches: `onCreateStream` is public on its class. */
type OutboundStreamCreator = StreamMuxer & {
  onCreateStream: (...args: never[]) => unknown
}

/**
 * yamux (8.0.1) opens an outbound stream by sending its first window update from a microtask, so
 * that the stream is registered before the ACK can arrive. When the connection closes between the
 * `newStream` call and that microtask (a node stopping while a push or DHT query opens a stream,
 * a peer hanging up), the send throws `StreamStateError` from the microtask: an uncaught exception,
 * which kills a node process and fails whichever test happens to be running. A stream whose first
 * frame cannot be sent is dead anyway, so the guard aborts that stream with the error instead; its
 * opener sees the abort like any other connection failure.
 */
export function guardedYamux (init?: YamuxMuxerInit): () => StreamMuxerFactory {
  const inner = yamux(init)
  return () => {
    const factory = inner()
    return {
      protocol: factory.protocol,
      createStreamMuxer: (maConn: MultiaddrConnection): StreamMuxer => guardOutboundStreams(factory.createStreamMuxer(maConn))
    }
  }
}

/** Wraps the muxer's stream creation so each new outbound stream's window updates cannot throw. */
export function guardOutboundStreams<M extends StreamMuxer> (muxer: M): M {
  const creator = muxer as unknown as OutboundStreamCreator
  const create = creator.onCreateStream.bind(creator)
  creator.onCreateStream = (...args: never[]): unknown => {
    const stream = create(...args)
    // yamux returns its stream synchronously; the microtask it queued runs after this returns
    if (isWindowUpdating(stream)) guardWindowUpdates(stream)
    return stream
  }
  return muxer
}

function guardWindowUpdates (stream: WindowUpdating): void {
  const send = stream.sendWindowUpdate.bind(stream)
  stream.sendWindowUpdate = (): void => {
    try {
      send()
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }
}

function isWindowUpdating (value: unknown): value is WindowUpdating {
  const candidate = value as Partial<WindowUpdating> | null
  return typeof candidate?.sendWindowUpdate === 'function' && typeof candidate.abort === 'function'
}
