import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { generateSeed, signerFromSeed } from '../../core/crypto/signature.ts'
import type { Signer } from '../../core/crypto/signature.ts'
import { toMicroDegrees } from '../../core/record/values.ts'
import type { RecordValue } from '../../core/record/values.ts'
import type { TrustAnchor } from '../../core/trust/anchors.ts'
import { createCitycodeNode } from '../../services/node/index.ts'
import type { CitycodeNode, NetworkInit } from '../../services/node/index.ts'
import { planGatewayMetrics, serveGateway } from '../gateway/serve.ts'
import type { Gateway } from '../gateway/index.ts'
import { chineseCities, countryName, largestCities } from '../gazetteer/cities.ts'
import type { City } from '../gazetteer/cities.ts'
import { displayName } from '../present/record-view.ts'
import { toPrinted } from '../../core/code/check-character.ts'
import { toHex } from '../../core/crypto/hash.ts'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * The embedded default (`npm start`): a root, three country authorities and fifteen real cities on
 * loopback TCP in one process, each applying for its code, publishing its record and resolving the
 * others'. Everything runs through the same node factory as `citycode node start`.
 */
export interface DemoOptions {
  once: boolean
  /** Chinese cities (GB/T 2260), then the largest cities of the other countries. */
  cities?: number
  print: (line: string) => void
  signal?: AbortSignal
  /** Serve the HTTP gateway and explorer from the root node on this `host:port`. */
  http?: string
  /** Where to write a resolver config for this network (`citycode resolve -c`); none when undefined. */
  resolverConfig?: string
}

/** The demo network as a resolver config file (configs/resolver.json's format): its root and anchor. */
export function demoResolverConfig (net: Pick<DemoNetwork, 'root' | 'anchors'>): object {
  const root = addrOf(net.root)
  return {
    role: 'resolver',
    bootstrap: [root],
    anchors: net.anchors.map(a => ({ name: a.name, namespace: a.namespace, keys: a.keys.map(toHex), threshold: a.threshold })),
    authorities: [{ namespace: 'MA', addr: root }]
  }
}

export interface DemoNetwork {
  root: CitycodeNode
  countries: CitycodeNode[]
  cities: Array<{ city: City, node: CitycodeNode, code: string }>
  anchors: TrustAnchor[]
  stop(): Promise<void>
}

const COUNTRIES = [{ alpha2: 'CN', cities: 7 }, { alpha2: 'DE', cities: 4 }, { alpha2: 'FR', cities: 4 }]

function cityValues (city: City): RecordValue[] {
  const values: RecordValue[] = [{ type: 'name', lang: 'en', value: city.name }]
  if (city.localName !== undefined) values.push({ type: 'name', lang: 'zh', value: city.localName })
  values.push({ type: 'geo', lat: toMicroDegrees(city.lat), lon: toMicroDegrees(city.lon) })
  values.push({ type: 'data', name: 'population', value: String(city.population) })
  return values
}

/**
 * `preapproved`: the keys of the demo's own children. Approval is manual by default, so the demo
 * names its countries to the root and its cities to their country beforehand, as an operator would.
 */
async function startNode (role: 'root' | 'country' | 'city', anchors: TrustAnchor[], bootstrap: string[], values: RecordValue[], authorityKey = signerFromSeed(generateSeed()), metrics?: NetworkInit['metrics'], preapproved: Signer[] = []): Promise<CitycodeNode> {
  return await createCitycodeNode({
    role,
    anchors,
    datastore: new MemoryDatastore(),
    peerKey: await generateKeyPair('Ed25519'),
    authorityKey,
    rootNamespace: 'MA',
    network: { transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, ...(metrics !== undefined ? { metrics } : {}) },
    values,
    authority: { approval: 'auto', preapproved: preapproved.map(s => ({ key: s.publicKey })) }
  })
}

function addrOf (node: CitycodeNode): string {
  return (node.addresses[0] as { toString: () => string }).toString()
}

export async function startDemoNetwork (print: (line: string) => void, options: { rootMetrics?: NetworkInit['metrics'] } = {}): Promise<DemoNetwork> {
  const rootKey = signerFromSeed(generateSeed())
  const anchors: TrustAnchor[] = [{ name: 'demo-root', namespace: 'MA', keys: [rootKey.publicKey], threshold: 1 }]
  const started: CitycodeNode[] = []
  const stop = async (): Promise<void> => { await Promise.allSettled(started.map(async n => { await n.stop() })) }
  try {
    const countryKeys = COUNTRIES.map(() => signerFromSeed(generateSeed()))
    const root = await startNode('root', anchors, [], [{ type: 'name', lang: 'en', value: 'City ID root (demo)' }], rootKey, options.rootMetrics, countryKeys)
    started.push(root)
    await root.publishOwn([], { background: true })
    print(`root    MA  ${root.peerId.toString()}  ${addrOf(root)}`)

    const countries: CitycodeNode[] = []
    const cities: DemoNetwork['cities'] = []
    for (const [k, spec] of COUNTRIES.entries()) {
      const list = spec.alpha2 === 'CN' ? chineseCities().slice(0, spec.cities) : largestCities(spec.alpha2, spec.cities)
      const cityKeys = list.map(() => signerFromSeed(generateSeed()))
      const country = await startNode('country', anchors, [addrOf(root)], [{ type: 'name', lang: 'en', value: countryName(spec.alpha2) }], countryKeys[k], undefined, cityKeys)
      started.push(country)
      await country.knowAuthority({ namespace: 'MA', addr: addrOf(root) })
      const code = await country.apply({ namespace: 'MA', addr: addrOf(root) }, { name: countryName(spec.alpha2), officialCode: spec.alpha2 })
      await country.publishOwn()
      countries.push(country)
      print(`country ${code.padEnd(12)} ${countryName(spec.alpha2)}`)
      await Promise.all(list.map(async (city, i) => {
        const node = await startNode('city', anchors, [addrOf(root), addrOf(country)], cityValues(city), cityKeys[i])
        started.push(node)
        await node.knowAuthority({ namespace: 'MA', addr: addrOf(root) })
        const cityCode = await node.apply({ namespace: code, addr: addrOf(country) }, { name: city.name, officialCode: city.officialCode })
        cities.push({ city, node, code: cityCode })
      }))
    }
    cities.sort((a, b) => a.code < b.code ? -1 : 1)
    await Promise.all(cities.map(async c => await c.node.publishOwn([], { background: true })))
    return { root, countries, cities, anchors, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

export async function runDemo (options: DemoOptions): Promise<number> {
  const { print } = options
  const t0 = performance.now()
  print('citycode demo: a local network on loopback (root, 3 countries, 15 real cities)')
  const plan = options.http !== undefined ? planGatewayMetrics() : undefined
  const net = await startDemoNetwork(print, plan !== undefined ? { rootMetrics: plan.libp2pMetrics } : {})
  let http: Gateway | undefined
  try {
    if (options.http !== undefined) {
      http = await serveGateway(net.root, { listen: options.http }, plan)
      print(`gateway ${http.url}/ (explorer), e.g. ${http.url}/v1/codes/MA.156.1301`)
    }
    for (const a of net.anchors) print(`trust anchor ${a.namespace} (${a.name}): ${a.keys.map(toHex).join(', ')}`)
    if (options.resolverConfig !== undefined) {
      await mkdir(dirname(options.resolverConfig), { recursive: true })
      await writeFile(options.resolverConfig, JSON.stringify(demoResolverConfig(net), null, 2) + '\n')
      print(`resolver config ${options.resolverConfig}: while the demo runs, \`citycode resolve MA.156.1301 -c ${options.resolverConfig}\` resolves from another process`)
    }
    print('')
    print('allocated codes:')
    for (const { city, code } of net.cities) {
      print(`  ${code.padEnd(14)} ${toPrinted(code).padEnd(17)} ${city.name}${city.localName !== undefined ? ` (${city.localName})` : ''}`)
    }
    // Shijiazhuang registers its bodies, as in the real City ID system
    const sjz = net.cities.find(c => c.code === 'MA.156.1301')
    if (sjz !== undefined) {
      for (const name of ['Urban management bureau', 'Traffic department']) {
        const sub = await sjz.node.authority?.allocateOwn(name)
        if (sub !== undefined) {
          await sjz.node.publish(sub, [{ type: 'name', lang: 'en', value: `Shijiazhuang ${name.toLowerCase()}` }], { background: true })
          print(`  ${sub.padEnd(14)} ${toPrinted(sub).padEnd(17)} Shijiazhuang ${name.toLowerCase()}`)
        }
      }
    }

    print('')
    print('resolutions (every answer verified against the root anchor):')
    let resolved = 0
    let failed = 0
    const n = net.cities.length
    for (let i = 0; i < n; i++) {
      const asker = net.cities[i] as DemoNetwork['cities'][number]
      for (const step of [1, 5]) {
        const target = net.cities[(i + step) % n] as DemoNetwork['cities'][number]
        try {
          const r = await asker.node.resolve(target.code)
          resolved++
          if (i < 4) print(`  ${asker.city.name.padEnd(12)} -> ${target.code.padEnd(12)} ${displayName(r.verified).padEnd(14)} seq ${r.verified.record.body.seq}  via ${r.source.padEnd(6)} ${r.elapsedMs.toFixed(1)} ms`)
        } catch (err) {
          failed++
          print(`  ${asker.city.name} -> ${target.code}: ${(err as Error).name}: ${(err as Error).message}`)
        }
      }
    }
    if (sjz !== undefined) {
      const r = await (net.cities[1] as DemoNetwork['cities'][number]).node.resolve('MA.156.1301.02')
      resolved++
      print(`  ${(net.cities[1] as DemoNetwork['cities'][number]).city.name.padEnd(12)} -> MA.156.1301.02 ${displayName(r.verified)} via ${r.source}`)
    }
    print(`  ${resolved} resolutions verified, ${failed} failed`)
    print(`ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    if (failed > 0) return 1
    if (options.once) return 0
    print('running; Ctrl-C to stop')
    await new Promise<void>(resolve => {
      if (options.signal?.aborted === true) resolve()
      options.signal?.addEventListener('abort', () => { resolve() }, { once: true })
    })
    return 0
  } finally {
    await http?.stop()
    await net.stop()
  }
}
