import type { KadDHT } from '@libp2p/kad-dht'
import type { AbortOptions } from '@libp2p/interface'
import { addDhtEvent } from '../message-cost.ts'
import type { CostOptions } from '../message-cost.ts'
import { recordKey } from '../../core/record/dht-key.ts'

/**
 * Values kad-dht finds under a code's key, with the peer each came from (not yet verified by us), as
 * the walk goes. kad-dht's `get()` holds its VALUE events back until the whole query has ended, and
 * then throws (losing them) when a peer refuses its correction record; the peer responses that carry
 * a record arrive as each peer answers, so values are taken from those, and a consumer that has
 * enough stops the walk early by aborting the signal or breaking out.
 */
export async function * dhtValues (dht: KadDHT, code: string, options: CostOptions): AsyncGenerator<{ value: Uint8Array, from: string }> {
  const seen = new Set<string>()
  const key = recordKey(code)
  for await (const event of dht.get(key, { signal: options.signal })) {
    addDhtEvent(options.cost, event, key.byteLength)
    let found: { value: Uint8Array, from: string } | undefined
    if (event.name === 'PEER_RESPONSE' && event.record != null) found = { value: event.record.value, from: event.from.toString() }
    // the node's own stored copy comes only as a VALUE event
    else if (event.name === 'VALUE') found = { value: event.value, from: event.from.toString() }
    if (found === undefined || seen.has(found.from)) continue
    seen.add(found.from)
    yield found
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
