/**
 * Two bench nodes on one memory network, connected: the link model (`linkTransport`) by default, or
 * another transport the bench compares it with. Nodes of the project's own factory, with no record
 * policy (the benches time messages, not records).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createCitycodeLibp2p } from '../src/network/node/index.ts'
import type { CitycodeLibp2p, CitycodeLibp2pInit } from '../src/network/node/index.ts'
import { LinkNetwork } from '../src/network/link-model/link-network.ts'
import { linkTransport } from '../src/network/link-model/transport.ts'

let pairs = 0

export async function connectedPair (latencyMs: number, transport?: (name: string) => CitycodeLibp2pInit['customTransport']): Promise<{ a: CitycodeLibp2p, b: CitycodeLibp2p }> {
  const net = new LinkNetwork({ latencyMs: () => latencyMs })
  const make = async (name: string): Promise<CitycodeLibp2p> => await createCitycodeLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    transport: 'memory',
    listen: [`/memory/${name}`],
    customTransport: transport?.(name) ?? linkTransport(net, name) as never,
    validateRecord: async () => {},
    selectRecord: () => 0
  })
  const run = pairs++
  const a = await make(`bench-a-${process.pid}-${run}`)
  const b = await make(`bench-b-${process.pid}-${run}`)
  await a.dial(b.getMultiaddrs()[0] as Parameters<typeof a.dial>[0])
  return { a, b }
}
