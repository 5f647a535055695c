import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { decodeCanonical, encodeCbor, FieldReader } from '../../core/codec/cbor.ts'
import { MAX_CHAIN_LENGTH } from '../../core/trust/chain.ts'

/** What this node holds: its namespace and the chain that certifies its authority key for it. */
export interface Identity {
  readonly namespace: string
  readonly chain: readonly Uint8Array[]
  /** The authority this node applied to (its records are pushed there). */
  readonly parent?: { namespace: string, addr: string }
}

const KEY = new Key('/citycode/identity')

export async function loadIdentity (datastore: Datastore): Promise<Identity | undefined> {
  if (!(await datastore.has(KEY))) return undefined
  const r = new FieldReader(decodeCanonical(await datastore.get(KEY), 64 * 1024, 'identity'), 'identity', ['namespace', 'chain', 'parent'])
  const identity = { namespace: r.string('namespace', 64), chain: r.bytesArray('chain', MAX_CHAIN_LENGTH) }
  if (!r.has('parent')) return identity
  const p = new FieldReader(r.raw('parent'), 'identity.parent', ['namespace', 'addr'])
  return { ...identity, parent: { namespace: p.string('namespace', 64), addr: p.string('addr', 1024) } }
}

export async function saveIdentity (datastore: Datastore, identity: Identity): Promise<void> {
  await datastore.put(KEY, encodeCbor({
    namespace: identity.namespace,
    chain: [...identity.chain],
    ...(identity.parent !== undefined ? { parent: { ...identity.parent } } : {})
  }))
}
