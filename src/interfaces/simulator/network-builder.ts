import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { multiaddr } from '@multiformats/multiaddr'
import { signerFromSeed } from '../../core/crypto/signature.ts'
import { sha256 } from '../../core/crypto/hash.ts'
import { NATIONAL_SCHEMES } from '../../core/allocation/national-schemes.ts'
import { toMicroDegrees } from '../../core/record/values.ts'
import type { RecordValue } from '../../core/record/values.ts'
import type { TrustAnchor } from '../../core/trust/anchors.ts'
import { createCitycodeNode } from '../../services/node/index.ts'
import type { CitycodeNode, CitycodeNodeInit, NetworkInit } from '../../services/node/index.ts'
import type { ResolverInit } from '../../services/resolver/index.ts'
import { countryName } from '../gazetteer/cities.ts'
import type { City } from '../gazetteer/cities.ts'
import { deadlineSignal } from '../../network/deadline.ts'
import { raceSignal } from '../../network/rpc/index.ts'
import { silentComponentLogger } from '../../network/node/silent-logger.ts'
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

/**
 * What a lean simulated node leaves out or slows down (docs/SIMULATION.md, "1000 nodes"): city
 * nodes keep at most 24 connections (authorities keep room for their children); kad-dht
 * self-queries every 10 minutes after a first one at 1 s, refreshes its routing table every 30
 * minutes instead of 5, and re-tags its closest peers once a minute instead of every 5 s; gossipsub maintains its mesh every 5 s instead of every second
 * (messages still travel at once, only mesh repair and IHAVE gossip wait); no connection pings
 * (links inside one process never die silently); and each authority signs and gossips a head of its
 * log at most every 30 s instead of every second (every head reaches every node: with five country
 * authorities allocating throughout a 1000-city build, 1 s heads were millions of verifications in
 * one process), and a city log's first head goes to the DHT only, not on gossip to every node.
 * Every figure of a lean run says it is one.
 */
const LEAN_HEAD_INTERVAL_MS = 30_000

function leanNetwork (authority: boolean): Partial<NetworkInit> {
  return {
    ...(authority ? {} : { maxConnections: 24 }),
    dht: { querySelfIntervalMs: 600_000, initialQuerySelfIntervalMs: 1_000, closestPeerTagIntervalMs: 60_000, tableRefreshIntervalMs: 1_800_000 },
    gossipHeartbeatIntervalMs: 5_000,
    connectionMonitor: { enabled: false }
  }
}

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
  /** false: nodes run without the authority ledger (scale runs only). @default true */
  ledger?: boolean
  /** How many nodes apply and publish at once while the network is built. */
  concurrency: number
  resolverInit?: ResolverInit
  /** Unique per run so memory-transport addresses never collide. */
  prefix: string
  onProgress?: (done: number, total: number) => void
  /** Progress of the random dials after the build (single-process builds). */
  onDialProgress?: (done: number, total: number) => void
  /** Something the run should say but that does not stop it (a city left out). */
  onWarning?: (message: string) => void
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
  /** In a sharded run: the TCP address peers of other shards dial. */
  tcpAddr?: string
  /**
   * Brings a node that left back (churn with rejoining): the same keys and datastore, so the same
   * peer id and code, then it announces its record again. Set on city nodes.
   */
  rejoin?: () => Promise<void>
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

/** Deadline of one random dial while the network is built. */
const RANDOM_DIAL_TIMEOUT_MS = 10_000

/** Deadline of one city's application while the network is built. */
const BUILD_APPLY_TIMEOUT_MS = 180_000

/**
 * Deadline of one application attempt while the network is built. The 1000-city build left cities
 * out after attempts of 10 s timed out again and again: in a process running its event loop tens of
 * seconds late, the authority's answer came after the asker had given up, and each retry started
 * the wait over.
 */
const BUILD_APPLY_ATTEMPT_TIMEOUT_MS = 60_000

/**
 * Runs `fn` over `items` with at most `size` running at once: a worker takes the next item as soon
 * as its last one is done, so one slow application never holds up the others (fixed batches
 * waited for their slowest member: a build of 1000 cities stood still for minutes behind one).
 * Every started item settles before a failure is thrown: a node still starting when a sibling fails
 * would be added after the network is stopped, and its timers would keep the process alive.
 */
async function inPool<T> (items: T[], size: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0
  let failure: { err: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++
      try {
        await fn(items[i] as T, i)
      } catch (err) {
        failure ??= { err }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker))
  if (failure !== undefined) throw failure.err
}

/** The root and country authorities, as the cities of another shard reach them. */
export interface Authorities {
  root: { addr: string }
  countries: Record<string, { addr: string, code: string }>
}

/** How one shard's part of the network is laid out (docs/SIMULATION.md, sharding). */
export interface ShardSpec {
  /** Global indices (into `NetworkSpec.cities`) of the cities this shard runs. */
  cityIndices: readonly number[]
  /** Where the authorities run; absent in the shard that starts them. */
  authorities?: Authorities
  /** TCP listen address for peers of other shards, e.g. `/ip4/127.0.0.1/tcp/0`. */
  tcpListen: string
  /** Called as soon as this shard's authorities run, before its cities start (the other shards wait for them). */
  onAuthorities?: (authorities: Authorities) => void
  /**
   * Awaited after the authorities start, before this shard's cities do: the coordinator lets the
   * other shards apply first, while the authorities' process has nothing else to do.
   */
  beforeCities?: () => Promise<void>
}

export interface ShardNetwork extends SimNetwork {
  /** Global city index of each of `cities`. */
  cityIndices: number[]
  /** Set when this shard started the authorities. */
  authorities?: Authorities
}

/** Starts one node of a network; keys follow from the seed, so every shard derives the same anchors. */
function networkContext (spec: NetworkSpec, shard?: ShardSpec): {
  anchors: TrustAnchor[]
  nodes: SimNode[]
  start: (role: SimNode['role'], label: string, bootstrap: string[], values: RecordValue[], behaviour?: Behaviour, city?: SimCity, preapproved?: readonly Uint8Array[]) => Promise<SimNode>
  stop: () => Promise<void>
  /** The authority key of the node started under `label` (every shard derives the same). */
  keyOf: (label: string) => Uint8Array
} {
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
        listen: shard === undefined ? [addr] : [addr, shard.tcpListen],
        bootstrap,
        encryption: spec.encryption,
        customTransport: spec.customTransport?.(name, city),
        connectionMonitor: { pingIntervalMs: SIM_CONNECTION_PING_INTERVAL_MS },
        ...(spec.lean ? leanNetwork(authority) : {})
      }
    }
  }
  const keyOf = (label: string): Uint8Array => (label === 'root' ? rootKey : signerFromSeed(keySeed(label))).publicKey
  const start = async (role: SimNode['role'], label: string, bootstrap: string[], values: RecordValue[], behaviour?: Behaviour, city?: SimCity, preapproved: readonly Uint8Array[] = []): Promise<SimNode> => {
    const net = network(bootstrap, city, role === 'root' || role === 'country')
    if (behaviour !== undefined) net.init.dhtPolicyOverride = adversarialDhtPolicy(behaviour)
    const init: CitycodeNodeInit = {
      role,
      anchors,
      datastore: new MemoryDatastore(),
      // peer ids from the seed too: one scenario and seed give the same DHT neighbourhoods
      peerKey: await generateKeyPairFromSeed('Ed25519', keySeed(`peer ${label}`)),
      authorityKey: role === 'resolver' ? undefined : role === 'root' ? rootKey : signerFromSeed(keySeed(label)),
      rootNamespace: 'MA',
      network: role === 'resolver' ? { ...net.init, listen: [] } : net.init,
      resolver: spec.resolverInit,
      // approval is manual by default: the simulated network names its own children beforehand
      authority: { approval: 'auto', preapproved: preapproved.map(key => ({ key })) },
      // lean: a head every 30 s at most per log (see leanNetwork)
      ...(spec.ledger === false ? { ledger: { enabled: false } } : spec.lean ? { ledger: { headIntervalMs: LEAN_HEAD_INTERVAL_MS, gossipFirstCityHeads: false } } : {}),
      ...(spec.lean && (process.env.DEBUG ?? '') === '' ? { logger: silentComponentLogger() } : {}),
      values
    }
    const node = await createCitycodeNode(init)
    const addrs = node.addresses.map(a => a.toString())
    const addr = (shard === undefined ? addrs[0] : addrs.find(a => a.startsWith('/memory/'))) ?? ''
    const tcpAddr = shard === undefined ? undefined : addrs.find(a => a.includes('/tcp/'))
    const sim: SimNode = { node, role, addr, behaviour, name: net.name, ...(tcpAddr !== undefined ? { tcpAddr } : {}) }
    sim.rejoin = async () => {
      // whatever the node left running (publisher, ledger) stops first; its libp2p may already be stopped
      await sim.node.stop().catch(() => undefined)
      sim.node = await createCitycodeNode(init)
      const now = sim.node.addresses.map(a => a.toString())
      sim.tcpAddr = now.find(a => a.includes('/tcp/')) ?? sim.tcpAddr
    }
    nodes.push(sim)
    return sim
  }
  const stop = async (): Promise<void> => { await Promise.allSettled(nodes.map(async n => { await n.node.stop() })) }
  return { anchors, nodes, start, stop, keyOf }
}

type Context = ReturnType<typeof networkContext>

/** The root and one country authority per country of the cities: the nodes started before any city. */
const authorityCount = (spec: NetworkSpec): number => 1 + new Set(spec.cities.map(c => c.country)).size

async function startAuthorities (ctx: Context, spec: NetworkSpec, done: { n: number }, total: number): Promise<{ root: SimNode, countries: Map<string, SimNode> }> {
  const alpha2s = [...new Set(spec.cities.map(c => c.country))]
  const root = await ctx.start('root', 'root', [], [{ type: 'name', lang: 'en', value: 'City ID root (simulation)' }], undefined, undefined, alpha2s.map(a => ctx.keyOf(`country ${a}`)))
  root.code = 'MA'
  await root.node.publishOwn([], { background: true })
  spec.onProgress?.(++done.n, total)
  const countries = new Map<string, SimNode>()
  for (const alpha2 of alpha2s) {
    // labels as startCities gives them, so the keys are the cities' own
    const cityKeys = spec.cities.flatMap((c, i) => c.country === alpha2 ? [ctx.keyOf(`city ${i} ${c.name}`)] : [])
    const country = await ctx.start('country', `country ${alpha2}`, [root.addr], [{ type: 'name', lang: 'en', value: countryName(alpha2) }], undefined, undefined, cityKeys)
    country.code = await country.node.apply({ namespace: 'MA', addr: root.addr }, { name: countryName(alpha2), officialCode: alpha2 })
    await country.node.knowAuthority({ namespace: 'MA', addr: root.addr })
    await country.node.publishOwn([], { background: true })
    countries.set(alpha2, country)
    spec.onProgress?.(++done.n, total)
  }
  return { root, countries }
}

async function startCities (ctx: Context, spec: NetworkSpec, indices: readonly number[], authorities: Authorities, done: { n: number }, total: number): Promise<{ cities: SimNode[], indices: number[] }> {
  const cities: Array<SimNode | undefined> = new Array(indices.length)
  await inPool([...indices], spec.concurrency, async (i, k) => {
    const city = spec.cities[i] as SimCity
    const country = authorities.countries[city.country]
    if (country === undefined) throw new Error(`no country authority for ${city.country}`)
    const behaviour = spec.adversaries?.indices.has(i) === true ? spec.adversaries.behaviour : undefined
    const sim = await ctx.start('city', `city ${i} ${city.name}`, [authorities.root.addr, country.addr], valuesOf(city), behaviour, city)
    sim.city = city
    // a country authority with hundreds of children on a loaded machine answers slowly: wait longer than a live node would
    let failedAttempts = 0
    let lastFailure = 'none'
    try {
      sim.code = await sim.node.apply({ namespace: country.code, addr: country.addr }, { name: city.name, officialCode: city.officialCode }, {
        timeoutMs: BUILD_APPLY_TIMEOUT_MS,
        attemptTimeoutMs: BUILD_APPLY_ATTEMPT_TIMEOUT_MS,
        onUnreachable: (err) => { failedAttempts++; lastFailure = `${err.name}: ${err.message}` }
      })
    } catch (err) {
      // one city that could not join is left out and said so; a refusal (typed error) is a bug and stops the build
      if ((err as { code?: unknown }).code !== undefined && (err as Error).name !== 'RequestTimeoutError') throw err
      spec.onWarning?.(`${city.name} (${city.country}) could not apply before the deadline (${(err as Error).message}; ${failedAttempts} failed attempts, the last: ${lastFailure}); left out of the run`)
      ctx.nodes.splice(ctx.nodes.indexOf(sim), 1)
      await sim.node.stop().catch(() => undefined)
      spec.onProgress?.(++done.n, total)
      return
    }
    await sim.node.knowAuthority({ namespace: 'MA', addr: authorities.root.addr })
    await sim.node.publishOwn([], { background: true })
    const rejoin = sim.rejoin
    sim.rejoin = async () => {
      await rejoin?.()
      await sim.node.knowAuthority({ namespace: 'MA', addr: authorities.root.addr })
      await sim.node.publishOwn([], { background: true })
    }
    cities[k] = sim
    spec.onProgress?.(++done.n, total)
  })
  for (let i = 0; i < spec.resolvers; i++) {
    const r = await ctx.start('resolver', `resolver ${i}`, [authorities.root.addr], [])
    await r.node.knowAuthority({ namespace: 'MA', addr: authorities.root.addr })
    spec.onProgress?.(++done.n, total)
  }
  const kept = indices.map((i, k) => [i, cities[k]] as const).filter((e): e is readonly [number, SimNode] => e[1] !== undefined)
  return { cities: kept.map(e => e[1]), indices: kept.map(e => e[0]) }
}

const authoritiesOf = (root: SimNode, countries: Map<string, SimNode>, addr: (n: SimNode) => string): Authorities => ({
  root: { addr: addr(root) },
  countries: Object.fromEntries([...countries].map(([alpha2, c]) => [alpha2, { addr: addr(c), code: c.code as string }]))
})

export async function buildNetwork (spec: NetworkSpec): Promise<SimNetwork> {
  const rng = new Rng(spec.seed)
  const ctx = networkContext(spec)
  try {
    // progress counts every node the run will hold, so the last count agrees with "built N nodes"
    const done = { n: 0 }
    const total = authorityCount(spec) + spec.cities.length + spec.resolvers
    const { root, countries } = await startAuthorities(ctx, spec, done, total)
    const { cities } = await startCities(ctx, spec, spec.cities.map((_, i) => i), authoritiesOf(root, countries, n => n.addr), done, total)
    // each node dials a few random others, like the plain kad-dht baseline, so the DHT is connected
    const servers = ctx.nodes.filter(n => n.role !== 'resolver')
    let dialed = 0
    await inPool(ctx.nodes, spec.concurrency, async (n) => {
      for (const j of rng.sample(servers.length, spec.dialsPerNode)) {
        const peer = servers[j] as SimNode
        if (peer === n) continue
        // raced: a dial libp2p leaves unsettled after its abort would stall the whole build
        const deadline = deadlineSignal(RANDOM_DIAL_TIMEOUT_MS)
        await raceSignal(n.node.libp2p.dial(multiaddr(peer.addr), { signal: deadline.signal }), deadline.signal).catch(() => undefined).finally(() => { deadline.clear() })
      }
      spec.onDialProgress?.(++dialed, ctx.nodes.length)
    })
    return { anchors: ctx.anchors, nodes: ctx.nodes, cities, stop: ctx.stop }
  } catch (err) {
    await ctx.stop()
    throw err
  }
}

/**
 * Builds one shard's slice of a network: the authorities (in the shard without `authorities`),
 * the given cities and `resolvers` resolvers. Every node listens on memory (or the link model) for
 * its own shard and on TCP for the others. Random dials are left to the coordinator, which knows
 * every shard's addresses.
 */
export async function buildShard (spec: NetworkSpec, shard: ShardSpec): Promise<ShardNetwork> {
  const ctx = networkContext(spec, shard)
  try {
    let authorities = shard.authorities
    let exported: Authorities | undefined
    const done = { n: 0 }
    const total = (authorities === undefined ? authorityCount(spec) : 0) + shard.cityIndices.length + spec.resolvers
    if (authorities === undefined) {
      const { root, countries } = await startAuthorities(ctx, spec, done, total)
      authorities = authoritiesOf(root, countries, n => n.addr)
      exported = authoritiesOf(root, countries, n => n.tcpAddr ?? n.addr)
      shard.onAuthorities?.(exported)
      await shard.beforeCities?.()
    }
    const { cities, indices } = await startCities(ctx, spec, shard.cityIndices, authorities, done, total)
    return { anchors: ctx.anchors, nodes: ctx.nodes, cities, cityIndices: indices, stop: ctx.stop, ...(exported !== undefined ? { authorities: exported } : {}) }
  } catch (err) {
    await ctx.stop()
    throw err
  }
}
