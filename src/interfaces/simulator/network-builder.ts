import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { multiaddr } from '@multiformats/multiaddr'
import { signerFromSeed } from '../../core/crypto/signature.ts'
import { sha256 } from '../../core/crypto/hash.ts'
import { NATIONAL_SCHEMES } from '../../core/allocation/national-schemes.ts'
import { toMicroDegrees } from '../../core/record/values.ts'
import type { RecordValue } from '../../core/record/values.ts'
import type { TrustAnchor } from '../../core/trust/anchors.ts'
import { createCitycodeNode } from '../../services/node/index.ts'
import type { CitycodeNode, NetworkInit } from '../../services/node/index.ts'
import type { ResolverInit } from '../../services/resolver/index.ts'
import { countryName } from '../gazetteer/cities.ts'
import type { City } from '../gazetteer/cities.ts'
import { Rng } from './rng.ts'
import { adversarialDhtPolicy } from './adversaries.ts'
import type { Behaviour } from './adversaries.ts'

/**
 * libp2p pings every open connection every 10 s to find dead ones. Links inside one process never die
 * silently (a crashed node's connections close at once, partitions abort them), and with ~25
 * connections per node those pings were ~100 new streams a second for 67 nodes, measured as a steady
 * share of the process's CPU; simulated nodes ping once a minute.
 */
export const SIM_CONNECTION_PING_INTERVAL_MS = 60_000

/** A place in the simulated network: coordinates are optional (latency models need them). */
export interface SimCity {
  name: string
  country: string
  officialCode?: string
  lat?: number
  lon?: number
}

export interface NetworkSpec {
  cities: SimCity[]
  resolvers: number
  transport: 'memory' | 'tcp'
  encryption: 'noise' | 'plaintext'
  /** The simulator's link model, if any (replaces the stock transport). */
  customTransport?: (addrName: string, city?: SimCity) => NetworkInit['customTransport']
  /** Random peers each node dials at start (besides the root and its country). */
  dialsPerNode: number
  seed: number
  /** Lean simulated nodes: fewer connections and slower DHT self-queries (docs/SIMULATION.md). */
  lean: boolean
  /** How many nodes apply and publish at once while the network is built. */
  concurrency: number
  resolverInit?: ResolverInit
  /** Unique per run so memory-transport addresses never collide. */
  prefix: string
  onProgress?: (done: number, total: number) => void
  /** City indices that run as adversaries, and how their DHT storage misbehaves. */
  adversaries?: { indices: ReadonlySet<number>, behaviour: Behaviour }
}

export interface SimNode {
  node: CitycodeNode
  role: 'root' | 'country' | 'city' | 'resolver'
  code?: string
  city?: SimCity
  addr: string
  behaviour?: Behaviour
  /** The node's name on the link network (memory transport). */
  name: string
}

export interface SimNetwork {
  anchors: TrustAnchor[]
  nodes: SimNode[]
  cities: SimNode[]
  stop(): Promise<void>
}

/** Chinese cities straight from the GB/T 2260 register (no coordinates), for scale runs. */
export function registerCities (count: number): SimCity[] {
  const scheme = NATIONAL_SCHEMES.get('156')
  if (scheme === undefined) return []
  return [...scheme.divisions].sort().slice(0, count).map(d => ({ name: scheme.nameOf(d) ?? d, country: 'CN', officialCode: `${d}00` }))
}

export function fromGazetteer (cities: City[]): SimCity[] {
  return cities.map(c => ({ name: c.name, country: c.country, officialCode: c.officialCode, lat: c.lat, lon: c.lon }))
}

function valuesOf (city: SimCity): RecordValue[] {
  const values: RecordValue[] = [{ type: 'name', lang: 'en', value: city.name }]
  if (city.lat !== undefined && city.lon !== undefined) values.push({ type: 'geo', lat: toMicroDegrees(city.lat), lon: toMicroDegrees(city.lon) })
  return values
}

async function inBatches<T> (items: T[], size: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map(async (item, j) => { await fn(item, i + j) }))
  }
}

export async function buildNetwork (spec: NetworkSpec): Promise<SimNetwork> {
  const rng = new Rng(spec.seed)
  const keySeed = (label: string): Uint8Array => sha256(new TextEncoder().encode(`citycode-sim ${spec.seed} ${label}`))
  const rootKey = signerFromSeed(keySeed('root'))
  const anchors: TrustAnchor[] = [{ name: 'sim-root', namespace: 'MA', keys: [rootKey.publicKey], threshold: 1 }]
  const nodes: SimNode[] = []
  let counter = 0
  const network = (bootstrap: string[], city?: SimCity, authority = false): { init: NetworkInit, addr: string, name: string } => {
    const name = `${spec.prefix}-${counter++}`
    const addr = spec.transport === 'memory' ? `/memory/${name}` : '/ip4/127.0.0.1/tcp/0'
    return {
      addr,
      name,
      init: {
        transport: spec.transport,
        listen: [addr],
        bootstrap,
        encryption: spec.encryption,
        customTransport: spec.customTransport?.(name, city),
        connectionMonitor: { pingIntervalMs: SIM_CONNECTION_PING_INTERVAL_MS },
        ...(spec.lean ? { ...(authority ? {} : { maxConnections: 24 }), dht: { querySelfIntervalMs: 600_000, initialQuerySelfIntervalMs: 1_000 } } : {})
      }
    }
  }
  const start = async (role: SimNode['role'], label: string, bootstrap: string[], values: RecordValue[], behaviour?: Behaviour, city?: SimCity): Promise<SimNode> => {
    const net = network(bootstrap, city, role === 'root' || role === 'country')
    if (behaviour !== undefined) net.init.dhtPolicyOverride = adversarialDhtPolicy(behaviour)
    const node = await createCitycodeNode({
      role,
      anchors,
      datastore: new MemoryDatastore(),
      peerKey: await generateKeyPair('Ed25519'),
      authorityKey: role === 'resolver' ? undefined : role === 'root' ? rootKey : signerFromSeed(keySeed(label)),
      rootNamespace: 'MA',
      network: role === 'resolver' ? { ...net.init, listen: [] } : net.init,
      resolver: spec.resolverInit,
      values
    })
    const addr = node.addresses[0]?.toString() ?? ''
    const sim: SimNode = { node, role, addr, behaviour, name: net.name }
    nodes.push(sim)
    return sim
  }
  const stop = async (): Promise<void> => { await Promise.allSettled(nodes.map(async n => { await n.node.stop() })) }

  try {
    const root = await start('root', 'root', [], [{ type: 'name', lang: 'en', value: 'City ID root (simulation)' }])
    root.code = 'MA'
    await root.node.publishOwn([], { background: true })
    const countries = new Map<string, SimNode>()
    for (const alpha2 of [...new Set(spec.cities.map(c => c.country))]) {
      const country = await start('country', `country ${alpha2}`, [root.addr], [{ type: 'name', lang: 'en', value: countryName(alpha2) }])
      country.code = await country.node.apply({ namespace: 'MA', addr: root.addr }, { name: countryName(alpha2), officialCode: alpha2 })
      await country.node.knowAuthority({ namespace: 'MA', addr: root.addr })
      await country.node.publishOwn([], { background: true })
      countries.set(alpha2, country)
    }
    const total = spec.cities.length + spec.resolvers
    let done = 0
    const cities: SimNode[] = new Array(spec.cities.length)
    await inBatches(spec.cities, spec.concurrency, async (city, i) => {
      const country = countries.get(city.country) as SimNode
      const behaviour = spec.adversaries?.indices.has(i) === true ? spec.adversaries.behaviour : undefined
      const sim = await start('city', `city ${i} ${city.name}`, [root.addr, country.addr], valuesOf(city), behaviour, city)
      sim.city = city
      sim.code = await sim.node.apply({ namespace: country.code as string, addr: country.addr }, { name: city.name, officialCode: city.officialCode })
      await sim.node.knowAuthority({ namespace: 'MA', addr: root.addr })
      await sim.node.publishOwn([], { background: true })
      cities[i] = sim
      spec.onProgress?.(++done, total)
    })
    for (let i = 0; i < spec.resolvers; i++) {
      const r = await start('resolver', `resolver ${i}`, [root.addr], [])
      await r.node.knowAuthority({ namespace: 'MA', addr: root.addr })
      spec.onProgress?.(++done, total)
    }
    // each node dials a few random others, like the plain kad-dht baseline, so the DHT is connected
    const servers = nodes.filter(n => n.role !== 'resolver')
    await inBatches(nodes, spec.concurrency, async (n) => {
      for (const j of rng.sample(servers.length, spec.dialsPerNode)) {
        const peer = servers[j] as SimNode
        if (peer === n) continue
        await n.node.libp2p.dial(multiaddr(peer.addr), { signal: AbortSignal.timeout(10_000) }).catch(() => undefined)
      }
    })
    return { anchors, nodes, cities, stop }
  } catch (err) {
    await stop()
    throw err
  }
}


