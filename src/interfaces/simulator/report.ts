import { mkdirSync, writeFileSync } from 'node:fs'
import { environmentLine } from './environment.ts'
import { join } from 'node:path'
import { checkAssertions } from './assertions.ts'
import type { AssertionResult } from './assertions.ts'
import { computeCost, computeMetrics } from './metrics.ts'
import type { Metrics } from './metrics.ts'
import { gossipReachPlot, latencyCdf, successOverTime } from './plots.ts'
import type { RunResult } from './runner.ts'

export interface ReportFiles { metrics: string, csv: string, plots: string[], summary: string, assertions: AssertionResult[] }

function csvOf (r: RunResult): string {
  const rows = ['kind,start_ms,asker,code,ok,latency_ms,source,seq,newest_seq,error,dht_peers,gossip_receipts,apart,peers_asked,messages,bytes']
  const sides = r.partitionSides
  // in a partitioned run: whether the asker and the code's holder were on different sides of the split
  const apart = (asker: number, code: string): string => sides === undefined ? '' : String(sides.askerSide[asker] !== sides.codeSide[code])
  for (const o of [...r.lookups, ...r.baselineLookups]) {
    rows.push([o.kind, o.startMs.toFixed(1), o.asker, o.code, o.ok, o.latencyMs.toFixed(3), o.source, o.seq, o.newestSeq, o.error, '', '', apart(o.asker, o.code), o.peersAsked, o.messages, o.bytes].join(','))
  }
  // churn: which node left or came back, and when (the code it holds in the code column)
  for (const e of r.churn) rows.push([e.kind, e.atMs.toFixed(1), '', e.code ?? '', '', '', '', '', '', '', '', '', '', '', '', ''].join(','))
  for (const u of [...r.updates, ...r.baselineUpdates]) {
    rows.push([u.kind, u.startMs.toFixed(1), '', u.code, u.seq > 0, u.latencyMs.toFixed(3), '', u.seq, '', '', u.dhtPeers, u.gossipReceiptsMs.length, '', '', '', ''].join(','))
  }
  return rows.join('\n') + '\n'
}

function fmt (f: Metrics[string] | undefined): string {
  if (f === undefined) return '-'
  const v = (x: number): string => Number.isFinite(x) ? String(x) : 'n/a'
  return `${v(f.value)}`
}

export function summaryOf (r: RunResult, m: Metrics, cost: Metrics = computeCost(r), assertions: AssertionResult[] = checkAssertions(r.scenario, { ...cost, ...m })): string {
  const row = (label: string, key: string): string => {
    const f = m[key]
    return `| ${label} | ${fmt(f)} ${f?.unit ?? ''} | ${f?.baseline !== undefined ? `${f.baseline}` : '-'} | ${f?.ratio !== undefined && Number.isFinite(f.ratio) ? `${f.ratio}x` : '-'} |`
  }
  return [
    `# Simulation: ${r.scenario.name}`,
    '',
    ...(r.interrupted !== undefined
      ? [`**Stopped by a signal** during the ${r.interrupted.phase} at ${(r.interrupted.atMs / 1000).toFixed(1)} s of ${r.scenario.workload.durationMs / 1000} s: the figures cover the operations finished by then${r.interrupted.phase === 'workload' ? ', with no baseline' : ' (the baseline only in part)'}.`, '']
      : []),
    r.scenario.description,
    '',
    `${r.nodes} nodes (${r.cityNodes} cities, ${r.adversaries} adversaries)${r.sharding !== undefined ? ` on ${r.sharding.shards} shard processes linked by TCP` : ''}, transport ${r.scenario.transport}, ${r.scenario.encryption}, latency ${r.scenario.latency.model}${r.scenario.bandwidthMbps !== undefined ? `, ${r.scenario.bandwidthMbps} Mbit/s links` : ''}, seed ${r.scenario.seed}, **${r.clock.kind} clock**; ${m.lookups?.value} lookups, ${m.updates?.value} updates over ${r.scenario.workload.durationMs / 1000} s; setup ${m.setupTime?.value} s${r.clock.kind === 'virtual' ? ' simulated' : ''}.`,
    '',
    '| figure | citycode | plain kad-dht baseline | ratio |',
    '|---|---|---|---|',
    row('lookup success', 'lookupSuccessRate'),
    row('latency p50', 'latencyP50'),
    row('latency p95', 'latencyP95'),
    row('latency p99', 'latencyP99'),
    row('peers asked (hops) per lookup', 'peersAskedPerLookup'),
    row('peers asked per lookup not answered from cache', 'peersAskedPerColdLookup'),
    row('messages per lookup', 'messagesPerLookup'),
    row('bytes per lookup', 'bytesPerLookup'),
    row('cold latency p50 (not from cache)', 'coldLatencyP50'),
    row('cold latency p95 (not from cache)', 'coldLatencyP95'),
    row('newest-record answers', 'newestRecordShare'),
    row('stale answers', 'staleAnswerShare'),
    row('gossip to 50% of nodes', 'gossipTo50pct'),
    row('gossip to 90% of nodes', 'gossipTo90pct'),
    row('gossip to 99% of nodes (baseline: plain PUT)', 'gossipTo99pct'),
    ...(m.gossipFloorTo99pct !== undefined
      ? [row('gossipsub floor to 99% of nodes', 'gossipFloorTo99pct'), row('gossip to 99% over its floor (median)', 'gossipTo99pctOverFloor'), row('gossip to 99% over its floor (worst update)', 'gossipTo99pctOverFloorMax')]
      : []),
    row('gossip messages rejected', 'gossipRejected'),
    row('nodes that left (churn)', 'churnEvents'),
    ...(r.scenario.churn?.rejoinAfterMs !== undefined ? [row('nodes that came back', 'rejoins')] : []),
    ...['crossShardLookups', 'crossShardSuccessRate', 'successDuringPartition', 'successDuringPartitionApart', 'successDuringPartitionSameSide', 'successAfterHeal', 'newestShareAfterHeal', 'convergenceAfterHeal', 'successAfterMassKill', 'successAfterMassKillSettled']
      .filter(k => m[k] !== undefined).map(k => row(k.replace(/([A-Z])/g, ' $1').toLowerCase(), k)),
    '',
    'Answers by path: ' + Object.entries(m).filter(([k]) => k.startsWith('answeredFrom_')).map(([k, f]) => `${k.slice('answeredFrom_'.length)} ${f.value}`).join(', '),
    '',
    ...assertionLines(assertions),
    '## Cost of the run (wall clock: this machine, not the protocol)',
    '',
    r.clock.kind === 'virtual'
      ? 'On the virtual clock CPU work costs no simulated time: the figures above are the same on any machine; these are not.'
      : 'On the real clock a loaded process answers late: latencies above the event-loop delay measure the machine.',
    '',
    '| cost | value |',
    '|---|---|',
    ...Object.entries(cost).filter(([k]) => k !== 'clock').map(([k, f]) => `| ${k.replace(/([A-Z])/g, ' $1').toLowerCase()} | ${fmt(f)} ${f.unit} |`),
    '',
    ...(r.environment !== undefined ? [environmentLine(r.environment), ''] : []),
    'Files: `metrics.json` (every figure with its unit), `operations.csv` (one row per operation), `latency-cdf.svg`, `gossip-reach.svg`, `success-over-time.svg`.',
    ''
  ].join('\n')
}

/** The scenario's assertions as a table, or nothing when it has none. */
function assertionLines (results: AssertionResult[]): string[] {
  if (results.length === 0) return []
  const bound = (a: AssertionResult): string => [a.min !== undefined ? `>= ${a.min}` : '', a.max !== undefined ? `<= ${a.max}` : ''].filter(b => b !== '').join(' and ')
  return [
    `Assertions: ${results.filter(a => a.ok).length} of ${results.length} held.`,
    '',
    '| figure | must be | measured | |',
    '|---|---|---|---|',
    ...results.map(a => `| ${a.figure} | ${bound(a)} | ${a.value !== undefined ? `${fmt({ value: a.value, unit: '' })} ${a.unit ?? ''}` : '-'} | ${a.ok ? 'held' : `**failed**: ${a.reason}`} |`),
    ''
  ]
}

export async function writeReport (r: RunResult, dir: string): Promise<ReportFiles> {
  mkdirSync(dir, { recursive: true })
  const m = computeMetrics(r)
  const cost = computeCost(r)
  // a target may bound a cost too (memory per node); figures win a name clash
  const assertions = checkAssertions(r.scenario, { ...cost, ...m })
  const metrics = join(dir, 'metrics.json')
  writeFileSync(metrics, JSON.stringify({ scenario: r.scenario, figures: m, cost, assertions, ...(r.interrupted !== undefined ? { interrupted: r.interrupted } : {}), ...(r.environment !== undefined ? { environment: r.environment } : {}) }, null, 2) + '\n')
  const csv = join(dir, 'operations.csv')
  writeFileSync(csv, csvOf(r))
  const plots: string[] = []
  for (const [name, render] of [['latency-cdf.svg', latencyCdf], ['gossip-reach.svg', gossipReachPlot], ['success-over-time.svg', successOverTime]] as const) {
    const file = join(dir, name)
    writeFileSync(file, await render(r))
    plots.push(file)
  }
  const summary = join(dir, 'summary.md')
  writeFileSync(summary, summaryOf(r, m, cost, assertions))
  return { metrics, csv, plots, summary, assertions }
}
