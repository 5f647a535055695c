import type { NetworkInit } from '../../services/node/index.ts'
import type { SimCity } from './network-builder.ts'
import type { Scenario } from './scenario.ts'

/**
 * Builds, for a scenario, the per-node transport factory that models link latency. Returns
 * undefined when the scenario needs no latency (the stock memory transport is used then).
 */
export type LinkModelFactory = (scenario: Scenario, cities: SimCity[]) => ((addrName: string) => NetworkInit['customTransport']) | undefined
