import type { QueryEvent } from '@libp2p/kad-dht'
import type { AbortOptions } from '@libp2p/interface'

/**
 * What one lookup cost on the wire, added up by the routing calls it makes: peers asked (hops),
 * messages (each request and each response), and their bytes as framed by the protocol (length
 * prefix and message; the transport's own framing, multistream-select, yamux and noise, is left
 * out, the same for citycode's questions and kad-dht's, so the two compare). Mutable on purpose:
 * one object is handed down through every question of a resolution.
 */
export interface MessageCost {
  peersAsked: number
  messages: number
  bytes: number
}

/** Options of a routing call that may account for what it sends and receives. */
export interface CostOptions extends AbortOptions {
  cost?: MessageCost
}

export function emptyCost (): MessageCost {
  return { peersAsked: 0, messages: 0, bytes: 0 }
}

/** Bytes of an unsigned varint: the length prefixes of both protocols and protobuf's lengths. */
export function varintBytes (n: number): number {
  let bytes = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    bytes++
  }
  return bytes
}

/** A message of `n` bytes with its unsigned-varint length prefix, as both protocols frame it. */
export function framedBytes (n: number): number {
  return varintBytes(n) + n
}

/**
 * One question over a request/response protocol: a peer asked, its request (absent when it was never
 * sent, e.g. the dial failed) and its response (absent when none came).
 */
export function addExchange (cost: MessageCost | undefined, requestBytes?: number, responseBytes?: number): void {
  if (cost === undefined) return
  cost.peersAsked++
  if (requestBytes !== undefined) {
    cost.messages++
    cost.bytes += framedBytes(requestBytes)
  }
  if (responseBytes !== undefined) {
    cost.messages++
    cost.bytes += framedBytes(responseBytes)
  }
}

/** A length-delimited protobuf field (field numbers below 16 take one tag byte). */
function field (length: number): number {
  return 1 + varintBytes(length) + length
}

/** kad-dht's `Record` message as the node stores it (key, value, `timeReceived` as an ISO date). */
const ISO_DATE_BYTES = 24

/**
 * Counts one kad-dht query event into `cost`: a sent query is a peer asked and a request of
 * `type` and `key`; a response is a message whose size follows from its fields (kad-dht's `Message`
 * protobuf: type, key, record, closer peers with their addresses). Computed, not sniffed: kad-dht
 * does not expose its frames, and its message layout is fixed by the libp2p Kademlia spec.
 */
export function addDhtEvent (cost: MessageCost | undefined, event: QueryEvent, keyBytes: number): void {
  if (cost === undefined) return
  if (event.name === 'SEND_QUERY') {
    cost.peersAsked++
    cost.messages++
    cost.bytes += framedBytes(2 + field(keyBytes))
  } else if (event.name === 'PEER_RESPONSE') {
    let size = 2 + field(keyBytes)
    if (event.record != null) size += field(field(event.record.key.byteLength) + field(event.record.value.byteLength) + field(ISO_DATE_BYTES))
    for (const peer of [...event.closer, ...event.providers]) {
      const addrs = peer.multiaddrs.reduce((sum, a) => sum + field(a.bytes.byteLength), 0)
      size += field(field(peer.id.toMultihash().bytes.byteLength) + addrs)
    }
    cost.messages++
    cost.bytes += framedBytes(size)
  }
}
