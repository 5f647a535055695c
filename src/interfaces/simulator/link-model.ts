import { LinkNetwork } from '../../network/link-model/link-network.ts'
import { linkTransport } from '../../network/link-model/transport.ts'
import type { NetworkInit } from '../../services/node/index.ts'
import type { SimCity } from './network-builder.ts'
import { Rng } from './rng.ts'
import type { Scenario } from './scenario.ts'

/**
 * Builds, for a scenario, the per-node transport factory that models link latency and loss.
 * Returns undefined when the scenario needs neither (the stock memory transport is used then).
 */
export interface LinkModel {
  network: LinkNetwork
  transport: (addrName: string, city?: SimCity) => NetworkInit['customTransport']
  /** One-way latency between two listen names without jitter or loss: the floor a hop costs. */
  floorMs: (from: string, to: string) => number
}

export type LinkModelFactory = (scenario: Scenario, cities: SimCity[]) => LinkModel | undefined

const EARTH_RADIUS_KM = 6371
/** Nodes without coordinates (root, countries, resolvers) are taken to be this far from everyone. */
const UNKNOWN_DISTANCE_KM = 5000

export function greatCircleKm (a: { lat: number, lon: number }, b: { lat: number, lon: number }): number {
  const rad = Math.PI / 180
  const dLat = (b.lat - a.lat) * rad
  const dLon = (b.lon - a.lon) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)))
}

export const scenarioLinkModel: LinkModelFactory = (scenario) => {
  if (scenario.latency.model === 'none' && scenario.packetLoss === 0 && scenario.partition === undefined && scenario.bandwidthMbps === undefined) return undefined
  const rng = new Rng(scenario.seed ^ 0x5eed)
  const where = new Map<string, { lat: number, lon: number }>()
  const latency = scenario.latency
  const jitter = latency.model === 'none' ? 0 : latency.jitterMs
  const floorMs = (from: string, to: string): number => {
    if (latency.model === 'fixed') return latency.ms
    if (latency.model === 'geo') {
      const a = where.get(from)
      const b = where.get(to)
      const km = a !== undefined && b !== undefined ? greatCircleKm(a, b) : UNKNOWN_DISTANCE_KM
      return latency.baseMs + km / 1000 * latency.msPer1000Km
    }
    return 0
  }
  const net = new LinkNetwork({
    latencyMs: (from, to) => floorMs(from, to) + (jitter > 0 ? rng.next() * jitter : 0),
    lossRate: scenario.packetLoss,
    random: () => rng.next(),
    bandwidthMbps: scenario.bandwidthMbps
  })
  return {
    network: net,
    floorMs,
    transport: (name, city) => {
      if (city?.lat !== undefined && city.lon !== undefined) where.set(name, { lat: city.lat, lon: city.lon })
      return linkTransport(net, name) as NetworkInit['customTransport']
    }
  }
}
