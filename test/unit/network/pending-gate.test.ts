import assert from 'node:assert/strict'
import type { MultiaddrConnection, PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { allowListFor, pendingConnectionGate } from '../../../src/network/node/pending-gate.ts'

/** The two members of a MultiaddrConnection the gate reads: its remote address and its close event. */
function conn (addr: string): MultiaddrConnection & EventTarget {
  const target = new EventTarget()
  return Object.assign(target, { remoteAddr: multiaddr(addr) }) as unknown as MultiaddrConnection & EventTarget
}
const peer = {} as unknown as PeerId

describe('pendingConnectionGate', () => {
  it('refuses a host past its cap until one of its connections closes or finishes upgrading', () => {
    const gate = pendingConnectionGate(2)
    const a = conn('/ip4/10.0.0.1/tcp/1001')
    const b = conn('/ip4/10.0.0.1/tcp/1002')
    assert.equal(gate.denyInboundConnection!(a), false)
    assert.equal(gate.denyInboundConnection!(b), false)
    assert.equal(gate.denyInboundConnection!(conn('/ip4/10.0.0.1/tcp/1003')), true, 'third pending from one host')
    assert.equal(gate.denyInboundConnection!(conn('/ip4/10.0.0.2/tcp/1003')), false, 'another host is not affected')
    a.dispatchEvent(new Event('close'))
    assert.equal(gate.denyInboundConnection!(conn('/ip4/10.0.0.1/tcp/1004')), false, 'a slot freed by a close')
    gate.denyInboundUpgradedConnection!(peer, b)
    // closing after the upgrade released it must not free a second slot
    b.dispatchEvent(new Event('close'))
    assert.equal(gate.denyInboundConnection!(conn('/ip4/10.0.0.1/tcp/1005')), false, 'a slot freed by the upgrade')
    assert.equal(gate.denyInboundConnection!(conn('/ip4/10.0.0.1/tcp/1006')), true, 'and only one')
  })

  it('never gates allow-listed hosts or addresses without an IP', () => {
    const gate = pendingConnectionGate(1, allowListFor(['/ip4/10.0.0.9/tcp/4001/p2p/12D3KooWB1PXqsyL8GcSCYEoRUUga9k4Vi9ciBhMGPYP1Athaj4v']))
    for (let i = 0; i < 5; i++) assert.equal(gate.denyInboundConnection!(conn(`/ip4/10.0.0.9/tcp/${2000 + i}`)), false)
    for (let i = 0; i < 5; i++) assert.equal(gate.denyInboundConnection!(conn(`/memory/sim-${i}`)), false)
  })

  it('allowListFor keeps the IP of each address and skips the rest', () => {
    assert.deepEqual(allowListFor(['/ip4/10.0.0.9/tcp/4001', '/ip6/::1/tcp/1', '/memory/x', '/dns4/example.org/tcp/1', 'not an address', '/ip4/10.0.0.9/tcp/4002']), ['/ip4/10.0.0.9', '/ip6/::1'])
  })
})
