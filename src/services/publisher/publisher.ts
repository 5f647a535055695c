import { sha256 } from '../../core/crypto/hash.ts'
import { createRecord, decodeRecord } from '../../core/record/record.ts'
import type { SignedRecord } from '../../core/record/record.ts'
import type { RecordValue } from '../../core/record/values.ts'
import { parseCode } from '../../core/code/grammar.ts'
import { isCitycodeError } from '../../core/errors.ts'
import { PublishError } from '../errors.ts'
import { deadlineSignal } from '../../network/deadline.ts'
import { DEFAULT_RECORD_TTL_MS, DEFAULT_RECORD_VALIDITY_MS, DEFAULT_REPUBLISH_INTERVAL_MS } from './index.ts'
import type { Publisher, PublisherComponents, PublisherInit, PublishOptions, PublishResult } from './index.ts'
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

  constructor (init: PublisherInit, components: PublisherComponents) {
    this.c = components
    this.validityMs = init.recordValidityMs ?? DEFAULT_RECORD_VALIDITY_MS
    this.ttlMs = init.ttlMs ?? DEFAULT_RECORD_TTL_MS
    this.republishIntervalMs = init.republishIntervalMs ?? DEFAULT_REPUBLISH_INTERVAL_MS
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
    this.stopping.abort()
    await Promise.allSettled([...this.background])
  }

  async publish (code: string, values: RecordValue[], options: PublishOptions = {}): Promise<PublishResult> {
    const canonical = parseCode(code).text
    const record = await this.serialised(async () => {
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
        values
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
    return await this.send(record, options)
  }

  async republish (options: AbortOptions = {}): Promise<number> {
    let count = 0
    for await (const entry of this.c.store.list('own')) {
      const record = decodeRecord(entry.bytes)
      const remaining = record.body.expiresAt - this.c.now()
      if (remaining < this.validityMs / 2) {
        await this.publish(entry.code, [...record.body.values], options)
      } else {
        await this.send(record, options)
      }
      count++
    }
    return count
  }

  private async send (record: SignedRecord, options: PublishOptions): Promise<PublishResult> {
    await this.c.targets.gossip(record.bytes).catch(err => { this.log('gossip of %s failed: %s', record.body.code, (err as Error).message) })
    if (this.c.targets.push !== undefined) {
      const deadline = deadlineSignal(PUSH_TIMEOUT_MS, options.signal)
      await this.c.targets.push(record.bytes, { signal: deadline.signal })
        .catch(err => { this.log('push of %s to the parent failed: %s', record.body.code, (err as Error).message) })
        .finally(() => { deadline.clear() })
    }
    const put = async (signal = options.signal): Promise<number> => {
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
    if (options.background === true) {
      const p = put(this.stopping.signal)
      this.background.add(p)
      void p.finally(() => this.background.delete(p))
      return { record, dhtPeers: 0 }
    }
    return { record, dhtPeers: await put() }
  }

  private async serialised<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => undefined)
    return await run
  }
}

