import { recordKey } from '../../core/record/dht-key.ts'
import type { CitycodeNode } from '../../services/node/index.ts'
import { addDhtEvent, emptyCost } from '../../network/message-cost.ts'
import type { MessageCost } from '../../network/message-cost.ts'

/**
 * The operations a simulated node performs, shared by the single-process runner and the shard
 * processes, so both measure exactly the same thing: a citycode resolution, and the baseline's
 * plain kad-dht GET and PUT of the same record.
 */
/** The baseline replays the workload's lookups this many at a time, after the workload. */
export const BASELINE_CONCURRENCY = 8
/** Plain PUTs timed for the baseline: the first updates of the run. */
export const BASELINE_PUTS = 20

/** How one lookup went; `peersAsked`, `messages` and `bytes` are its cost on the wire (message-cost.ts). */
export interface LookupResult extends MessageCost { ok: boolean, latencyMs: number, source: string, seq: number, error: string }
export interface PutResult { done: boolean, seq: number, latencyMs: number, dhtPeers: number }

/** A lookup result before anything answered. */
export function unanswered (source: string): LookupResult {
  return { ok: false, latencyMs: 0, source, seq: 0, error: '', ...emptyCost() }
}

/** `dhtOnly`: the DHT fallback alone (scenario `workload.path: "dht"`). */
export async function resolveLookup (node: CitycodeNode, code: string, timeoutMs: number, dhtOnly = false): Promise<LookupResult> {
  const r = unanswered('')
  const t = performance.now()
  try {
    const answer = await node.resolve(code, { signal: AbortSignal.timeout(timeoutMs), cost: r, ...(dhtOnly ? { dhtOnly, fresh: true } : {}) })
    r.ok = true
    r.source = answer.source
    r.seq = answer.verified.record.body.seq
  } catch (err) {
    r.error = (err as Error).name
  }
  r.latencyMs = performance.now() - t
  return r
}

/** Plain kad-dht GET: every value verified, the newest valid seq kept (found = any valid value). */
export async function baselineGet (node: CitycodeNode, code: string, timeoutMs: number): Promise<LookupResult> {
  const r = unanswered('dht')
  const t = performance.now()
  const key = recordKey(code)
  try {
    for await (const e of node.libp2p.services.dht.get(key, { signal: AbortSignal.timeout(timeoutMs) })) {
      addDhtEvent(r, e, key.byteLength)
      if (e.name !== 'VALUE') continue
      try {
        const v = node.validator.validate(e.value, code)
        r.ok = true
        r.seq = Math.max(r.seq, v.record.body.seq)
      } catch {}
    }
  } catch (err) {
    r.error = (err as Error).name
  }
  r.latencyMs = performance.now() - t
  return r
}

/** Plain kad-dht PUT of the holder's current record of `code`; `done: false` when it holds none. */
export async function baselinePut (node: CitycodeNode, code: string, timeoutMs: number): Promise<PutResult> {
  const own = await node.held(code)
  if (own === undefined) return { done: false, seq: 0, latencyMs: 0, dhtPeers: 0 }
  let dhtPeers = 0
  const t = performance.now()
  try {
    for await (const e of node.libp2p.services.dht.put(recordKey(code), own.record.bytes, { signal: AbortSignal.timeout(timeoutMs) })) {
      if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE') dhtPeers++
    }
  } catch {}
  return { done: true, seq: own.record.body.seq, latencyMs: performance.now() - t, dhtPeers }
}

/** Runs `fn` over `items`, `size` at a time (the baseline replays lookups with bounded concurrency). */
export async function inBatches<T> (items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn))
}
