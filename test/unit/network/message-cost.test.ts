import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerInfo } from '@libp2p/interface'
import type { QueryEvent } from '@libp2p/kad-dht'
import * as lp from 'it-length-prefixed'
// kad-dht's own wire codec (not in its public exports): the sizes we compute must match its frames
import { Message, MessageType, Record } from '../../../node_modules/@libp2p/kad-dht/dist/src/message/dht.js'
import { addDhtEvent, addExchange, emptyCost, framedBytes, varintBytes } from '../../../src/network/message-cost.ts'

const frame = (bytes: Uint8Array): number => lp.encode.single(bytes).byteLength

describe('message cost', () => {
  it('sizes varint length prefixes as it-length-prefixed frames them', () => {
    for (const n of [0, 1, 127, 128, 300, 16_383, 16_384, 2_097_152]) {
      assert.equal(framedBytes(n), frame(new Uint8Array(n)), `n = ${n}`)
      assert.equal(varintBytes(n), frame(new Uint8Array(n)) - n)
    }
  })

  it('counts a question with its answer as one peer, two messages, and both frames', () => {
    const cost = emptyCost()
    addExchange(cost, 30, 700)
    addExchange(cost, 30)
    assert.deepEqual(cost, { peersAsked: 2, messages: 3, bytes: (1 + 30) * 2 + (2 + 700) })
    addExchange(undefined, 30, 700)
    addExchange(cost)
    assert.deepEqual(cost, { peersAsked: 3, messages: 3, bytes: (1 + 30) * 2 + (2 + 700) }, 'a peer whose dial failed: asked, nothing sent')
  })

  it('sizes kad-dht GET_VALUE queries and responses exactly as kad-dht encodes them', async () => {
    const peer = async (addrs: string[]): Promise<PeerInfo> => ({ id: peerIdFromPrivateKey(await generateKeyPair('Ed25519')), multiaddrs: addrs.map(a => multiaddr(a)) })
    const from = await peer([])
    const key = new TextEncoder().encode('/citycode/MA.156.1301')
    const value = new Uint8Array(612).fill(7)
    const timeReceived = new Date()
    const closer = [await peer(['/memory/sim-1-17']), await peer(['/ip4/127.0.0.1/tcp/4001', '/memory/a'])]
    const cost = emptyCost()
    addDhtEvent(cost, { name: 'SEND_QUERY', to: from, messageName: 'GET_VALUE' } as unknown as QueryEvent, key.byteLength)
    addDhtEvent(cost, { name: 'PEER_RESPONSE', from, messageName: 'GET_VALUE', closer, providers: [], record: { key, value, timeReceived } } as unknown as QueryEvent, key.byteLength)
    addDhtEvent(cost, { name: 'QUERY_ERROR', from } as unknown as QueryEvent, key.byteLength)

    const request = Message.encode({ type: MessageType.GET_VALUE, key, closer: [], providers: [] })
    const response = Message.encode({
      type: MessageType.GET_VALUE,
      key,
      record: Record.encode({ key, value, timeReceived: timeReceived.toISOString() }),
      closer: closer.map(p => ({ id: p.id.toMultihash().bytes, multiaddrs: p.multiaddrs.map(a => a.bytes) })),
      providers: []
    })
    assert.deepEqual(cost, { peersAsked: 1, messages: 2, bytes: frame(request) + frame(response) })
  })
})
