import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { APPLY_PROTOCOL } from '../../src/network/protocols/apply.ts'
import { handleRequests, sendRequest } from '../../src/network/rpc/index.ts'
import { startTestNetwork } from '../utils/citycode-network.ts'
import type { TestNetwork } from '../utils/citycode-network.ts'

describe('applying to a parent that answers after one attempt\'s deadline', function () {
  this.timeout(60_000)
  let net: TestNetwork

  before(async () => { net = await startTestNetwork(0) })
  after(async () => { await net.stop() })

  it('attempts shorter than the parent\'s answer never get it; one long enough does', async () => {
    // a parent that takes 1.5 s to answer: a relay in front of the country authority
    const relay = await net.add('resolver', { network: { transport: 'memory', listen: [`/memory/slow-parent-${process.pid}-${Date.now()}`], bootstrap: [net.addrOf(net.root)] } })
    await handleRequests(relay.libp2p, APPLY_PROTOCOL, async (request) => {
      await new Promise(resolve => setTimeout(resolve, 1_500))
      return await sendRequest(relay.libp2p, multiaddr(net.addrOf(net.country)), APPLY_PROTOCOL, request, { timeoutMs: 10_000 })
    })
    const parent = { namespace: 'MA.156', addr: net.addrOf(relay) }

    const impatient = await net.add('city')
    const failures: string[] = []
    await assert.rejects(
      impatient.apply(parent, { name: 'City 130100', officialCode: '130100' }, { attemptTimeoutMs: 500, timeoutMs: 4_000, onUnreachable: (err) => { failures.push(err.name) } }),
      (err: Error) => /Timeout/.test(err.name)
    )
    assert.ok(failures.length >= 1, 'it tried and gave up on every attempt')
    assert.ok(failures.every(name => name === 'RequestTimeoutError'), failures.join(', '))
    assert.equal(impatient.identity, undefined)

    const patient = await net.add('city')
    const code = await patient.apply(parent, { name: 'City 130200', officialCode: '130200' }, { attemptTimeoutMs: 5_000, timeoutMs: 10_000 })
    assert.equal(code, 'MA.156.1302')
    assert.equal(patient.identity?.namespace, code)
  })
})
