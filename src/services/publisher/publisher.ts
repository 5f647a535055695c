import { sha256 } from '../../core/crypto/hash.ts'
import { createRecord, decodeRecord } from '../../core/record/record.ts'
import type { SignedRecord } from '../../core/record/record.ts'
import type { RecordValue } from '../../core/record/values.ts'
import { isDirectoryCode, parseCode } from '../../core/code/grammar.ts'
import { isCitycodeError } from '../../core/errors.ts'
import { PublishError } from '../errors.ts'
import { deadlineSignal } from '../../network/deadline.ts'
import { DEFAULT_PUSH_RETRY_FIRST_DELAY_MS, DEFAULT_PUSH_RETRY_FOR_MS, DEFAULT_RECORD_TTL_MS, DEFAULT_RECORD_VALIDITY_MS, DEFAULT_REPUBLISH_BATCH, DEFAULT_REPUBLISH_INTERVAL_MS, PUSH_RETRY_MAX_DELAY_MS } from './index.ts'
import type { Publisher, PublisherComponents, PublisherInit, PublishOptions, PublishResult, RepublishReport } from './index.ts'
import type { AbortOptions, Logger } from '@libp2p/interface'

const DHT_PUT_TIMEOUT_MS = 30_000
const PUSH_TIMEOUT_MS = 5_000

export class PublisherService implements Publisher {
  private readonly c: PublisherComponents
  private readonly validityMs: number
  private readonly ttlMs: number
  private readonly republishIntervalMs: number
  private readonly log: Logger
  private timer: ReturnType<typeof setInterval> | undefined
  /** Versions of one code are signed one at a time, so two publishes never reuse a seq. */
  private queue: Promise<unknown> = Promise.resolve()
  private readonly background = new Set<Promise<unknown>>()
  /** Aborted on stop: background DHT puts must not hold a stopping node for their full deadline. */
  private stopping = new AbortController()
  private readonly pushRetryFirstDelayMs: number
  private readonly pushRetryForMs: number
  /** Codes whose latest version the parent has not taken yet, each with its next retry. */
  private readonly pushRetries = new Map<string, { timer: ReturnType<typeof setTimeout>, attempt: number, until: number }>()
  private readonly republishBatch: number
  /** The last sub-code re-sent to the DHT: the next republish goes on after it, wrapping around. */
  private batchCursor: string | undefined

  constructor (init: PublisherInit, components: PublisherComponents) {
    this.c = components
    this.validityMs = init.recordValidityMs ?? DEFAULT_RECORD_VALIDITY_MS
    this.ttlMs = init.ttlMs ?? DEFAULT_RECORD_TTL_MS
    this.republishIntervalMs = init.republishIntervalMs ?? DEFAULT_REPUBLISH_INTERVAL_MS
    this.pushRetryFirstDelayMs = init.pushRetryFirstDelayMs ?? DEFAULT_PUSH_RETRY_FIRST_DELAY_MS
    this.pushRetryForMs = init.pushRetryForMs ?? DEFAULT_PUSH_RETRY_FOR_MS
    this.republishBatch = init.republishBatch ?? DEFAULT_REPUBLISH_BATCH
    this.log = components.logger.forComponent('citycode:publisher')
  }

  async start (): Promise<void> {
    this.stopping = new AbortController()
    this.timer = setInterval(() => {
      this.republish().catch(err => { this.log.error('republish failed: %s', (err as Error).message) })
    }, this.republishIntervalMs)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    for (const retry of this.pushRetries.values()) clearTimeout(retry.timer)
    this.pushRetries.clear()
    this.stopping.abort()
    await Promise.allSettled([...this.background])
  }

  parentReachable (): void {
    if (this.stopping.signal.aborted) return
    // a retry waiting for its timer goes now: the parent serves the older version until it has it
    for (const [code, retry] of this.pushRetries) {
      clearTimeout(retry.timer)
      const p = this.retryPush(code, retry.attempt, retry.until)
      this.background.add(p)
      void p.finally(() => this.background.delete(p))
    }
  }

  async publish (code: string, values: RecordValue[], options: PublishOptions = {}): Promise<PublishResult> {
    return await this.send(await this.sign(parseCode(code).text, values), options)
  }

  /** Signs and stores the next version of `canonical`. */
  private async sign (canonical: string, values: readonly RecordValue[]): Promise<SignedRecord> {
    return await this.serialised(async () => {
      const previous = await this.c.store.get('own', canonical)
      const prev = previous === undefined ? undefined : decodeRecord(previous.bytes)
      const now = this.c.now()
      const next = createRecord({
        code: canonical,
        seq: prev === undefined ? 1 : prev.body.seq + 1,
        issuedAt: now,
        expiresAt: now + this.validityMs,
        ttl: this.ttlMs,
        prev: previous === undefined ? null : sha256(previous.bytes),
        values: [...values]
      }, this.c.signer(), this.c.chain())
      // kad-dht does not refuse a local PUT of an invalid value: check here, with the same rules every
      // other node applies, so a record that others would refuse is never stored or sent.
      try {
        this.c.validator.validate(next, canonical)
      } catch (err) {
        throw new PublishError(`record for ${canonical} would not verify: ${(err as Error).message}`, { code: canonical, cause: isCitycodeError(err) ? err.name : 'Error' })
      }
      await this.c.store.put('own', canonical, next.bytes, now)
      return next
    })
  }

  async republish (options: AbortOptions = {}): Promise<RepublishReport> {
    const report: RepublishReport = { records: 0, resigned: 0, dhtPuts: 0, gossiped: 0, pushed: 0 }
    const own = this.c.ownCode?.()
    /**
     * The next sub-codes after the cursor in code order, wrapping around: the `republishBatch`
     * smallest codes above the cursor, then the smallest from the start. Bounded memory, and one
     * comparison a record when the store lists in key order (as a level datastore does).
     */
    const after: SignedRecord[] = []
    const before: SignedRecord[] = []
    for await (const entry of this.c.store.list('own')) {
      let record = decodeRecord(entry.bytes)
      report.records++
      if (record.body.expiresAt - this.c.now() < this.validityMs / 2) {
        // the same values signed again: nothing a cache holds changes, so no announcement for a sub-code
        record = await this.sign(entry.code, record.body.values)
        report.resigned++
      }
      if (own === undefined || entry.code === own || isDirectoryCode(entry.code)) {
        await this.send(record, options, report)
        continue
      }
      keepSmallest(this.batchCursor === undefined || entry.code > this.batchCursor ? after : before, record, this.republishBatch)
    }
    for (const record of [...after, ...before].slice(0, this.republishBatch)) {
      if (options.signal?.aborted === true) break
      await this.put(record, options.signal)
      report.dhtPuts++
      this.batchCursor = record.body.code
    }
    return report
  }

  private async send (record: SignedRecord, options: PublishOptions, report?: RepublishReport): Promise<PublishResult> {
    if (changesCaches(record)) {
      await this.c.targets.gossip(record.bytes).catch(err => { this.log('gossip of %s failed: %s', record.body.code, (err as Error).message) })
      if (report !== undefined) report.gossiped++
    }
    const own = this.c.ownCode?.()
    // the parent keeps its direct children's records, not their sub-codes: those it would refuse
    if (this.c.targets.push !== undefined && (own === undefined || record.body.code === own)) {
      const code = record.body.code
      const delivered = await this.pushOnce(record.bytes, options.signal)
      if (report !== undefined) report.pushed++
      // a new version starts its own retries; one delivered ends the older version's
      const pending = this.pushRetries.get(code)
      if (pending !== undefined) clearTimeout(pending.timer)
      this.pushRetries.delete(code)
      if (!delivered) this.schedulePushRetry(code, 1, performance.now() + this.pushRetryForMs)
    }
    if (report !== undefined) report.dhtPuts++
    if (options.background === true) {
      const p = this.put(record, this.stopping.signal)
      this.background.add(p)
      void p.finally(() => this.background.delete(p))
      return { record, dhtPeers: 0 }
    }
    return { record, dhtPeers: await this.put(record, options.signal) }
  }

  /** PUTs to the DHT within its deadline; the number of peers that stored it, 0 when it failed. */
  private async put (record: SignedRecord, signal?: AbortSignal): Promise<number> {
    const deadline = deadlineSignal(DHT_PUT_TIMEOUT_MS, signal)
    try {
      return await this.c.targets.dhtPut(record.body.code, record.bytes, { signal: deadline.signal })
    } catch (err) {
      this.log('DHT put of %s failed: %s', record.body.code, (err as Error).message)
      return 0
    } finally {
      deadline.clear()
    }
  }

  /** Whether the push is settled: delivered, or refused by the parent (not worth a retry). */
  private async pushOnce (bytes: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    const push = this.c.targets.push
    if (push === undefined) return true
    const deadline = deadlineSignal(PUSH_TIMEOUT_MS, signal)
    try {
      await push(bytes, { signal: deadline.signal })
      return true
    } catch (err) {
      this.log('push of %s to the parent failed: %s', decodeRecord(bytes).body.code, (err as Error).message)
      // the parent answered and refused: sending the same bytes again changes nothing
      const details = (err as { details?: Record<string, unknown> }).details
      return details?.remote === true || details?.remoteName !== undefined
    } finally {
      deadline.clear()
    }
  }

  private schedulePushRetry (code: string, attempt: number, until: number): void {
    const delay = Math.min(PUSH_RETRY_MAX_DELAY_MS, this.pushRetryFirstDelayMs * 2 ** (attempt - 1))
    if (this.stopping.signal.aborted || performance.now() + delay > until) {
      this.log('giving up pushing %s to the parent after %d attempts', code, attempt)
      return
    }
    const timer = setTimeout(() => {
      const p = this.retryPush(code, attempt, until)
      this.background.add(p)
      void p.finally(() => this.background.delete(p))
    }, delay)
    timer.unref()
    this.pushRetries.set(code, { timer, attempt, until })
  }

  /** Pushes the latest stored version of `code` again (a newer one may have been published since). */
  private async retryPush (code: string, attempt: number, until: number): Promise<void> {
    if (this.pushRetries.get(code)?.attempt !== attempt) return
    this.pushRetries.delete(code)
    const stored = await this.c.store.get('own', code)
    if (stored === undefined || this.stopping.signal.aborted) return
    if (await this.pushOnce(stored.bytes, this.stopping.signal)) {
      this.log('push of %s settled on attempt %d', code, attempt + 1)
      return
    }
    // a publication in the meantime started its own retries
    if (!this.pushRetries.has(code)) this.schedulePushRetry(code, attempt + 1, until)
  }

  private async serialised<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => undefined)
    return await run
  }
}

/**
 * Gossip announces changes. Resolvers cache a city-level (or deeper) code only once they have
 * resolved it, and nobody can have resolved a code before its first version, so the first version
 * of such a code updates no cache: it goes to the parent (push) and the DHT (PUT) only. Every node
 * receiving and verifying every new city's first record was the largest cost of building a
 * 1000-city network (docs/SIMULATION.md). A resolver that cached the code's absence keeps it until
 * the absence's TTL runs out, as with DNS negative caching. Authority-level records (root, countries)
 * are kept by every node as its directory, so their first versions are gossiped too.
 */
function changesCaches (record: SignedRecord): boolean {
  return record.body.seq > 1 || isDirectoryCode(record.body.code)
}

/** Keeps `list` the `max` records of smallest code seen so far, in code order. */
function keepSmallest (list: SignedRecord[], record: SignedRecord, max: number): void {
  const code = record.body.code
  const last = list.at(-1)
  if (list.length >= max && last !== undefined && code >= last.body.code) return
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((list[mid] as SignedRecord).body.code < code) lo = mid + 1
    else hi = mid
  }
  list.splice(lo, 0, record)
  if (list.length > max) list.pop()
}
