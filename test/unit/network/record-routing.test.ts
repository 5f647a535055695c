import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { KadDHT, QueryEvent } from '@libp2p/kad-dht'
import type { PeerId } from '@libp2p/interface'
import { dhtValues } from '../../../src/network/dht/record-routing.ts'

async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** kad-dht's `get()` as far as dhtValues uses it: a stream of query events, possibly ending in an error. */
function fakeDht (events: Array<Partial<QueryEvent>>, endError?: Error): KadDHT {
  return {
    async * get () {
      for (const e of events) yield e as QueryEvent
      if (endError !== undefined) throw endError
    }
  } as unknown as KadDHT
}

describe('DHT record routing', () => {
  it('yields each value as its peer answers, once per peer, before the query ends', async () => {
    const [a, b] = [await peer(), await peer()]
    const one = new Uint8Array([1])
    const two = new Uint8Array([2])
    const dht = fakeDht([
      { name: 'PEER_RESPONSE', from: a, record: { value: one } } as unknown as Partial<QueryEvent>,
      { name: 'PEER_RESPONSE', from: b } as unknown as Partial<QueryEvent>,
      { name: 'PEER_RESPONSE', from: b, record: { value: two } } as unknown as Partial<QueryEvent>,
      // kad-dht repeats the values as VALUE events once the whole query has ended
      { name: 'VALUE', from: a, value: one } as unknown as Partial<QueryEvent>
    ], Object.assign(new Error('a peer refused the correction record'), { name: 'QueryError' }))
    const got: Array<{ value: Uint8Array, from: string }> = []
    await assert.rejects((async () => {
      for await (const v of dhtValues(dht, 'MA.156.1301', {})) got.push(v)
    })(), { name: 'QueryError' })
    assert.deepEqual(got.map(g => [g.from, [...g.value]]), [[a.toString(), [1]], [b.toString(), [2]]], 'both values were out before kad-dht threw')
  })
})
