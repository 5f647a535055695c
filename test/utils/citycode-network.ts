import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import type { Datastore } from 'interface-datastore'
import { createCitycodeNode } from '../../src/services/node/index.ts'
import type { CitycodeNode, CitycodeNodeInit } from '../../src/services/node/index.ts'
import type { Signer, TrustAnchor } from '../../src/core/index.ts'
import { seededSigner } from './fixtures.ts'
import { openDatastore } from '../../src/storage/datastore.ts'
import { KeyStore, memoryKeyring } from '../../src/storage/keys.ts'
import { TEST_KEYCHAIN } from './test-keychain.ts'
import { linkTransport } from '../../src/network/link-model/transport.ts'
import type { LinkNetwork } from '../../src/network/link-model/link-network.ts'

let run = 0

/** A root, one country and `cities` Chinese cities on the memory transport, every one applied and published. */
export interface TestNetwork {
  anchors: TrustAnchor[]
  root: CitycodeNode
  country: CitycodeNode
  cities: CitycodeNode[]
  all: CitycodeNode[]
  /** Starts another node on the same network (stopped by `stop`). */
  add(role: CitycodeNodeInit['role'], options?: Partial<CitycodeNodeInit>): Promise<CitycodeNode>
  addrOf(node: CitycodeNode): string
  /** The node's link name (its listen name): what `LinkNetwork.partition` takes. */
  nameOf(node: CitycodeNode): string
  stop(): Promise<void>
}

export const TEST_CITY_CODES = ['130100', '130200', '130300', '130400', '130500', '130600', '130700', '130800', '130900', '131000']

/**
 * `links`: every node's connections cross this link model (so a test can partition and heal the
 * network); each node's link name is its listen name (`nameOf`).
 */
export async function startTestNetwork (cities: number, options: { resolverInit?: CitycodeNodeInit['resolver'], publisherInit?: CitycodeNodeInit['publisher'], links?: LinkNetwork } = {}): Promise<TestNetwork> {
  const prefix = `citycode-test-${process.pid}-${run++}`
  const keyBase = 1000 + run * 100
  let n = 0
  // approval is manual by default: the harness names every key it will hand out (below 100 nodes)
  // to the root and the country beforehand, as an operator would
  const preapproved = Array.from({ length: 100 }, (_, i) => ({ key: seededSigner(keyBase + i).publicKey }))
  const rootKey: Signer = seededSigner(1)
  const anchors: TrustAnchor[] = [{ name: 'test-root', namespace: 'MA', keys: [rootKey.publicKey], threshold: 1 }]
  const started: CitycodeNode[] = []
  const addrOf = (node: CitycodeNode): string => (node.addresses[0] as { toString: () => string }).toString()
  let bootstrap: string[] = []
  const add = async (role: CitycodeNodeInit['role'], extra: Partial<CitycodeNodeInit> = {}): Promise<CitycodeNode> => {
    // one index per node, taken before any await: concurrent adds must not share a key or a name
    const index = n++
    const name = `${prefix}-${index}`
    const links = options.links === undefined ? {} : { customTransport: linkTransport(options.links, name) as never }
    const node = await createCitycodeNode({
      role,
      anchors,
      datastore: extra.datastore ?? new MemoryDatastore() as Datastore,
      peerKey: extra.peerKey ?? await generateKeyPair('Ed25519'),
      authorityKey: extra.authorityKey ?? (role === 'resolver' ? undefined : seededSigner(keyBase + index)),
      // next keys from seeds too, so a test can rotate any node it started
      ...(role === 'resolver' ? {} : { authorityKeys: memoryKeyring(extra.authorityKey ?? seededSigner(keyBase + index), nextKeys(keyBase, index)) }),
      rootNamespace: 'MA',
      network: { transport: 'memory', listen: role === 'resolver' && options.links === undefined ? [] : [`/memory/${name}`], bootstrap, ...links },
      resolver: { directTimeoutMs: 2000, timeoutMs: 15_000, ...options.resolverInit },
      ...(options.publisherInit !== undefined ? { publisher: options.publisherInit } : {}),
      authority: { approval: 'auto', preapproved },
      ...extra
    })
    started.push(node)
    return node
  }
  const stop = async (): Promise<void> => { await Promise.allSettled(started.map(async s => { await s.stop() })) }
  try {
    const root = await add('root', { authorityKey: rootKey })
    bootstrap = [addrOf(root)]
    await root.publishOwn([], { background: true })
    const country = await add('country')
    await country.apply({ namespace: 'MA', addr: addrOf(root) }, { name: 'China', officialCode: 'CN' })
    await country.publishOwn([], { background: true })
    bootstrap = [addrOf(root), addrOf(country)]
    const cityNodes = await Promise.all(TEST_CITY_CODES.slice(0, cities).map(async (official) => {
      const node = await add('city')
      await node.apply({ namespace: 'MA.156', addr: addrOf(country) }, { name: `City ${official}`, officialCode: official })
      return node
    }))
    await Promise.all(cityNodes.map(async c => await c.publishOwn([], { background: true })))
    for (const node of [country, ...cityNodes]) await node.knowAuthority({ namespace: 'MA', addr: addrOf(root) })
    const nameOf = (node: CitycodeNode): string => addrOf(node).split('/')[2] as string
    return { anchors, root, country, cities: cityNodes, all: started, add, addrOf, nameOf, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** Fresh keys for one node's rotations, from seeds no other node of the run uses. */
function nextKeys (keyBase: number, index: number): () => Signer {
  let n = 0
  return () => seededSigner(1_000_000 + keyBase * 1000 + index * 10 + n++)
}

/** Opens (or reopens) a city node on LevelDB in `dir` with its keys in the encrypted keychain, on `net`. */
export async function openPersistentCity (net: TestNetwork, dir: string): Promise<CitycodeNode> {
  const datastore = await openDatastore(dir)
  const keys = new KeyStore(datastore, 'a passphrase of twenty chars', TEST_KEYCHAIN)
  const authorityKey = await keys.authoritySigner('authority')
  // a keychain key is not one the harness named beforehand: name it to the country now
  net.country.authority?.preapprove({ key: authorityKey.publicKey })
  return await net.add('city', { datastore, peerKey: await keys.peerKey(), authorityKey })
}

/** Polls `check` until it holds or `ms` pass; returns whether it held. */
export async function eventually (check: () => boolean | Promise<boolean>, ms: number, stepMs = 50): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await check()) return true
    await new Promise(resolve => setTimeout(resolve, stepMs))
  }
  return await check()
}
