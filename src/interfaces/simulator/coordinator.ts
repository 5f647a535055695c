import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Authorities } from './network-builder.ts'
import { rejoinDelay } from './churn.ts'
import { Rng } from './rng.ts'
import { citiesFor } from './runner.ts'
import type { ChurnEvent, LookupOp, RunOptions, RunResult, UpdateOp } from './runner.ts'
import { ScenarioError } from './scenario.ts'
import type { Scenario } from './scenario.ts'
import { JsonLines, ShardError } from './shard-protocol.ts'
import type { FromShard, MethodName, ShardMethods, ShardNodeInfo, ToShard } from './shard-protocol.ts'
import { expectedLookups, workloadEvents } from './workload.ts'
import { BASELINE_CONCURRENCY, BASELINE_PUTS, inBatches, unanswered } from './operations.ts'

const SHARD_MAIN = fileURLToPath(new URL('./shard-main.ts', import.meta.url))

export interface ShardedRunOptions extends RunOptions {
  shards: number
  /** Start the shards as child processes (default); false: wait for shards started elsewhere (containers). */
  spawn?: boolean
  /** Control address the shards connect to. @default 127.0.0.1:0 (any free port) */
  controlHost?: string
  controlPort?: number
  /** Host the spawned shards' nodes listen on. @default 127.0.0.1 */
  shardHost?: string
  /** How long to wait for every shard to connect. @default 120 s */
  connectTimeoutMs?: number
  onListening?: (address: { host: string, port: number }) => void
}

/** One connected shard: typed calls, answered in any order. */
class ShardConnection {
  readonly index: number
  private readonly lines: JsonLines<FromShard, ToShard>
  private readonly pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  private nextId = 0
  private closed: Error | undefined
  private readonly onMessage: (msg: FromShard) => void

  constructor (index: number, socket: Socket, lines: JsonLines<FromShard, ToShard>, onMessage: (msg: FromShard) => void) {
    this.index = index
    this.lines = lines
    this.onMessage = onMessage
    socket.on('close', () => {
      this.closed = new ShardError(`shard ${index} disconnected`, { shard: index })
      for (const p of this.pending.values()) p.reject(this.closed)
      this.pending.clear()
    })
  }

  handle (msg: FromShard): void {
    if (msg.type !== 'reply') { this.onMessage(msg); return }
    const p = this.pending.get(msg.id)
    this.pending.delete(msg.id)
    if (msg.error !== undefined) p?.reject(new ShardError(`shard ${this.index}: ${msg.error}`, { shard: this.index }))
    else p?.resolve(msg.result)
  }

  async call<M extends MethodName> (method: M, params: ShardMethods[M]['params']): Promise<ShardMethods[M]['result']> {
    if (this.closed !== undefined) throw this.closed
    const id = this.nextId++
    return await new Promise<ShardMethods[M]['result']>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.lines.send({ type: 'call', id, method, params })
    })
  }

  close (): void {
    this.lines.close()
  }
}

/** Which shard runs which city: round-robin, so every country is spread over every shard. */
export function shardOfCity (cityIndex: number, shards: number): number {
  return cityIndex % shards
}

/** Refuses what a sharded run cannot honour, naming the field. */
export function checkShardable (s: Scenario, shards: number): void {
  if (shards < 1 || !Number.isInteger(shards)) throw new ScenarioError(`shards must be a whole number >= 1, got ${shards}`, { field: 'shards' })
  if (s.transport !== 'memory') throw new ScenarioError('a sharded run keeps the memory transport inside each shard (TCP carries the links between shards): transport must be "memory"', { field: 'transport' })
  if (s.partition !== undefined) throw new ScenarioError('partitions are modelled inside one process only: run this scenario without shards', { field: 'partition' })
  if (shards > s.cities.count) throw new ScenarioError(`more shards (${shards}) than cities (${s.cities.count})`, { field: 'shards' })
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function acceptShards (server: Server, shards: number, timeoutMs: number, children: ChildProcess[], onMessage: (shard: number, msg: FromShard) => void): Promise<ShardConnection[]> {
  return await new Promise<ShardConnection[]>((resolve, reject) => {
    const connections: ShardConnection[] = new Array(shards)
    let count = 0
    const timer = setTimeout(() => { fail(new ShardError(`only ${count} of ${shards} shards connected within ${timeoutMs / 1000} s`)) }, timeoutMs)
    const fail = (err: Error): void => { clearTimeout(timer); server.removeAllListeners('connection'); reject(err) }
    for (const child of children) {
      child.once('exit', (code) => { if (count < shards) fail(new ShardError(`a shard process exited (code ${code}) before the run started`)) })
    }
    server.on('connection', (socket) => {
      // the first line is the hello naming the shard; every later line belongs to that shard
      let conn: ShardConnection | undefined
      socket.on('error', () => {})
      const lines = new JsonLines<FromShard, ToShard>(socket, (msg) => {
        if (conn !== undefined) { conn.handle(msg); return }
        if (msg.type !== 'hello' || !Number.isInteger(msg.shard) || msg.shard < 0 || msg.shard >= shards || connections[msg.shard] !== undefined) {
          socket.destroy()
          return
        }
        conn = new ShardConnection(msg.shard, socket, lines, m => { onMessage(msg.shard, m) })
        connections[msg.shard] = conn
        if (++count === shards) { clearTimeout(timer); resolve(connections) }
      })
    })
  })
}

/**
 * Runs one scenario over several shard processes: the coordinator hands each shard its slice of
 * the cities (round-robin), the authorities' addresses and the seed; it draws the one seeded
 * schedule (dials, churn, lookups, updates, baseline) and sends each operation to the shard that
 * runs the node, then merges every shard's results into one RunResult (one report).
 */
export async function runSharded (s: Scenario, options: ShardedRunOptions): Promise<RunResult> {
  checkShardable(s, options.shards)
  const out = options.out ?? (() => {})
  const shards = options.shards
  const cities = citiesFor(s)
  const rng = new Rng(s.seed)
  const advCount = Math.round((s.adversaries?.share ?? 0) * cities.length)
  const advIndices = rng.sample(cities.length, advCount)
  const t0 = performance.now()
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.controlPort ?? 0, options.controlHost ?? '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  const control = server.address() as AddressInfo
  options.onListening?.({ host: control.address, port: control.port })
  const children: ChildProcess[] = []
  let connections: ShardConnection[] = []
  try {
    if (options.spawn !== false) {
      for (let i = 0; i < shards; i++) {
        children.push(spawn(process.execPath, ['--expose-gc', SHARD_MAIN], {
          env: { ...process.env, CITYCODE_SIM_COORDINATOR: `${control.address}:${control.port}`, CITYCODE_SIM_SHARD: String(i), CITYCODE_SIM_HOST: options.shardHost ?? '127.0.0.1' },
          stdio: ['ignore', 'inherit', 'inherit']
        }))
      }
    }
    const buildDone = new Array<number>(shards).fill(0)
    const buildTotal = cities.length + s.resolvers
    let authoritiesReady: (a: Authorities) => void = () => {}
    const authorities = new Promise<Authorities>(resolve => { authoritiesReady = resolve })
    connections = await acceptShards(server, shards, options.connectTimeoutMs ?? 120_000, children, (shard, msg) => {
      if (msg.type === 'authorities') authoritiesReady(msg.authorities)
      if (msg.type === 'progress') {
        buildDone[shard] = msg.done
        options.progress?.(msg.phase, buildDone.reduce((a, b) => a + b, 0), buildTotal)
      }
    })
    out(`${shards} shards connected`)

    // build: shard 0 starts the authorities, the others start their cities once those run
    const slice = (k: number): number[] => cities.map((_, i) => i).filter(i => shardOfCity(i, shards) === k)
    const resolversOf = (k: number): number => Math.floor(s.resolvers / shards) + (k < s.resolvers % shards ? 1 : 0)
    const build = (k: number, a?: Authorities): Promise<ShardMethods['build']['result']> => (connections[k] as ShardConnection).call('build', {
      scenario: s, shard: k, shards, cityIndices: slice(k), resolvers: resolversOf(k), adversaries: advIndices, ...(a !== undefined ? { authorities: a } : {})
    })
    // The other shards' cities apply to the authorities while shard 0 has nothing else to do; then
    // shard 0 starts its own. Built all at once, 1000 cities over two shards stalled: every
    // application from shard 1 to the busy shard 0 timed out (docs/SIMULATION.md).
    const rest = authorities.then(async a => {
      const others = await Promise.all(connections.slice(1).map(async (_, j) => await build(j + 1, a)))
      await (connections[0] as ShardConnection).call('proceed', {})
      return others
    })
    // both awaited together: a shard failing while another still builds is reported, not left unhandled
    const [first, others] = await Promise.all([build(0), rest])
    const built = [first, ...others]
    const setupMs = performance.now() - t0
    out(`built ${built.reduce((n, b) => n + b.nodes.length, 0)} nodes on ${shards} shards in ${(setupMs / 1000).toFixed(1)} s`)

    // one global view: root, countries, cities by global index, resolvers
    interface Placed extends ShardNodeInfo { shard: number }
    const all: Placed[] = built.flatMap((b, shard) => b.nodes.map(n => ({ ...n, shard })))
    const rank = (n: Placed): number => n.role === 'root' ? 0 : n.role === 'country' ? 1 : n.role === 'city' ? 2 : 3
    all.sort((a, b) => rank(a) - rank(b) || (a.cityIndex ?? 0) - (b.cityIndex ?? 0) || a.key.localeCompare(b.key))
    const cityNodes = all.filter(n => n.role === 'city')
    const shardOf = new Map(all.map(n => [n.key, n.shard]))
    const call = async <M extends MethodName>(key: string, method: M, params: ShardMethods[M]['params']): Promise<ShardMethods[M]['result']> =>
      await (connections[shardOf.get(key) as number] as ShardConnection).call(method, params)

    // random dials, drawn from the seed like the single-process builder's: same shard over memory, else TCP
    const dialRng = new Rng(s.seed)
    const servers = all.filter(n => n.role !== 'resolver')
    const dials: Array<Array<[string, string]>> = connections.map(() => [])
    for (const n of all) {
      for (const j of dialRng.sample(servers.length, s.dialsPerNode)) {
        const peer = servers[j] as Placed
        if (peer === n) continue
        const addr = peer.shard === n.shard ? peer.addr : peer.tcpAddr
        if (addr !== undefined) dials[n.shard]?.push([n.key, addr])
      }
    }
    const dialed = await Promise.all(connections.map(async (c, k) => await c.call('dial', { dials: dials[k] ?? [] })))
    out(`random dials: ${dialed.reduce((n, d) => n + d.connected, 0)} connected`)
    if (s.adversaries !== undefined) {
      const firstSeen = Object.assign({}, ...built.map(b => b.firstRecords)) as Record<string, string>
      await Promise.all(connections.map(async c => await c.call('adversaries', { firstSeen })))
    }
    // let background DHT puts and gossip meshes settle before measuring
    await sleep(2_000)

    const honest = cityNodes.filter(n => !n.adversary)
    const askers: Placed[] = [...honest, ...all.filter(n => n.role === 'resolver')]
    const codes = cityNodes.map(c => c.code as string)
    const alive = new Set(all.map(n => n.key))
    const newest = new Map<string, number>(codes.map(c => [c, 1]))
    const churn: ChurnEvent[] = []
    const workloadStart = performance.now()
    const elapsed = (): number => performance.now() - workloadStart
    const timers: Array<ReturnType<typeof setTimeout>> = []
    const indexOf = new Map(all.map((n, i) => [n.key, i]))
    const codeOf = new Map(cityNodes.map(n => [n.key, n.code]))
    const kill = async (key: string, kind: ChurnEvent['kind']): Promise<void> => {
      if (!alive.has(key)) return
      alive.delete(key)
      churn.push({ atMs: elapsed(), node: indexOf.get(key) as number, kind, code: codeOf.get(key) })
      await call(key, 'kill', { node: key, graceful: s.churn?.mode === 'graceful' }).catch(() => undefined)
      const back = rejoinDelay(s, indexOf.get(key) as number)
      if (back !== undefined && elapsed() + back < s.workload.durationMs) {
        timers.push(setTimeout(() => {
          rejoins.push(call(key, 'rejoin', { node: key }).then(() => {
            alive.add(key)
            churn.push({ atMs: elapsed(), node: indexOf.get(key) as number, kind: 'rejoin', code: codeOf.get(key) })
          }, (err: Error) => { out(`${key} could not rejoin: ${err.message}`) }))
        }, back))
      }
    }
    const rejoins: Array<Promise<void>> = []
    if (s.churn !== undefined) {
      for (const c of honest) {
        if (rng.next() >= s.churn.rate) continue
        const at = rng.exponential(s.churn.meanSessionMs)
        if (at < s.workload.durationMs) timers.push(setTimeout(() => { void kill(c.key, 'leave') }, at))
      }
      if (s.churn.massKill !== undefined) {
        const victims = rng.sample(honest.length, Math.round(s.churn.massKill.share * honest.length)).map(i => (honest[i] as Placed).key)
        timers.push(setTimeout(() => { for (const v of victims) void kill(v, 'mass-kill') }, s.churn.massKill.atMs))
      }
    }
    const aliveOverTime: RunResult['aliveOverTime'] = []
    const sampler = setInterval(() => { aliveOverTime.push({ atMs: elapsed(), alive: alive.size }) }, 250)

    // the workload: the same seeded Poisson/Zipf schedule as the single-process runner
    const lookups: LookupOp[] = []
    const updates: Array<UpdateOp & { startedAt: number }> = []
    const inflight = new Set<Promise<void>>()
    const track = (p: Promise<void>): void => { inflight.add(p); void p.finally(() => inflight.delete(p)) }
    const plan: Array<{ asker: number, code: string }> = []
    let done = 0
    const expected = expectedLookups(s.workload)
    for (const event of workloadEvents(s.workload, rng, codes, askers.length, honest.length)) {
      if (elapsed() < event.dueMs) await sleep(event.dueMs - elapsed())
      const now = elapsed()
      if (event.kind === 'lookup') {
        const { asker: askerIdx, code } = event
        plan.push({ asker: askerIdx, code })
        const asker = askers[askerIdx] as Placed
        if (!alive.has(asker.key)) continue
        const op: LookupOp = { kind: 'lookup', startMs: now, asker: askerIdx, code, newestSeq: newest.get(code) ?? 1, ...unanswered('') }
        lookups.push(op)
        track((async () => {
          try {
            Object.assign(op, await call(asker.key, 'lookup', { node: asker.key, code, timeoutMs: s.workload.timeoutMs, dhtOnly: s.workload.path === 'dht' }))
          } catch (err) {
            op.error = (err as Error).name
          }
          options.progress?.('workload', ++done, expected)
        })())
        continue
      }
      const holder = honest[event.holder] as Placed
      if (!alive.has(holder.key)) continue
      const code = holder.code as string
      const op = { kind: 'update' as const, startMs: now, code, seq: 0, latencyMs: 0, gossipReceiptsMs: [], dhtPeers: 0, startedAt: 0 }
      updates.push(op)
      const version = String(updates.length)
      track((async () => {
        try {
          const r = await call(holder.key, 'update', { node: holder.key, version })
          op.seq = r.seq
          op.latencyMs = r.latencyMs
          op.startedAt = r.startedAt
          if (r.seq > 0) newest.set(code, Math.max(newest.get(code) ?? 1, r.seq))
        } catch {}
      })())
    }
    await Promise.allSettled([...inflight])
    await Promise.allSettled(rejoins)
    await sleep(1_000)
    clearInterval(sampler)
    for (const t of timers) clearTimeout(t)

    const baselineLookups: LookupOp[] = []
    const baselineUpdates: UpdateOp[] = []
    if (s.baseline) {
      let bdone = 0
      await inBatches(plan, BASELINE_CONCURRENCY, async ({ asker: idx, code }) => {
        const asker = askers[idx] as Placed
        if (!alive.has(asker.key)) return
        const op: LookupOp = { kind: 'baseline-get', startMs: elapsed(), asker: idx, code, newestSeq: newest.get(code) ?? 1, ...unanswered('dht') }
        try {
          Object.assign(op, await call(asker.key, 'baselineGet', { node: asker.key, code, timeoutMs: s.workload.timeoutMs }))
        } catch (err) {
          op.error = (err as Error).name
        }
        baselineLookups.push(op)
        options.progress?.('baseline', ++bdone, plan.length)
      })
      for (const u of updates.slice(0, BASELINE_PUTS)) {
        const holder = cityNodes.find(c => c.code === u.code)
        if (holder === undefined || !alive.has(holder.key)) continue
        const startMs = elapsed()
        const r = await call(holder.key, 'baselinePut', { node: holder.key, timeoutMs: s.workload.timeoutMs }).catch(() => undefined)
        if (r?.done !== true) continue
        baselineUpdates.push({ kind: 'baseline-put', startMs, code: u.code, seq: r.seq, latencyMs: r.latencyMs, gossipReceiptsMs: [], dhtPeers: r.dhtPeers })
      }
    }

    const finished = await Promise.all(connections.map(async c => await c.call('finish', {})))
    finished.forEach((f, k) => { out(`shard ${k}: event-loop delay p99 ${f.loopDelayP99Ms.toFixed(0)} ms, max ${f.loopDelayMaxMs.toFixed(0)} ms`) })
    for (const u of updates) {
      if (u.seq === 0) continue
      for (const f of finished) for (const at of f.receipts[`${u.code}#${u.seq}`] ?? []) u.gossipReceiptsMs.push(at - u.startedAt)
    }
    const sum = (pick: (f: ShardMethods['finish']['result']) => number): number => finished.reduce((n, f) => n + pick(f), 0)
    return {
      scenario: s,
      nodes: all.length,
      cityNodes: cityNodes.length,
      adversaries: advIndices.length,
      setupMs,
      // revocation events run in single-process runs only (runner.ts)
      revocations: [],
      lookups,
      updates: updates.map(({ startedAt: _, ...u }) => u),
      baselineLookups,
      baselineUpdates,
      churn,
      partitionEvents: [],
      aliveOverTime,
      memory: { rssBytes: sum(f => f.rssBytes), heapBytes: sum(f => f.heapBytes) },
      cpu: { userMs: sum(f => f.userMs), systemMs: sum(f => f.systemMs), wallMs: performance.now() - t0 },
      clock: { kind: 'real', simulatedMs: performance.now() - t0 },
      gossipRejected: sum(f => f.gossipRejected),
      sharding: { shards, askerShard: askers.map(a => a.shard), codeShard: Object.fromEntries(cityNodes.map(c => [c.code as string, c.shard])) }
    }
  } finally {
    await Promise.allSettled(connections.map(async c => { await c.call('stop', {}) }))
    for (const c of connections) c?.close()
    await Promise.all(children.map(async child => {
      if (child.exitCode !== null || child.signalCode !== null) return
      await new Promise<void>(resolve => {
        const timer = setTimeout(() => { child.kill('SIGKILL') }, 15_000)
        child.once('exit', () => { clearTimeout(timer); resolve() })
      })
    }))
    server.close()
  }
}
