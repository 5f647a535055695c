import { floorForShare } from './gossip-floor.ts'
import type { LookupOp, RunResult, UpdateOp } from './runner.ts'

/** A figure with its unit, and its ratio to the plain kad-dht baseline where one applies. */
export interface Figure {
  value: number
  unit: string
  baseline?: number
  ratio?: number
}

export type Metrics = Record<string, Figure>

/** After a mass kill, lookups from this long after it count as "once the network settles". */
export const SETTLE_MS = 5_000

function quantile (values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number
}

const round = (x: number, digits = 3): number => Number.isFinite(x) ? Number(x.toFixed(digits)) : x

function withBaseline (value: number, unit: string, baseline?: number): Figure {
  if (baseline === undefined || !Number.isFinite(baseline)) return { value: round(value), unit }
  return { value: round(value), unit, baseline: round(baseline), ratio: baseline === 0 ? Number.NaN : round(value / baseline) }
}

function successRate (ops: readonly LookupOp[]): number {
  return ops.length === 0 ? Number.NaN : ops.filter(o => o.ok).length / ops.length
}

function newestShare (ops: readonly LookupOp[]): number {
  const ok = ops.filter(o => o.ok)
  return ok.length === 0 ? Number.NaN : ok.filter(o => o.seq >= o.newestSeq).length / ok.length
}

/** Mean of a per-lookup cost over `ops` (a lookup answered from the cache costs 0). */
function meanOf (ops: readonly LookupOp[], pick: (o: LookupOp) => number): number {
  return ops.length === 0 ? Number.NaN : ops.reduce((sum, o) => sum + pick(o), 0) / ops.length
}

/** Time until `share` of the nodes received an update by gossip, per update (ms). */
function gossipReach (updates: readonly UpdateOp[], nodes: number, share: number): number[] {
  return updates.map(u => reachOf(u, nodes, share)).filter(Number.isFinite)
}

/** Time until `share` of the nodes received an update by gossip, per update (ms; NaN when it never did). */
function reachOf (u: UpdateOp, nodes: number, share: number): number {
  const need = Math.ceil(share * (nodes - 1))
  const r = [...u.gossipReceiptsMs].sort((a, b) => a - b)
  return r.length >= need && need > 0 ? r[need - 1] as number : Number.NaN
}

/**
 * The reach of 99% of the nodes beside its gossipsub floor (gossip-floor.ts), median over the
 * updates where both are known: the floor, and the measured reach divided by it.
 */
function floorFigures (updates: readonly UpdateOp[], nodes: number): Metrics {
  const pairs = updates.flatMap(u => {
    if (u.gossipFloorsMs === undefined) return []
    const floor = floorForShare(u.gossipFloorsMs, nodes - 1, 0.99)
    const reach = reachOf(u, nodes, 0.99)
    return Number.isFinite(floor) && Number.isFinite(reach) && floor > 0 ? [{ floor, ratio: reach / floor }] : []
  })
  if (pairs.length === 0) return {}
  return {
    gossipFloorTo99pct: { value: round(quantile(pairs.map(p => p.floor), 0.5)), unit: 'ms (median over updates: flood to known subscribers, then mesh hops x link latency, no jitter)' },
    gossipTo99pctOverFloor: { value: round(quantile(pairs.map(p => p.ratio), 0.5)), unit: `x the floor (median over ${pairs.length} updates)` },
    gossipTo99pctOverFloorMax: { value: round(Math.max(...pairs.map(p => p.ratio))), unit: 'x the floor (worst update)' }
  }
}

/**
 * Time from `fromMs` to the start of the first lookup after which every lookup succeeded with the
 * newest record. A failure counts against convergence as a stale answer does: a network that
 * answers nothing has not converged. Not a number when the run ended before it converged (its last
 * lookup failed or was stale) or had no lookups to tell.
 */
export function convergence (ops: readonly LookupOp[], fromMs: number): Figure {
  const after = [...ops].sort((a, b) => a.startMs - b.startMs)
  const lastBad = after.findLastIndex(o => !o.ok || o.seq < o.newestSeq)
  const first = after[lastBad + 1]
  if (first === undefined) return { value: Number.NaN, unit: after.length === 0 ? 'ms (no lookups after the heal)' : 'ms (not converged: the last lookup failed or was stale)' }
  return { value: round(lastBad < 0 ? 0 : first.startMs - fromMs), unit: 'ms' }
}

/** Answered by the network, not from the asker's cache or its own store. */
const isCold = (o: LookupOp): boolean => o.source !== 'cache' && o.source !== 'local'

export function computeMetrics (run: RunResult): Metrics {
  // a lookup of a code revoked before it started is right to fail: it is counted apart (revocationFigures)
  const r: RunResult = { ...run, lookups: run.lookups.filter(o => o.revoked !== true) }
  const ok = r.lookups.filter(o => o.ok).map(o => o.latencyMs)
  const cold = r.lookups.filter(o => o.ok && isCold(o)).map(o => o.latencyMs)
  const base = r.baselineLookups
  const baseOk = base.filter(o => o.ok).map(o => o.latencyMs)
  const hasBase = base.length > 0
  const m: Metrics = {
    nodes: { value: r.nodes, unit: 'nodes' },
    cityNodes: { value: r.cityNodes, unit: 'nodes' },
    adversaries: { value: r.adversaries, unit: 'nodes' },
    setupTime: { value: round(r.setupMs / 1000, 1), unit: 's' },
    lookups: { value: r.lookups.length, unit: 'lookups' },
    lookupSuccessRate: withBaseline(successRate(r.lookups), 'share', hasBase ? successRate(base) : undefined),
    latencyP50: withBaseline(quantile(ok, 0.5), 'ms', hasBase ? quantile(baseOk, 0.5) : undefined),
    latencyP95: withBaseline(quantile(ok, 0.95), 'ms', hasBase ? quantile(baseOk, 0.95) : undefined),
    latencyP99: withBaseline(quantile(ok, 0.99), 'ms', hasBase ? quantile(baseOk, 0.99) : undefined),
    // cold: answered by the network, not from the asker's cache or its own store (every baseline GET walks the DHT)
    coldLatencyP50: withBaseline(quantile(cold, 0.5), 'ms (lookups not answered from cache)', hasBase ? quantile(baseOk, 0.5) : undefined),
    coldLatencyP95: withBaseline(quantile(cold, 0.95), 'ms (lookups not answered from cache)', hasBase ? quantile(baseOk, 0.95) : undefined),
    // the wire cost of a lookup (message-cost.ts): peers asked (hops), requests and responses, their bytes
    peersAskedPerLookup: withBaseline(meanOf(r.lookups, o => o.peersAsked), 'peers / lookup (mean, cache hits count 0)', hasBase ? meanOf(base, o => o.peersAsked) : undefined),
    peersAskedPerColdLookup: withBaseline(meanOf(r.lookups.filter(isCold), o => o.peersAsked), 'peers / lookup not answered from cache (mean)', hasBase ? meanOf(base, o => o.peersAsked) : undefined),
    messagesPerLookup: withBaseline(meanOf(r.lookups, o => o.messages), 'messages / lookup (mean)', hasBase ? meanOf(base, o => o.messages) : undefined),
    bytesPerLookup: withBaseline(meanOf(r.lookups, o => o.bytes), 'bytes / lookup (mean, protocol framing)', hasBase ? meanOf(base, o => o.bytes) : undefined),
    newestRecordShare: withBaseline(newestShare(r.lookups), 'share', hasBase ? newestShare(base) : undefined),
    staleAnswerShare: withBaseline(1 - newestShare(r.lookups), 'share', hasBase ? 1 - newestShare(base) : undefined),
    updates: { value: r.updates.length, unit: 'updates' },
    gossipTo50pct: { value: round(quantile(gossipReach(r.updates, r.nodes, 0.5), 0.5)), unit: 'ms (median over updates)' },
    gossipTo90pct: { value: round(quantile(gossipReach(r.updates, r.nodes, 0.9), 0.5)), unit: 'ms (median over updates)' },
    gossipTo99pct: withBaseline(quantile(gossipReach(r.updates, r.nodes, 0.99), 0.5), 'ms (median over updates)',
      r.baselineUpdates.length > 0 ? quantile(r.baselineUpdates.map(u => u.latencyMs), 0.5) : undefined),
    ...floorFigures(r.updates, r.nodes),
    gossipRejected: { value: r.gossipRejected, unit: 'messages' },
    churnEvents: { value: r.churn.filter(c => c.kind !== 'rejoin').length, unit: 'nodes left' },
    rejoins: { value: r.churn.filter(c => c.kind === 'rejoin').length, unit: 'nodes came back' },
  }
  const window = (from: number, to: number): LookupOp[] => r.lookups.filter(o => o.startMs >= from && o.startMs < to)
  const split = r.partitionEvents.find(e => e.kind === 'split')
  const heal = r.partitionEvents.find(e => e.kind === 'heal')
  if (split !== undefined && heal !== undefined) {
    m.successDuringPartition = { value: round(successRate(window(split.atMs, heal.atMs))), unit: 'share' }
    m.successAfterHeal = { value: round(successRate(window(heal.atMs, Infinity))), unit: 'share' }
    m.newestShareAfterHeal = { value: round(newestShare(window(heal.atMs, Infinity))), unit: 'share' }
    m.convergenceAfterHeal = convergence(window(heal.atMs, Infinity), heal.atMs)
    const sides = r.partitionSides
    if (sides !== undefined) {
      // during the split, a lookup whose asker and holder are apart can only be answered by a copy on the asker's side
      const apart = (o: LookupOp): boolean => sides.askerSide[o.asker] !== sides.codeSide[o.code]
      const during = window(split.atMs, heal.atMs)
      m.successDuringPartitionApart = { value: round(successRate(during.filter(apart))), unit: 'share (asker and holder on different sides)' }
      m.successDuringPartitionSameSide = { value: round(successRate(during.filter(o => !apart(o)))), unit: 'share (asker and holder on the same side)' }
    }
  }
  const mass = r.churn.filter(c => c.kind === 'mass-kill')
  if (mass.length > 0) {
    const at = Math.max(...mass.map(c => c.atMs))
    m.successAfterMassKill = { value: round(successRate(window(at, Infinity))), unit: 'share' }
    m.successAfterMassKillSettled = { value: round(successRate(window(at + SETTLE_MS, Infinity))), unit: `share (lookups from ${SETTLE_MS / 1000} s after the kill)` }
  }
  if (r.sharding !== undefined) {
    const sh = r.sharding
    const cross = r.lookups.filter(o => sh.askerShard[o.asker] !== sh.codeShard[o.code])
    m.shards = { value: sh.shards, unit: 'processes' }
    m.crossShardLookups = { value: cross.length, unit: 'lookups (asker and holder on different shards)' }
    m.crossShardSuccessRate = { value: round(successRate(cross)), unit: 'share' }
  }
  const bySource: Record<string, number> = {}
  for (const o of r.lookups) if (o.ok) bySource[o.source] = (bySource[o.source] ?? 0) + 1
  for (const [source, n] of Object.entries(bySource)) m[`answeredFrom_${source}`] = { value: n, unit: 'lookups' }
  if (m.gossipTo99pct !== undefined) m.gossipTo99pct.unit = 'ms (median over updates; baseline: plain PUT)'
  if (run.revocations.length > 0) Object.assign(m, revocationFigures(run))
  return m
}

/**
 * What the run cost the machine, on the wall clock: kept apart from the figures (`metrics.json`'s
 * `cost`), because on a virtual clock the figures are the same on any machine and these are not.
 */
export function computeCost (r: RunResult): Metrics {
  const wallS = r.cpu.wallMs / 1000
  const c: Metrics = {
    clock: { value: r.clock.kind === 'virtual' ? 1 : 0, unit: r.clock.kind === 'virtual' ? 'virtual clock' : 'real clock' },
    wallTime: { value: round(wallS, 1), unit: 's (wall clock, whole run)' },
    cpuTime: { value: round((r.cpu.userMs + r.cpu.systemMs) / 1000, 1), unit: 's (CPU, user + system)' },
    simulatedTime: { value: round(r.clock.simulatedMs / 1000, 1), unit: 's (simulated)' },
    simulatedPerWallSecond: { value: round(r.clock.simulatedMs / r.cpu.wallMs, 3), unit: 'simulated s / wall s' },
    memoryPerNode: { value: round(r.memory.rssBytes / r.nodes / 1e6, 2), unit: 'MB RSS added / node' },
    heap: { value: round(r.memory.heapBytes / 1e6, 1), unit: 'MB heap at the end' },
    cpuPerNode: { value: round((r.cpu.userMs + r.cpu.systemMs) / r.cpu.wallMs / r.nodes * 100, 4), unit: '% of one core / node' }
  }
  if (r.clock.timersFired !== undefined) c.timersFired = { value: r.clock.timersFired, unit: 'timers fired by the virtual clock' }
  if (r.eventLoopDelay !== undefined) {
    c.eventLoopDelayP50 = { value: round(r.eventLoopDelay.p50Ms, 1), unit: 'ms (workload phase)' }
    c.eventLoopDelayP99 = { value: round(r.eventLoopDelay.p99Ms, 1), unit: 'ms (workload phase)' }
    c.eventLoopDelayMax = { value: round(r.eventLoopDelay.maxMs, 1), unit: 'ms (workload phase)' }
  }
  return c
}

/**
 * Revocations during the run: how long from `revoke` returning until every live node refused the
 * certificate, and what lookups of a revoked code got. `revokedAnsweredValidAfterReach` counts
 * lookups started after every node honoured the revocation that still returned the record: the
 * figure that must be 0.
 */
export function revocationFigures (r: Pick<RunResult, 'revocations' | 'lookups'>): Metrics {
  const reached = r.revocations.flatMap(e => e.reachMs === null ? [] : [e.reachMs])
  const revoked = r.lookups.filter(o => o.revoked === true)
  const reachOf = new Map(r.revocations.map(e => [e.code, e.reachMs === null ? Number.POSITIVE_INFINITY : e.atMs + e.reachMs]))
  return {
    revocations: { value: r.revocations.length, unit: 'certificates revoked' },
    revocationsNotReached: { value: r.revocations.length - reached.length, unit: 'revocations some live node never honoured' },
    revocationReachP50: { value: round(quantile(reached, 0.5)), unit: 'ms (revoke returned -> every live node refuses)' },
    revocationReachMax: { value: round(reached.length === 0 ? Number.NaN : Math.max(...reached)), unit: 'ms (revoke returned -> every live node refuses)' },
    revokedLookups: { value: revoked.length, unit: 'lookups of a revoked code' },
    revokedRefusedShare: { value: round(revoked.length === 0 ? Number.NaN : revoked.filter(o => o.error === 'RevokedError').length / revoked.length), unit: 'share refused with RevokedError' },
    revokedAnsweredValid: { value: revoked.filter(o => o.ok).length, unit: 'lookups of a revoked code answered with its record' },
    revokedAnsweredValidAfterReach: { value: revoked.filter(o => o.ok && o.startMs >= (reachOf.get(o.code) ?? Number.POSITIVE_INFINITY)).length, unit: 'lookups started after every node honoured it, answered with the record' }
  }
}
