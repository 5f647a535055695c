import { encodeCbor } from '../../core/codec/cbor.ts'
import { decodeRecord } from '../../core/record/record.ts'
import type { NetworkInit } from '../../services/node/index.ts'
import { RECORDS_TOPIC } from '../../network/gossip/record-updates.ts'
import { RESOLVE_PROTOCOL, RESOLVE_REQUEST_MAX_BYTES, RESOLVE_SESSION_PROTOCOL, decodeResolveRequest, encodeResolveResponse } from '../../network/protocols/resolve.ts'
import { handleRequests } from '../../network/rpc/index.ts'
import { handleSessions } from '../../network/rpc/session.ts'
import type { SimNode } from './network-builder.ts'

export type Behaviour = 'drop' | 'stale' | 'forge' | 'spam'

/**
 * Turns a simulated node into a liar. Its DHT and gossip still run (a Sybil looks like any peer);
 * what changes is how it answers: `drop` never answers resolve questions, `stale` answers with the
 * oldest version it has seen, `forge` answers with a record whose body it altered, `spam` floods the
 * records topic with junk. Returns a function that stops any background activity.
 */
export async function makeAdversary (sim: SimNode, behaviour: Behaviour, firstSeen: Map<string, Uint8Array>): Promise<() => void> {
  const libp2p = sim.node.libp2p
  if (behaviour === 'spam') {
    const timer = setInterval(() => {
      void libp2p.services.pubsub.publish(RECORDS_TOPIC, encodeCbor({ junk: new Uint8Array(64) })).catch(() => undefined)
    }, 50)
    return () => { clearInterval(timer) }
  }
  const lie = async (request: Uint8Array): Promise<Uint8Array> => {
    const code = decodeResolveRequest(request)
    if (behaviour === 'drop') return await new Promise<Uint8Array>(() => {})
    const old = firstSeen.get(code)
    if (old === undefined) return encodeResolveResponse({ status: 'not-found' })
    if (behaviour === 'stale') return encodeResolveResponse({ status: 'found', record: old })
    const forged = Uint8Array.from(old)
    forged[forged.length - 70] = (forged[forged.length - 70] as number) ^ 1
    return encodeResolveResponse({ status: 'found', record: forged })
  }
  // the same lie on one-request streams and on sessions
  await libp2p.unhandle(RESOLVE_PROTOCOL)
  await libp2p.unhandle(RESOLVE_SESSION_PROTOCOL)
  await handleRequests(libp2p, RESOLVE_PROTOCOL, lie, { timeoutMs: 60_000 })
  await handleSessions(libp2p, RESOLVE_SESSION_PROTOCOL, lie, { maxRequestBytes: RESOLVE_REQUEST_MAX_BYTES, timeoutMs: 60_000 })
  return () => {}
}

/**
 * How an adversarial node's DHT storage misbehaves: `stale` keeps the oldest version it was given,
 * `forge` stores anything (so forged values it PUTs are served), `drop` stores nothing.
 */
export function adversarialDhtPolicy (behaviour: Behaviour): NonNullable<NetworkInit['dhtPolicyOverride']> {
  const seqOf = (value: Uint8Array): number => {
    try {
      return decodeRecord(value).body.seq
    } catch {
      return Number.MAX_SAFE_INTEGER
    }
  }
  return {
    validate: async () => {
      if (behaviour === 'drop') throw new Error('adversary drops every value')
    },
    select: (_key, values) => {
      if (behaviour !== 'stale') return 0
      let best = 0
      values.forEach((v, i) => { if (seqOf(v) < seqOf(values[best] as Uint8Array)) best = i })
      return best
    }
  }
}
