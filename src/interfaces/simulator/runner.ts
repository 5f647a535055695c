import { monitorEventLoopDelay } from 'node:perf_hooks'
import { decodeRecord } from '../../core/record/record.ts'
import { RECORDS_TOPIC } from '../../network/gossip/record-updates.ts'
import { chineseCities, largestCities } from '../gazetteer/cities.ts'
import { makeAdversary } from './adversaries.ts'
import { buildNetwork, fromGazetteer, registerCities } from './network-builder.ts'
import type { SimCity, SimNetwork, SimNode } from './network-builder.ts'
import { Rng } from './rng.ts'
import type { Scenario } from './scenario.ts'
import { clockOf } from './scenario.ts'
import { installVirtualClock, wallNow } from './virtual-clock.ts'
import { installSeededRandomness } from './seeded-randomness.ts'
import { scenarioLinkModel } from './link-model.ts'
import { gossipFloorMs } from './gossip-floor.ts'
import { meshPeers } from '../../network/gossip/mesh.ts'
import type { RunEnvironment } from './environment.ts'
import { rejoinDelay } from './churn.ts'
import type { LinkModelFactory } from './link-model.ts'
import { tolerateStrayNetworkErrors } from '../../network/stray-errors.ts'
import { expectedLookups, workloadEvents } from './workload.ts'
import type { WorkloadProbe } from './profiles.ts'
import { BASELINE_CONCURRENCY, BASELINE_PUTS, baselineGet, baselinePut, inBatches, resolveLookup, unanswered } from './operations.ts'
import type { LookupResult } from './operations.ts'
import { revokeCertificate } from '../../services/proof/revoke.ts'

/** One lookup as it happened. */
export interface LookupOp extends LookupResult {
  kind: 'lookup' | 'baseline-get'
  startMs: number
  asker: number
  code: string
  /** Newest seq published for the code before the lookup started. */
  newestSeq: number
  /** The code's certificate was revoked before the lookup started: refusing it is the right answer. */
  revoked?: boolean
}

/** A certificate revoked during the run, and how long until every live node refused it. */
export interface RevocationEvent {
  /** When `revoke` returned (ms into the workload). */
  atMs: number
  code: string
  /** From `atMs` until every live node honoured it; null when some never did before the run ended. */
  reachMs: number | null
  honoured: number
  of: number
}

export interface UpdateOp {
  kind: 'update' | 'baseline-put'
  startMs: number
  code: string
  seq: number
  latencyMs: number
  /** ms after publication at which each node received it by gossip (update only). */
  gossipReceiptsMs: number[]
  /**
   * The gossipsub floor of each other live node for this update (gossip-floor.ts), ms; absent when
   * the scenario models no link latency.
   */
  gossipFloorsMs?: number[]
  dhtPeers: number
}

/** A node leaving or coming back; `code` is the city code it holds. */
export interface ChurnEvent { atMs: number, node: number, kind: 'leave' | 'mass-kill' | 'rejoin', code?: string }

export interface RunResult {
  scenario: Scenario
  nodes: number
  cityNodes: number
  adversaries: number
  setupMs: number
  lookups: LookupOp[]
  updates: UpdateOp[]
  baselineLookups: LookupOp[]
  baselineUpdates: UpdateOp[]
  churn: ChurnEvent[]
  partitionEvents: Array<{ atMs: number, kind: 'split' | 'heal' }>
  revocations: RevocationEvent[]
  aliveOverTime: Array<{ atMs: number, alive: number }>
  /** What the run cost the machine (wall clock, not simulated time): never a protocol figure. */
  memory: { rssBytes: number, heapBytes: number }
  cpu: { userMs: number, systemMs: number, wallMs: number }
  /** The clock the run was on; on `virtual`, how far simulated time went and how many timers the driver fired. */
  clock: { kind: 'virtual' | 'real', simulatedMs: number, timersFired?: number }
  gossipRejected: number
  /** A sharded run (coordinator.ts): how many shards, which shard each asker and each code's holder ran on. */
  sharding?: { shards: number, askerShard: number[], codeShard: Record<string, number> }
  /** A partitioned run: which side (0 or 1) each asker and each code's holder was on during the split. */
  partitionSides?: { askerSide: number[], codeSide: Record<string, number> }
  /**
   * How late the process's event loop ran during the workload (single-process runs): a timer, a
   * deadline or a message handler waits this long, so latencies above it measure the process.
   */
  eventLoopDelay?: { p50Ms: number, p99Ms: number, maxMs: number }
  /** The run was stopped before its end (RunOptions.stop): in which phase, how far into the workload. */
  interrupted?: { phase: 'workload' | 'baseline', atMs: number }
  /** Where the run ran (environment.ts); set by the command that ran it. */
  environment?: RunEnvironment
}

export interface RunOptions {
  out?: (line: string) => void
  progress?: (phase: string, done: number, total: number) => void
  linkModel?: LinkModelFactory
  /** Started as the workload begins and stopped as it ends (e.g. a CPU profile of that window). */
  workloadProbe?: WorkloadProbe
  /**
   * Stops the run early (Ctrl-C): no new operation starts, those in flight end within their
   * deadlines, the baseline is not run, and the result says where it stopped (`interrupted`).
   */
  stop?: AbortSignal
}

/** The real cities a scenario names, in a fixed order (a sharded run splits them by index). */
export function citiesFor (s: Scenario): SimCity[] {
  if (s.cities.source === 'register') return registerCities(s.cities.count)
  const out: SimCity[] = []
  const per = Math.ceil(s.cities.count / s.cities.countries.length)
  for (const alpha2 of s.cities.countries) {
    const list = alpha2 === 'CN' ? chineseCities() : largestCities(alpha2, per, s.cities.minPopulation)
    out.push(...fromGazetteer(list.filter(c => c.population >= s.cities.minPopulation).slice(0, per)))
  }
  // top up when some country had fewer cities than asked for (China: the 42 GB/T 2260 cities with
  // coordinates): first with the next largest cities of the other countries, in their order, then
  // with GB/T 2260 divisions (no coordinates). Chinese cities from GeoNames alone would be refused:
  // a city in China must name its division code.
  const have = new Set(out.map(c => `${c.name}|${c.country}|${c.officialCode ?? ''}`))
  const add = (list: SimCity[]): void => {
    for (const c of list) {
      if (out.length >= s.cities.count) return
      const key = `${c.name}|${c.country}|${c.officialCode ?? ''}`
      if (!have.has(key)) { have.add(key); out.push(c) }
    }
  }
  for (let round = 2; out.length < s.cities.count && round <= 2 + Math.ceil(s.cities.count / per); round++) {
    const before = out.length
    for (const alpha2 of s.cities.countries.filter(c => c !== 'CN')) add(fromGazetteer(largestCities(alpha2, per * round, s.cities.minPopulation)))
    if (out.length === before) break
  }
  if (s.cities.countries.includes('CN')) {
    const taken = new Set(out.map(c => c.officialCode?.slice(0, 6)))
    add(registerCities(10_000).filter(c => !taken.has(c.officialCode?.slice(0, 6))))
  }
  return out.slice(0, s.cities.count)
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Sleeps `ms`, or less when `stop` aborts first. */
async function sleepUnless (ms: number, stop: AbortSignal | undefined): Promise<void> {
  if (stop === undefined) { await sleep(ms); return }
  if (stop.aborted) return
  await new Promise<void>(resolve => {
    const done = (): void => { clearTimeout(timer); stop.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    stop.addEventListener('abort', done, { once: true })
  })
}

/**
 * Runs a scenario: builds the network from the same node factory as `citycode node start`, runs the
 * workload with churn and adversaries, then replays the same operations as plain kad-dht GET/PUT on
 * the same nodes (the baseline). Returns every operation; metrics and reports are computed from them.
 */
export async function runScenario (s: Scenario, options: RunOptions = {}): Promise<RunResult> {
  if (clockOf(s) === 'real') return await runOnClock(s, options)
  // everything from the keys to the last baseline GET on one simulated clock and one seeded stream
  const randomness = installSeededRandomness(s.seed)
  const clock = installVirtualClock({
    startAt: Date.parse(s.startAt),
    // building, the workload, the baseline's GETs one deadline each at most, and room to stop
    maxSimulatedMs: 3_600_000 + s.workload.durationMs + 20 * s.workload.timeoutMs
  })
  try {
    const result = await clock.drive(async () => await runOnClock(s, options))
    result.clock.timersFired = clock.fired
    return result
  } finally {
    clock.uninstall()
    randomness.uninstall()
  }
}

async function runOnClock (s: Scenario, options: RunOptions): Promise<RunResult> {
  const out = options.out ?? (() => {})
  const virtual = clockOf(s) === 'virtual'
  tolerateStrayNetworkErrors()
  const rng = new Rng(s.seed)
  const cities = citiesFor(s)
  const advCount = Math.round((s.adversaries?.share ?? 0) * cities.length)
  const advIndices = new Set(rng.sample(cities.length, advCount))
  // per-node memory is what the network adds to the process (the gazetteer and plotting libraries are not nodes)
  globalThis.gc?.()
  const rssBefore = process.memoryUsage().rss
  const t0 = performance.now()
  const wall0 = wallNow()
  const cpu0 = process.cpuUsage()
  const links = (options.linkModel ?? scenarioLinkModel)(s, cities)
  const net: SimNetwork = await buildNetwork({
    cities,
    resolvers: s.resolvers,
    transport: s.transport,
    encryption: s.encryption,
    customTransport: links?.transport,
    dialsPerNode: s.dialsPerNode,
    seed: s.seed,
    lean: s.lean,
    ledger: s.ledger,
    concurrency: s.concurrency,
    // on the virtual clock the addresses (inside every record) must not depend on the process
    prefix: virtual ? `sim-${s.seed}` : `sim-${process.pid}-${Date.now()}`,
    resolverInit: { timeoutMs: s.workload.timeoutMs, directTimeoutMs: Math.min(2_000, s.workload.timeoutMs / 3) },
    adversaries: s.adversaries === undefined ? undefined : { indices: advIndices, behaviour: s.adversaries.behaviour },
    onProgress: (done, total) => { options.progress?.('build', done, total) },
    onDialProgress: (done, total) => { options.progress?.('dial', done, total) },
    onWarning: out
  })
  const setupMs = performance.now() - t0
  out(`built ${net.nodes.length} nodes in ${(setupMs / 1000).toFixed(1)} s`)
  const stopAdversaries: Array<() => void> = []
  try {
    const firstSeen = new Map<string, Uint8Array>()
    for (const c of net.cities) {
      const own = await c.node.held(c.code as string)
      if (own !== undefined) firstSeen.set(c.code as string, own.record.bytes)
    }
    for (const c of net.cities) if (c.behaviour !== undefined) stopAdversaries.push(await makeAdversary(c, c.behaviour, firstSeen))
    // let background DHT puts and gossip meshes settle before measuring
    await sleep(2_000)

    const honestCities = net.cities.filter(c => c.behaviour === undefined)
    const askers: SimNode[] = [...honestCities, ...net.nodes.filter(n => n.role === 'resolver')]
    const codes = net.cities.map(c => c.code as string)
    const alive = new Set<SimNode>(net.nodes)
    const newest = new Map<string, number>(codes.map(c => [c, 1]))
    // gossip receipts by (code, seq), registered before publication so no early receipt is missed
    const receipts = new Map<string, { at: number, times: number[] }>()
    const listenForReceipts = (n: SimNode): void => {
      n.node.libp2p.services.pubsub.addEventListener('message', (evt) => {
        if (evt.detail.topic !== RECORDS_TOPIC) return
        let key: string
        try {
          const body = decodeRecord(evt.detail.data).body
          key = `${body.code}#${body.seq}`
        } catch {
          return
        }
        const entry = receipts.get(key)
        if (entry !== undefined) entry.times.push(performance.now() - entry.at)
      })
    }
    for (const n of net.nodes) listenForReceipts(n)

    // churn schedule (seeded): which city nodes leave and when
    const churn: ChurnEvent[] = []
    // on the virtual clock the process is never late: nothing to monitor
    const loopDelay = virtual ? undefined : monitorEventLoopDelay({ resolution: 20 })
    loopDelay?.enable()
    await options.workloadProbe?.start()
    const workloadStart = performance.now()
    const elapsed = (): number => performance.now() - workloadStart
    const timers: Array<ReturnType<typeof setTimeout>> = []
    const partitionEvents: RunResult['partitionEvents'] = []
    let partitionSides: RunResult['partitionSides']
    const rejoins: Array<Promise<void>> = []
    const kill = async (sim: SimNode, kind: ChurnEvent['kind']): Promise<void> => {
      if (!alive.has(sim)) return
      alive.delete(sim)
      churn.push({ atMs: elapsed(), node: net.nodes.indexOf(sim), kind, code: sim.code })
      // crash: connections just vanish; graceful: the publisher flushes first (both stop libp2p)
      if (s.churn?.mode === 'graceful') await sim.node.publisher.stop()
      try { await sim.node.libp2p.stop() } catch {}
      const back = rejoinDelay(s, net.nodes.indexOf(sim))
      if (back !== undefined && sim.rejoin !== undefined && elapsed() + back < s.workload.durationMs) {
        const rejoin = sim.rejoin
        timers.push(setTimeout(() => {
          rejoins.push(rejoin().then(() => {
            listenForReceipts(sim)
            alive.add(sim)
            churn.push({ atMs: elapsed(), node: net.nodes.indexOf(sim), kind: 'rejoin', code: sim.code })
          }, (err: Error) => { out(`${sim.name} could not rejoin: ${err.message}`) }))
        }, back))
      }
    }
    if (s.churn !== undefined) {
      for (const c of honestCities) {
        if (rng.next() >= s.churn.rate) continue
        const at = rng.exponential(s.churn.meanSessionMs)
        if (at < s.workload.durationMs) timers.push(setTimeout(() => { void kill(c, 'leave') }, at))
      }
      if (s.churn.massKill !== undefined) {
        const victims = rng.sample(honestCities.length, Math.round(s.churn.massKill.share * honestCities.length)).map(i => honestCities[i] as SimNode)
        timers.push(setTimeout(() => { for (const v of victims) void kill(v, 'mass-kill') }, s.churn.massKill.atMs))
      }
    }
    if (s.partition !== undefined && links !== undefined) {
      const p = s.partition
      const side = new Set(rng.sample(honestCities.length, Math.round(p.share * honestCities.length)).map(i => (honestCities[i] as SimNode).name))
      const groupA = net.nodes.filter(n => side.has(n.name)).map(n => n.name)
      const groupB = net.nodes.filter(n => !side.has(n.name)).map(n => n.name)
      const sideOf = (n: SimNode): number => side.has(n.name) ? 0 : 1
      partitionSides = { askerSide: askers.map(sideOf), codeSide: Object.fromEntries(net.cities.map(c => [c.code as string, sideOf(c)])) }
      timers.push(setTimeout(() => { links.network.partition([groupA, groupB]); partitionEvents.push({ atMs: elapsed(), kind: 'split' }) }, p.atMs))
      timers.push(setTimeout(() => { links.network.heal(); partitionEvents.push({ atMs: elapsed(), kind: 'heal' }) }, p.healAtMs))
    }
    const revocations: RevocationEvent[] = []
    const revokedCodes = new Set<string>()
    const watchers: Array<Promise<void>> = []
    if (s.revocations !== undefined) {
      const r = s.revocations
      const victims = rng.sample(honestCities.length, Math.min(r.count, honestCities.length)).map(i => honestCities[i] as SimNode)
      timers.push(setTimeout(() => {
        for (const victim of victims) watchers.push(revokeAndWatch(victim))
      }, r.atMs))
    }
    const revokeAndWatch = async (victim: SimNode): Promise<void> => {
      const code = victim.code as string
      const issuer = net.nodes.find(n => n.code !== undefined && n.code === code.split('.').slice(0, -1).join('.'))
      if (issuer === undefined || !alive.has(issuer)) return
      try {
        const { revocation } = await revokeCertificate(issuer.node, code, { reason: 'simulated compromise', revokedAt: Date.now() - 1 })
        const atMs = elapsed()
        revokedCodes.add(code)
        const event: RevocationEvent = { atMs, code, reachMs: null, honoured: 0, of: 0 }
        revocations.push(event)
        const hash = revocation.target
        while (elapsed() < s.workload.durationMs + 5_000 && options.stop?.aborted !== true) {
          const live = net.nodes.filter(n => alive.has(n))
          event.of = live.length
          event.honoured = live.filter(n => n.node.validator.revocations.get(hash) !== undefined).length
          if (event.honoured === event.of) {
            event.reachMs = elapsed() - atMs
            return
          }
          await sleep(10)
        }
      } catch (err) {
        out(`revoking ${code} failed: ${(err as Error).message}`)
      }
    }
    const aliveOverTime: RunResult['aliveOverTime'] = []
    const sampler = setInterval(() => { aliveOverTime.push({ atMs: elapsed(), alive: alive.size }) }, 250)

    // workload: Poisson arrivals of lookups and updates, Zipf-popular codes
    const lookups: LookupOp[] = []
    const updates: UpdateOp[] = []
    const inflight = new Set<Promise<void>>()
    const track = (p: Promise<void>): void => { inflight.add(p); void p.finally(() => inflight.delete(p)) }
    const plan: Array<{ asker: number, code: string }> = []
    let done = 0
    const expected = expectedLookups(s.workload)
    // Events follow their seeded schedule, not the wall clock: a loaded machine issues them late,
    // never fewer of them, so one seed always gives the same operations.
    let interrupted: RunResult['interrupted']
    for (const event of workloadEvents(s.workload, rng, codes, askers.length, honestCities.length)) {
      if (elapsed() < event.dueMs) await sleepUnless(event.dueMs - elapsed(), options.stop)
      if (options.stop?.aborted === true) {
        interrupted = { phase: 'workload', atMs: elapsed() }
        break
      }
      const now = elapsed()
      if (event.kind === 'lookup') {
        const { asker: askerIdx, code } = event
        plan.push({ asker: askerIdx, code })
        const asker = askers[askerIdx] as SimNode
        if (!alive.has(asker)) continue
        const op: LookupOp = { kind: 'lookup', startMs: now, asker: askerIdx, code, newestSeq: newest.get(code) ?? 1, ...(revokedCodes.has(code) ? { revoked: true } : {}), ...unanswered('') }
        lookups.push(op)
        track((async () => {
          Object.assign(op, await resolveLookup(asker.node, code, s.workload.timeoutMs, s.workload.path === 'dht'))
          options.progress?.('workload', ++done, expected)
        })())
        continue
      }
      {
        const holder = honestCities[event.holder] as SimNode
        if (!alive.has(holder)) continue
        const code = holder.code as string
        const op: UpdateOp = { kind: 'update', startMs: now, code, seq: 0, latencyMs: 0, gossipReceiptsMs: [], dhtPeers: 0 }
        if (links !== undefined) op.gossipFloorsMs = gossipFloorOf(holder, [...alive], links.floorMs)
        updates.push(op)
        track((async () => {
          const t = performance.now()
          try {
            const current = await holder.node.held(code)
            const nextSeq = (current?.record.body.seq ?? 0) + 1
            receipts.set(`${code}#${nextSeq}`, { at: t, times: op.gossipReceiptsMs })
            const result = await holder.node.publishOwn([{ type: 'data', name: 'version', value: String(updates.length) }], { background: true })
            op.seq = result.record.body.seq
            newest.set(code, op.seq)
          } catch {}
          op.latencyMs = performance.now() - t
        })())
        continue
      }
    }
    await Promise.allSettled([...inflight])
    await Promise.allSettled(rejoins)
    await Promise.allSettled(watchers)
    await sleepUnless(1_000, options.stop)
    clearInterval(sampler)
    loopDelay?.disable()
    await options.workloadProbe?.stop()
    const eventLoopDelay = loopDelay === undefined ? undefined : { p50Ms: loopDelay.percentile(50) / 1e6, p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 }
    for (const t of timers) clearTimeout(t)

    // the baseline: the same lookups and updates as plain kad-dht GET/PUT on the same nodes
    const baselineLookups: LookupOp[] = []
    const baselineUpdates: UpdateOp[] = []
    if (s.baseline && interrupted === undefined) {
      let bdone = 0
      await inBatches(plan, BASELINE_CONCURRENCY, async ({ asker: idx, code }) => {
        const asker = askers[idx] as SimNode
        if (options.stop?.aborted === true) {
          interrupted ??= { phase: 'baseline', atMs: elapsed() }
          return
        }
        if (!alive.has(asker)) return
        const op: LookupOp = { kind: 'baseline-get', startMs: elapsed(), asker: idx, code, newestSeq: newest.get(code) ?? 1, ...unanswered('dht') }
        baselineLookups.push(Object.assign(op, await baselineGet(asker.node, code, s.workload.timeoutMs)))
        options.progress?.('baseline', ++bdone, plan.length)
      })
      for (const u of updates.slice(0, BASELINE_PUTS)) {
        if (options.stop?.aborted === true) break
        const holder = net.cities.find(c => c.code === u.code)
        if (holder === undefined || !alive.has(holder)) continue
        const startMs = elapsed()
        const r = await baselinePut(holder.node, u.code, s.workload.timeoutMs)
        if (r.done) baselineUpdates.push({ kind: 'baseline-put', startMs, code: u.code, seq: r.seq, latencyMs: r.latencyMs, gossipReceiptsMs: [], dhtPeers: r.dhtPeers })
      }
    }
    const cpu = process.cpuUsage(cpu0)
    globalThis.gc?.()
    const mem = process.memoryUsage()
    return {
      scenario: s,
      nodes: net.nodes.length,
      cityNodes: net.cities.length,
      adversaries: advIndices.size,
      setupMs,
      lookups,
      updates,
      baselineLookups,
      baselineUpdates,
      churn,
      partitionEvents,
      revocations,
      aliveOverTime,
      memory: { rssBytes: mem.rss - rssBefore, heapBytes: mem.heapUsed },
      cpu: { userMs: cpu.user / 1000, systemMs: cpu.system / 1000, wallMs: wallNow() - wall0 },
      clock: { kind: virtual ? 'virtual' : 'real', simulatedMs: performance.now() - t0 },
      gossipRejected: net.nodes.reduce((sum, n) => sum + n.node.gossip.rejected, 0),
      partitionSides,
      eventLoopDelay,
      ...(interrupted !== undefined ? { interrupted } : {})
    }
  } finally {
    for (const stop of stopAdversaries) stop()
    await net.stop()
  }
}



/** The floor of one update published by `origin` now, from the live nodes' gossip state. */
function gossipFloorOf (origin: SimNode, live: readonly SimNode[], latencyMs: (from: string, to: string) => number): number[] {
  const nameOf = new Map(live.map(n => [n.node.peerId.toString(), n.name]))
  const names = (ids: Iterable<string>): string[] => [...ids].flatMap(id => { const name = nameOf.get(id); return name === undefined ? [] : [name] })
  const mesh = new Map(live.map(n => [n.name, names(meshPeers(n.node.libp2p.services.pubsub, RECORDS_TOPIC))]))
  const firstHop = names(origin.node.libp2p.services.pubsub.getSubscribers(RECORDS_TOPIC).map(p => p.toString()))
  return gossipFloorMs({ origin: origin.name, firstHop, mesh }, live.map(n => n.name), latencyMs)
}
