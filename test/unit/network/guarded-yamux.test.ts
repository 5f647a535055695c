import assert from 'node:assert/strict'
import { multiaddrConnectionPair } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { guardedYamux } from '../../../src/network/node/guarded-yamux.ts'

const settle = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 20)) }

describe('guarded yamux', () => {
  it('a stream opened as its connection closes is aborted, not thrown from a microtask', async () => {
    // unguarded, yamux 8.0.1 throws StreamStateError from its opening microtask here, which mocha
    // reports as an uncaught exception failing this test
    const [outbound, inbound] = multiaddrConnectionPair()
    const factory = guardedYamux()()
    const muxer = factory.createStreamMuxer(outbound)
    factory.createStreamMuxer(inbound)
    const opening = muxer.createStream()
    void outbound.close()
    const stream = await opening
    await settle()
    assert.equal(stream.status, 'aborted')
  })

  it('streams on an open connection still carry data both ways', async () => {
    const [outbound, inbound] = multiaddrConnectionPair()
    const factory = guardedYamux()()
    const client = factory.createStreamMuxer(outbound)
    const server = factory.createStreamMuxer(inbound)
    const received = new Promise<Stream>(resolve => { server.addEventListener('stream', evt => { resolve(evt.detail) }, { once: true }) })
    const stream = await client.createStream()
    stream.send(new TextEncoder().encode('ping'))
    const remote = await received
    const chunks: string[] = []
    remote.addEventListener('message', evt => { chunks.push(new TextDecoder().decode(evt.data.subarray())) })
    await settle()
    assert.deepEqual(chunks, ['ping'])
    remote.send(new TextEncoder().encode('pong'))
    const back: string[] = []
    stream.addEventListener('message', evt => { back.push(new TextDecoder().decode(evt.data.subarray())) })
    await settle()
    assert.deepEqual(back, ['pong'])
    await client.close()
    await server.close()
  })
})
