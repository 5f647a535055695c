import * as vega from 'vega'
import { compile } from 'vega-lite'
import type { TopLevelSpec } from 'vega-lite'
import type { RunResult } from './runner.ts'

/** Renders a Vega-Lite spec to SVG, headless (no browser, no canvas). */
export async function renderSvg (spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  return await view.toSVG()
}

function cdf (values: number[], series: string): Array<{ ms: number, share: number, series: string }> {
  const s = [...values].sort((a, b) => a - b)
  return s.map((ms, i) => ({ ms: Math.max(ms, 0.01), share: (i + 1) / s.length, series }))
}

export async function latencyCdf (r: RunResult): Promise<string> {
  const values = [
    ...cdf(r.lookups.filter(o => o.ok).map(o => o.latencyMs), 'citycode resolve'),
    ...cdf(r.baselineLookups.filter(o => o.ok).map(o => o.latencyMs), 'plain kad-dht GET')
  ]
  return await renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Lookup latency CDF (${r.scenario.name}, ${r.nodes} nodes)`,
    width: 520,
    height: 300,
    data: { values },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'latency (ms, log scale)' },
      y: { field: 'share', type: 'quantitative', title: 'share of successful lookups' },
      color: { field: 'series', type: 'nominal', title: null }
    }
  })
}

export async function gossipReachPlot (r: RunResult): Promise<string> {
  const values = r.updates.flatMap((u, i) => [...u.gossipReceiptsMs].sort((a, b) => a - b)
    .map((ms, k) => ({ ms: Math.max(ms, 0.01), share: (k + 1) / Math.max(1, r.nodes - 1), update: `update ${i + 1}` })))
  return await renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Gossip reach over time (${r.scenario.name})`,
    width: 520,
    height: 300,
    data: { values: values.length > 0 ? values : [{ ms: 0.01, share: 0, update: 'no updates' }] },
    mark: { type: 'line', interpolate: 'step-after', opacity: 0.6 },
    encoding: {
      x: { field: 'ms', type: 'quantitative', title: 'ms after publication' },
      y: { field: 'share', type: 'quantitative', title: 'share of nodes that received it' },
      detail: { field: 'update', type: 'nominal' }
    }
  })
}

export async function successOverTime (r: RunResult): Promise<string> {
  const bucketMs = Math.max(250, r.scenario.workload.durationMs / 40)
  const buckets = new Map<number, { ok: number, all: number }>()
  for (const o of r.lookups) {
    const b = Math.floor(o.startMs / bucketMs) * bucketMs
    const e = buckets.get(b) ?? { ok: 0, all: 0 }
    e.all++
    if (o.ok) e.ok++
    buckets.set(b, e)
  }
  const success = [...buckets.entries()].map(([t, e]) => ({ s: t / 1000, value: e.ok / e.all, series: 'lookup success' }))
  const total = Math.max(1, ...r.aliveOverTime.map(a => a.alive))
  const alive = r.aliveOverTime.map(a => ({ s: a.atMs / 1000, value: a.alive / total, series: 'nodes alive' }))
  return await renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Success over time (${r.scenario.name})`,
    width: 520,
    height: 300,
    data: { values: [...success, ...alive] },
    mark: { type: 'line', point: false },
    encoding: {
      x: { field: 's', type: 'quantitative', title: 'time (s)' },
      y: { field: 'value', type: 'quantitative', title: 'share', scale: { domain: [0, 1] } },
      color: { field: 'series', type: 'nominal', title: null }
    }
  })
}
