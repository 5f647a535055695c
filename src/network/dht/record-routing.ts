import type { KadDHT } from '@libp2p/kad-dht'
import type { AbortOptions } from '@libp2p/interface'
import { recordKey } from '../../core/record/dht-key.ts'

/** Values kad-dht finds under a code's key, with the peer each came from (unverified). */
export async function * dhtValues (dht: KadDHT, code: string, options: AbortOptions): AsyncGenerator<{ value: Uint8Array, from: string }> {
  for await (const event of dht.get(recordKey(code), options)) {
    if (event.name === 'VALUE') yield { value: event.value, from: event.from.toString() }
  }
}

/**
 * PUTs a record under its code's key and counts the peers that acknowledged it. The caller must
 * have validated the record: kad-dht does not refuse a local PUT of an invalid value.
 */
export async function dhtPut (dht: KadDHT, code: string, value: Uint8Array, options: AbortOptions): Promise<number> {
  let stored = 0
  for await (const event of dht.put(recordKey(code), value, options)) {
    if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') stored++
  }
  return stored
}
