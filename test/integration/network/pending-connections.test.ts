import assert from 'node:assert/strict'
import net from 'node:net'
import { createCitycodeLibp2p } from '../../../src/network/node/index.ts'
import type { CitycodeLibp2p, CitycodeLibp2pInit } from '../../../src/network/node/index.ts'
import { waitUntil } from '../../utils/network.ts'
import { startStockPeer } from '../../utils/stock-peer.ts'
import type { StockPeer } from '../../utils/stock-peer.ts'

/**
 * Issue #16, libp2p port: raw TCP sockets that connect and never start a handshake, from loopback
 * addresses other than 127.0.0.1 (Linux routes all of 127/8 to the loopback interface), against
 * one of our nodes; the honest peer is a stock js-libp2p node dialling from 127.0.0.1.
 */
describe('pending inbound connections (issue #16): silent sockets cannot lock honest peers out', function () {
  this.timeout(60_000)
  let node: CitycodeLibp2p | undefined
  let honest: StockPeer | undefined
  const sockets: net.Socket[] = []

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy()
    await Promise.allSettled([node?.stop(), honest?.stop()])
    node = undefined
    honest = undefined
  })

  async function start (init: Partial<CitycodeLibp2pInit> = {}): Promise<{ port: number }> {
    node = await createCitycodeLibp2p({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'], validateRecord: async () => {}, selectRecord: () => 0, ...init })
    const addr = node.getMultiaddrs()[0]!
    return { port: Number(addr.getComponents().find(c => c.name === 'tcp')!.value) }
  }

  /** Opens `n` sockets from `from` that send nothing; resolves once each is connected or closed. */
  async function silent (port: number, from: string, n: number): Promise<Array<{ closedAt?: number }>> {
    const states: Array<{ closedAt?: number }> = []
    await Promise.all(Array.from({ length: n }, async () => {
      const state: { closedAt?: number } = {}
      states.push(state)
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: from })
      sockets.push(socket)
      socket.on('error', () => {})
      socket.on('close', () => { state.closedAt = Date.now() })
      await new Promise<void>(resolve => { socket.once('connect', resolve); socket.once('close', () => { resolve() }) })
    }))
    // libp2p admits a socket on the next turns of the event loop
    await new Promise(resolve => setTimeout(resolve, 300))
    return states
  }

  async function honestDial (): Promise<void> {
    honest = (await startStockPeer({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'] })).peer
    await honest.dial(node!.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000) })
  }

  it('120 silent sockets from one address leave room for an honest newcomer from another (row 44)', async () => {
    const { port } = await start()
    const states = await silent(port, '127.0.0.2', 120)
    await honestDial()
    assert.ok(await waitUntil(() => node!.getConnections(honest!.peerId).length > 0, 5_000), 'our node holds the honest connection')
    // the sockets past the per-address cap were closed at once, not left holding slots
    assert.ok(states.filter(s => s.closedAt !== undefined).length >= 100, `${states.filter(s => s.closedAt !== undefined).length} of 120 closed`)
  })

  it('a silent socket is dropped within the short upgrade timeout (row 44)', async () => {
    const { port } = await start()
    const opened = Date.now()
    const states = await silent(port, '127.0.0.3', 4)
    // libp2p's default (10 s) would hold them twice as long as this bound
    assert.ok(await waitUntil(() => states.every(s => s.closedAt !== undefined), 8_000), 'every silent socket was closed by the node')
    for (const s of states) assert.ok((s.closedAt ?? Infinity) - opened < 8_000)
  })

  it('a flood from many addresses filling every pending slot still lets a known peer in (row 45)', async () => {
    honest = (await startStockPeer({ transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'] })).peer
    const known = honest.getMultiaddrs()[0]!.toString()
    const { port } = await start({ knownPeers: [known] })
    // 8 addresses x 16 sockets: more than the node's 100 pending slots, each address within its cap
    const states: Array<{ closedAt?: number }> = []
    for (let i = 10; i < 18; i++) states.push(...await silent(port, `127.0.0.${i}`, 16))
    assert.ok(states.filter(s => s.closedAt === undefined).length >= 100, 'the flood holds every pending slot')
    await honest.dial(node!.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000) })
    assert.ok(await waitUntil(() => node!.getConnections(honest!.peerId).length > 0, 5_000), 'our node holds the known peer\'s connection')
  })
})
