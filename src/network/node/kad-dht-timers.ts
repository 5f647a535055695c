import type { KadDHT } from '@libp2p/kad-dht'

/**
 * The part of kad-dht's closest-peer tagger we touch: every `refreshInterval` ms it rebuilds the set
 * of its 20 closest peers (peer ids to strings and back) and writes keep-alive tags to the peer
 * store for those that changed. With 250 idle simulated nodes in one process this was ~12% of the
 * process's busy CPU (profile in docs/SIMULATION.md), for tags that change only when the routing
 * table does.
 */
interface ClosestPeerTagger {
  refreshInterval: number
  start: () => Promise<void>
  stop: () => void
}

function isTagger (value: unknown): value is ClosestPeerTagger {
  const t = value as Partial<ClosestPeerTagger> | undefined
  return typeof t === 'object' && t !== null && typeof t.refreshInterval === 'number' && typeof t.start === 'function' && typeof t.stop === 'function'
}

/**
 * Restarts kad-dht's closest-peer tagger with another period. kad-dht 16 builds the tagger with a
 * fixed 5 s period and no option to change it, so this reaches into the routing table; when a
 * kad-dht version lays it out differently, nothing is changed and `false` is returned (the node
 * keeps working, at the default period). Call it right after start: the tagger's list of close
 * peers is rebuilt from the routing table's pings.
 */
export function respaceClosestPeerTagging (dht: KadDHT, intervalMs: number): boolean {
  const tagger = (dht as unknown as { routingTable?: { closestPeerTagger?: unknown } }).routingTable?.closestPeerTagger
  if (!isTagger(tagger)) return false
  tagger.stop()
  tagger.refreshInterval = intervalMs
  tagger.start().catch(() => undefined)
  return true
}

/**
 * Spaces kad-dht's routing-table refresh. kad-dht 16 refreshes every bucket with a lookup each
 * 5 minutes, fixed; in a 1000-node simulation whose build outlasts 5 minutes, every node's refresh
 * lookups came at once, and answering them (FIND_NODE replies re-encoding every peer's addresses)
 * was a quarter of the process's CPU after the build. Only the period of the next refreshes
 * changes (the first one, at start, is already running); `false` when the layout is not the one
 * expected (nothing changed).
 */
export function respaceRoutingTableRefresh (dht: KadDHT, intervalMs: number): boolean {
  const refresh = (dht as unknown as { routingTableRefresh?: { refreshInterval?: unknown } }).routingTableRefresh
  if (typeof refresh !== 'object' || refresh === null || typeof refresh.refreshInterval !== 'number') return false
  refresh.refreshInterval = intervalMs
  return true
}
