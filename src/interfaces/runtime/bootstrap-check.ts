import { multiaddr } from '@multiformats/multiaddr'
import type { CitycodeNode } from '../../services/node/index.ts'
import { BootstrapUnreachableError } from './errors.ts'

/**
 * How long the bootstrap peers get to answer a first dial. A refused or unroutable address fails
 * at once; this bounds a silent one, well under the resolve deadline (10 s), so an operator whose
 * network is down hears so before a lookup times out.
 */
export const BOOTSTRAP_CHECK_TIMEOUT_MS = 5_000

export interface BootstrapReach {
  /** How many bootstrap peers answered. */
  reached: number
  /** For each peer that did not: its address and why. */
  failures: Array<{ addr: string, reason: string }>
}

/** One line of a dial error: libp2p's aggregate errors and wrapped causes run over several. */
function reasonOf (err: unknown): string {
  const e = err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] as unknown : err
  const text = e instanceof Error ? e.message : String(e)
  return text.split('\n')[0]?.trim() ?? text
}

/** Dials every bootstrap peer at once; resolves when all have answered or failed, or at the deadline. */
export async function reachBootstrap (node: CitycodeNode, bootstrap: readonly string[], timeoutMs = BOOTSTRAP_CHECK_TIMEOUT_MS): Promise<BootstrapReach> {
  const signal = AbortSignal.timeout(timeoutMs)
  const results = await Promise.all(bootstrap.map(async (addr) => {
    try {
      await node.libp2p.dial(multiaddr(addr), { signal })
      return undefined
    } catch (err) {
      return { addr, reason: signal.aborted ? `no answer within ${timeoutMs} ms` : reasonOf(err) }
    }
  }))
  const failures = results.filter(r => r !== undefined)
  return { reached: bootstrap.length - failures.length, failures }
}

export function unreachableError (reach: BootstrapReach): BootstrapUnreachableError {
  const list = reach.failures.map(f => `${f.addr} (${f.reason})`).join(', ')
  return new BootstrapUnreachableError(`no peer named in the config (bootstrap, authorities, authority.parent) answered: ${list}`, { field: 'bootstrap', peers: reach.failures.length, reasons: reach.failures.map(f => `${f.addr}: ${f.reason}`).join('; ') })
}
