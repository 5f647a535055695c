import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createCitycodeLibp2p } from '../../../src/network/node/index.ts'
import type { CitycodeLibp2p } from '../../../src/network/node/index.ts'
import { handleRequests, sendRequest } from '../../../src/network/rpc/index.ts'

const PROTOCOL = '/citycode/test-echo/1.0.0'

describe('tcp loopback', function () {
  this.timeout(30_000)
  const started: CitycodeLibp2p[] = []
  afterEach(async () => { await Promise.allSettled(started.splice(0).map(async node => { await node.stop() })) })

  const tcpNode = async (): Promise<CitycodeLibp2p> => {
    const node = await createCitycodeLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      transport: 'tcp',
      listen: ['/ip4/127.0.0.1/tcp/0'],
      validateRecord: async () => {},
      selectRecord: () => 0
    })
    started.push(node)
    return node
  }

  it('two nodes do a request/response round trip over noise on 127.0.0.1', async () => {
    const [a, b] = [await tcpNode(), await tcpNode()]
    const addr = b.getMultiaddrs().find(ma => ma.toString().startsWith('/ip4/127.0.0.1/tcp/'))
    assert.ok(addr !== undefined, `b listens on loopback tcp: ${b.getMultiaddrs().join(', ')}`)
    assert.notEqual(addr.toString().split('/')[4], '0', 'a real port was assigned')
    await handleRequests(b, PROTOCOL, async (request, peer) => Uint8Array.from([...request, peer.equals(a.peerId) ? 1 : 0]))
    const response = await sendRequest(a, addr, PROTOCOL, Uint8Array.of(7, 8), { timeoutMs: 10_000 })
    assert.deepEqual([...response], [7, 8, 1])
    const connection = a.getConnections(b.peerId)[0]
    assert.equal(connection?.encryption, '/noise')
  })
})
