import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { multiaddr } from '@multiformats/multiaddr'
import { fromString, toString } from 'uint8arrays'
import { decodeRecord } from '../../core/record/record.ts'
import { RECORDS_TOPIC } from '../../network/gossip/record-updates.ts'
import { tolerateStrayNetworkErrors } from '../../network/stray-errors.ts'
import { makeAdversary } from './adversaries.ts'
import { scenarioLinkModel } from './link-model.ts'
import { buildShard } from './network-builder.ts'
import type { ShardNetwork, SimNode } from './network-builder.ts'
import { citiesFor } from './runner.ts'
import { JsonLines, ShardError, epochMs } from './shard-protocol.ts'
import type { FromShard, MethodName, ShardMethods, ShardNodeInfo, ToShard } from './shard-protocol.ts'
import { baselineGet, baselinePut, resolveLookup } from './operations.ts'
import { ShardAddressBook, shardTransport } from './shard-transport.ts'

export interface ShardInit {
  /** The coordinator's control address. */
  coordinator: { host: string, port: number }
  shard: number
  /** Host the nodes listen on for other shards: 127.0.0.1 on one machine, the pod IP in a cluster. */
  listenHost: string
  /** How long to keep trying to reach the coordinator (it may start after the shards in a cluster). */
  connectTimeoutMs: number
  log?: (line: string) => void
}

type Handlers = { [M in MethodName]: (params: ShardMethods[M]['params']) => Promise<ShardMethods[M]['result']> }

async function connectWithRetry (host: string, port: number, deadline: number): Promise<Socket> {
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = connect({ host, port })
        socket.once('connect', () => { socket.removeAllListeners('error'); resolve(socket) })
        socket.once('error', reject)
      })
    } catch (err) {
      if (Date.now() > deadline) throw new ShardError(`cannot reach the coordinator at ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { field: 'coordinator' })
      await new Promise(resolve => setTimeout(resolve, 500))
    }
  }
}

/**
 * One shard process: connects to the coordinator, builds the slice of the network it is given and
 * carries out the operations the coordinator schedules, until told to stop. Resolves with the exit
 * code (0 after `stop`, 1 when the coordinator went away).
 */
export async function runShard (init: ShardInit): Promise<number> {
  const log = init.log ?? (() => {})
  tolerateStrayNetworkErrors()
  const socket = await connectWithRetry(init.coordinator.host, init.coordinator.port, Date.now() + init.connectTimeoutMs)
  let net: ShardNetwork | undefined
  const byKey = new Map<string, SimNode>()
  const alive = new Set<SimNode>()
  const receipts: Record<string, number[]> = {}
  let rssBefore = 0
  let cpu0 = process.cpuUsage()
  const stopAdversaries: Array<() => void> = []
  // a shard whose event loop lags answers its peers late: the coordinator reports it
  const loopDelay = monitorEventLoopDelay({ resolution: 20 })
  loopDelay.enable()
  let finished: (code: number) => void = () => {}
  const done = new Promise<number>(resolve => { finished = resolve })

  const node = (key: string): SimNode => {
    const n = byKey.get(key)
    if (n === undefined) throw new ShardError(`shard ${init.shard} has no node ${key}`, { shard: init.shard })
    return n
  }
  const stopAll = async (): Promise<number> => {
    for (const stop of stopAdversaries) stop()
    const count = net?.nodes.length ?? 0
    await net?.stop()
    net = undefined
    return count
  }

  const listenForReceipts = (n: SimNode): void => {
    n.node.libp2p.services.pubsub.addEventListener('message', (evt) => {
      if (evt.detail.topic !== RECORDS_TOPIC) return
      try {
        const body = decodeRecord(evt.detail.data).body
        const k = `${body.code}#${body.seq}`
        ;(receipts[k] ??= []).push(epochMs())
      } catch {}
    })
  }
  let proceedNow: () => void = () => {}
  const proceed = new Promise<void>(resolve => { proceedNow = resolve })

  const handlers: Handlers = {
    build: async (p) => {
      const s = p.scenario
      const cities = citiesFor(s)
      const prefix = `sim-${process.pid}-${Date.now()}-s${p.shard}`
      const book = new ShardAddressBook(prefix)
      const links = scenarioLinkModel(s, cities)
      globalThis.gc?.()
      rssBefore = process.memoryUsage().rss
      cpu0 = process.cpuUsage()
      net = await buildShard({
        cities,
        resolvers: p.resolvers,
        transport: 'memory',
        encryption: s.encryption,
        customTransport: (name, city) => shardTransport(book, links?.transport(name, city)),
        dialsPerNode: s.dialsPerNode,
        seed: s.seed,
        lean: s.lean,
        ledger: s.ledger,
        concurrency: s.concurrency,
        prefix,
        resolverInit: { timeoutMs: s.workload.timeoutMs, directTimeoutMs: Math.min(2_000, s.workload.timeoutMs / 3) },
        adversaries: s.adversaries === undefined ? undefined : { indices: new Set(p.adversaries), behaviour: s.adversaries.behaviour },
        onProgress: (n, total) => { lines.send({ type: 'progress', phase: 'build', done: n, total }) },
        onWarning: (message) => { log(`shard ${p.shard}: ${message}`) }
      }, {
        cityIndices: p.cityIndices,
        tcpListen: `/ip4/${init.listenHost}/tcp/0`,
        ...(p.authorities !== undefined ? { authorities: p.authorities } : {}),
        onAuthorities: (authorities) => { lines.send({ type: 'authorities', authorities }) },
        beforeCities: async () => { await proceed }
      })
      const infos: ShardNodeInfo[] = []
      const cityIndexOf = new Map(net.cities.map((c, k) => [c, net?.cityIndices[k] as number]))
      let resolvers = 0
      for (const n of net.nodes) {
        const key = n.role === 'root'
          ? 'root'
          : n.role === 'country'
            ? `country:${n.code ?? ''}`
            : n.role === 'city' ? `city:${cityIndexOf.get(n) ?? -1}` : `resolver:${p.shard}:${resolvers++}`
        byKey.set(key, n)
        alive.add(n)
        infos.push({ key, role: n.role, addr: n.addr, adversary: n.behaviour !== undefined, ...(n.code !== undefined ? { code: n.code } : {}), ...(n.tcpAddr !== undefined ? { tcpAddr: n.tcpAddr } : {}), ...(n.role === 'city' ? { cityIndex: cityIndexOf.get(n) as number } : {}) })
        listenForReceipts(n)
      }
      const firstRecords: Record<string, string> = {}
      if (s.adversaries !== undefined) {
        for (const c of net.cities) {
          const own = await c.node.held(c.code as string)
          if (own !== undefined) firstRecords[c.code as string] = toString(own.record.bytes, 'base64')
        }
      }
      return { nodes: infos, firstRecords }
    },
    proceed: async () => {
      proceedNow()
      return {}
    },
    dial: async (p) => {
      let connected = 0
      const queue = [...p.dials]
      const worker = async (): Promise<void> => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          const [from, to] = next
          try {
            await node(from).node.libp2p.dial(multiaddr(to), { signal: AbortSignal.timeout(10_000) })
            connected++
          } catch {}
        }
      }
      await Promise.all(Array.from({ length: 16 }, worker))
      return { connected }
    },
    adversaries: async (p) => {
      const firstSeen = new Map(Object.entries(p.firstSeen).map(([code, b64]) => [code, fromString(b64, 'base64')]))
      let installed = 0
      for (const c of net?.cities ?? []) {
        if (c.behaviour === undefined) continue
        stopAdversaries.push(await makeAdversary(c, c.behaviour, firstSeen))
        installed++
      }
      return { installed }
    },
    lookup: async (p) => await resolveLookup(node(p.node).node, p.code, p.timeoutMs, p.dhtOnly),
    baselineGet: async (p) => await baselineGet(node(p.node).node, p.code, p.timeoutMs),
    update: async (p) => {
      const holder = node(p.node)
      const startedAt = epochMs()
      const t = performance.now()
      let seq = 0
      try {
        const result = await holder.node.publishOwn([{ type: 'data', name: 'version', value: p.version }], { background: true })
        seq = result.record.body.seq
      } catch {}
      return { seq, latencyMs: performance.now() - t, startedAt }
    },
    baselinePut: async (p) => {
      const holder = node(p.node)
      if (!alive.has(holder)) return { done: false, seq: 0, latencyMs: 0, dhtPeers: 0 }
      return await baselinePut(holder.node, holder.code as string, p.timeoutMs)
    },
    kill: async (p) => {
      const victim = node(p.node)
      if (!alive.has(victim)) return { killed: false }
      alive.delete(victim)
      if (p.graceful) await victim.node.publisher.stop()
      try { await victim.node.libp2p.stop() } catch {}
      return { killed: true }
    },
    rejoin: async (p) => {
      const sim = node(p.node)
      if (alive.has(sim) || sim.rejoin === undefined) return sim.tcpAddr !== undefined ? { tcpAddr: sim.tcpAddr } : {}
      await sim.rejoin()
      listenForReceipts(sim)
      alive.add(sim)
      return sim.tcpAddr !== undefined ? { tcpAddr: sim.tcpAddr } : {}
    },
    finish: async () => {
      const cpu = process.cpuUsage(cpu0)
      globalThis.gc?.()
      const mem = process.memoryUsage()
      return {
        receipts,
        rssBytes: mem.rss - rssBefore,
        heapBytes: mem.heapUsed,
        userMs: cpu.user / 1000,
        systemMs: cpu.system / 1000,
        gossipRejected: (net?.nodes ?? []).reduce((sum, n) => sum + n.node.gossip.rejected, 0),
        loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
        loopDelayMaxMs: loopDelay.max / 1e6
      }
    },
    stop: async () => {
      loopDelay.disable()
      const stopped = await stopAll()
      setImmediate(() => { finished(0) })
      return { stopped }
    }
  }

  const lines = new JsonLines<ToShard, FromShard>(socket, (msg) => {
    if (msg.type !== 'call') return
    const handler = handlers[msg.method] as ((params: unknown) => Promise<unknown>) | undefined
    if (handler === undefined) {
      lines.send({ type: 'reply', id: msg.id, error: `unknown method ${String(msg.method)}` })
      return
    }
    handler(msg.params).then(
      (result) => { lines.send({ type: 'reply', id: msg.id, result }) },
      (err: Error) => { lines.send({ type: 'reply', id: msg.id, error: `${err.name}: ${err.message}` }) }
    )
  })
  let gone = false
  const coordinatorGone = (): void => {
    if (gone) return
    gone = true
    if (net === undefined) { finished(0); return }
    log(`shard ${init.shard}: the coordinator went away; stopping`)
    void stopAll().then(() => { finished(1) })
  }
  socket.on('end', coordinatorGone)
  socket.on('close', coordinatorGone)
  socket.on('error', () => {})
  lines.send({ type: 'hello', shard: init.shard, pid: process.pid })
  const code = await done
  lines.close()
  return code
}
