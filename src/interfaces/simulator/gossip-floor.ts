/**
 * The gossipsub floor of one update: the earliest each node could have received it, given who the
 * publisher knew was subscribed and the meshes at the moment of publication. The publisher floods
 * to every subscribed peer it knows (gossipsub's `floodPublish`, on by default), every other node
 * forwards only to its mesh; each hop costs the link's one-way latency without jitter. So no
 * protocol that keeps to those edges can beat it, and the ratio of the measured reach to it says
 * how much the meshes' own delays (IHAVE/IWANT, heartbeats, late grafts) cost.
 */
export interface GossipGraph {
  origin: string
  /** Peers the publisher sends to on publication (its known subscribers). */
  firstHop: readonly string[]
  /** Each node's mesh peers on the topic. */
  mesh: ReadonlyMap<string, readonly string[]>
}

/**
 * Shortest one-way delay (ms) from the origin to every other node of `nodes`, over the graph's
 * edges; Infinity for a node no edge reaches. Returned in the order of `nodes` (the origin left out).
 */
export function gossipFloorMs (graph: GossipGraph, nodes: readonly string[], latencyMs: (from: string, to: string) => number): number[] {
  const dist = new Map<string, number>([[graph.origin, 0]])
  const done = new Set<string>()
  // a few thousand nodes at most: a linear scan for the nearest open node is simpler than a heap and fast enough
  const open = new Set<string>([graph.origin])
  while (open.size > 0) {
    let u = ''
    let best = Infinity
    for (const n of open) {
      const d = dist.get(n) as number
      if (d < best) { best = d; u = n }
    }
    open.delete(u)
    done.add(u)
    const next = u === graph.origin ? graph.firstHop : (graph.mesh.get(u) ?? [])
    for (const v of next) {
      if (done.has(v)) continue
      const d = best + latencyMs(u, v)
      if (d < (dist.get(v) ?? Infinity)) {
        dist.set(v, d)
        open.add(v)
      }
    }
  }
  return nodes.filter(n => n !== graph.origin).map(n => dist.get(n) ?? Infinity)
}

/** The time by which `share` of the `others` receivers could have had the update, from floor delays. */
export function floorForShare (floors: readonly number[], others: number, share: number): number {
  const need = Math.ceil(share * others)
  const sorted = [...floors].sort((a, b) => a - b)
  const at = need > 0 && sorted.length >= need ? sorted[need - 1] as number : Number.NaN
  return Number.isFinite(at) ? at : Number.NaN
}
