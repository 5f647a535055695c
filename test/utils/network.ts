import { generateKeyPair } from '@libp2p/crypto/keys'
import { NotFoundError } from '@libp2p/interface'
import type { AbortOptions } from '@libp2p/interface'
import { Record } from '@libp2p/kad-dht'
import { MemoryDatastore } from 'datastore-core'
import { createCitycodeLibp2p, routingTableSize } from '../../src/network/node/index.ts'
import type { CitycodeLibp2p, CitycodeLibp2pInit } from '../../src/network/node/index.ts'
import { deadlineSignal } from '../../src/network/deadline.ts'

/**
 * A harness of n real libp2p nodes built by the citycode factory on the memory transport, in this
 * process. Addresses carry the pid and a per-run counter, so suites (and parallel mocha workers)
 * never collide in @libp2p/memory's process-wide address table.
 */

export const DEFAULT_START_TIMEOUT_MS = 20_000
export const DEFAULT_DIALS_PER_NODE = 3
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000

export interface StartNetworkOptions {
  /** Validator for every node unless `node(i)` overrides it. @default accepts everything */
  validateRecord?: CitycodeLibp2pInit['validateRecord']
  /** Selector for every node unless `node(i)` overrides it. @default the first value */
  selectRecord?: CitycodeLibp2pInit['selectRecord']
  /** Per-node overrides of the factory's init (validators, clientMode, tuning...). */
  node?: (index: number) => Partial<CitycodeLibp2pInit>
  /** Random peers each node dials besides its ring neighbour. @default DEFAULT_DIALS_PER_NODE */
  dialsPerNode?: number
  /** Routing-table peers every node must have before `startNetwork` returns. @default min(n - 1, 2) */
  minRoutingTablePeers?: number
  /** Bound on the whole start (nodes, dials, routing tables). @default DEFAULT_START_TIMEOUT_MS */
  timeoutMs?: number
}

export interface TestNetwork {
  nodes: CitycodeLibp2p[]
  /** Each node's datastore (kad-dht keeps the records it holds under `/dht/record/`). */
  datastores: MemoryDatastore[]
  stop(): Promise<void>
}

let run = 0
const running = new Set<CitycodeLibp2p>()

export async function startNetwork (n: number, options: StartNetworkOptions = {}): Promise<TestNetwork> {
  const prefix = `citycode-net-${process.pid}-${run++}-${Math.random().toString(36).slice(2, 8)}`
  const deadline = deadlineSignal(options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS)
  const nodes: CitycodeLibp2p[] = []
  const datastores: MemoryDatastore[] = []
  const stop = async (): Promise<void> => { await stopNodes(nodes) }
  try {
    for (let i = 0; i < n; i++) {
      const datastore = new MemoryDatastore()
      const node = await createCitycodeLibp2p({
        privateKey: await generateKeyPair('Ed25519'),
        datastore,
        transport: 'memory',
        listen: [`/memory/${prefix}-${i}`],
        validateRecord: options.validateRecord ?? (async () => {}),
        selectRecord: options.selectRecord ?? (() => 0),
        ...options.node?.(i)
      })
      running.add(node)
      nodes.push(node)
      datastores.push(datastore)
    }
    await connect(nodes, options.dialsPerNode ?? DEFAULT_DIALS_PER_NODE, deadline.signal)
    const minPeers = Math.min(n - 1, options.minRoutingTablePeers ?? 2)
    const filled = await waitFor(() => nodes.every(node => routingTableSize(node.services.dht) >= minPeers), deadline.signal)
    if (!filled) {
      const sizes = nodes.map(node => routingTableSize(node.services.dht)).join(', ')
      throw new Error(`routing tables did not reach ${minPeers} peers in time (sizes: ${sizes})`)
    }
    return { nodes, datastores, stop }
  } catch (err) {
    await stop()
    throw err
  } finally {
    deadline.clear()
  }
}

/** Stops the nodes of `network`, or every node the harness started and has not stopped yet. */
export async function stopNetwork (network?: TestNetwork): Promise<void> {
  await stopNodes(network?.nodes ?? [...running])
}

async function stopNodes (nodes: CitycodeLibp2p[]): Promise<void> {
  await Promise.allSettled(nodes.map(async node => {
    running.delete(node)
    await node.stop()
  }))
}

/** Each node dials its ring successor (so the graph is connected) and `extra` random others. */
async function connect (nodes: CitycodeLibp2p[], extra: number, signal: AbortSignal): Promise<void> {
  const dials: Array<Promise<unknown>> = []
  nodes.forEach((node, i) => {
    const targets = new Set<number>()
    if (nodes.length > 1) targets.add((i + 1) % nodes.length)
    const others = nodes.length - 1
    while (targets.size < Math.min(others, extra + 1)) {
      const j = Math.floor(Math.random() * nodes.length)
      if (j !== i) targets.add(j)
    }
    for (const j of targets) {
      const addr = (nodes[j] as CitycodeLibp2p).getMultiaddrs()[0]
      if (addr !== undefined) dials.push(node.dial(addr, { signal }))
    }
  })
  await Promise.all(dials)
}

/** Polls `check` every `stepMs` until it holds (true) or the signal aborts (false). */
export async function waitFor (check: () => boolean | Promise<boolean>, signal: AbortSignal, stepMs = 25): Promise<boolean> {
  while (!signal.aborted) {
    if (await check()) return true
    await new Promise(resolve => setTimeout(resolve, stepMs))
  }
  return await check()
}

/** `waitFor` with its own deadline. */
export async function waitUntil (check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = deadlineSignal(ms)
  try {
    return await waitFor(check, deadline.signal)
  } finally {
    deadline.clear()
  }
}

export interface QueryOptions extends AbortOptions {
  /** @default DEFAULT_QUERY_TIMEOUT_MS */
  timeoutMs?: number
}

/**
 * kad-dht PUT with a deadline (a query can hang with nothing pending). Returns the peers that
 * stored the value. No local validation: the local copy is stored whatever the node's validator says.
 */
export async function dhtPut (node: CitycodeLibp2p, key: Uint8Array, value: Uint8Array, options: QueryOptions = {}): Promise<string[]> {
  const deadline = deadlineSignal(options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS, options.signal)
  const stored: string[] = []
  try {
    for await (const event of node.services.dht.put(key, value, { signal: deadline.signal })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') stored.push(event.from.toString())
    }
    return stored
  } finally {
    deadline.clear()
  }
}

/** kad-dht GET with a deadline: the value the node's selector picked, or undefined when none was found. */
export async function dhtGet (node: CitycodeLibp2p, key: Uint8Array, options: QueryOptions = {}): Promise<Uint8Array | undefined> {
  const deadline = deadlineSignal(options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS, options.signal)
  let found: Uint8Array | undefined
  try {
    // kad-dht yields only the selected value, once the whole query has finished
    for await (const event of node.services.dht.get(key, { signal: deadline.signal })) {
      if (event.name === 'VALUE') found = event.value
    }
    return found
  } catch (err) {
    if (err instanceof NotFoundError || (err as Error).name === 'NotFoundError') return found
    throw err
  } finally {
    deadline.clear()
  }
}

/** The records a node's kad-dht holds (its `/dht/record/` datastore entries), whoever put them. */
export async function heldRecords (datastore: MemoryDatastore): Promise<Array<{ key: string, value: Uint8Array }>> {
  const held: Array<{ key: string, value: Uint8Array }> = []
  for await (const entry of datastore.query({ prefix: '/dht/record' })) {
    const record = Record.deserialize(entry.value)
    held.push({ key: new TextDecoder().decode(record.key), value: record.value })
  }
  return held
}
