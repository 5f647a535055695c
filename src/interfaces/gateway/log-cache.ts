import { ResolveTimeoutError } from '../../services/errors.ts'
import type { Ledger, VerifiedLog } from '../../services/ledger/index.ts'

/**
 * Verified log reads, reused for a few seconds and shared by concurrent requests: reading a log is
 * one request per 256 entries to the log's node, too much to repeat for every page view.
 */
export class LogCache {
  private readonly entries = new Map<string, { at: number, read: Promise<VerifiedLog> }>()
  private readonly ledger: Ledger
  private readonly ttlMs: number
  private readonly timeoutMs: number

  constructor (ledger: Ledger, ttlMs: number, timeoutMs: number) {
    this.ledger = ledger
    this.ttlMs = ttlMs
    this.timeoutMs = timeoutMs
  }

  async read (log: string): Promise<VerifiedLog> {
    const now = Date.now()
    const hit = this.entries.get(log)
    if (hit !== undefined && now - hit.at < this.ttlMs) return await hit.read
    // its own deadline, not one request's signal: concurrent requests share this read
    const signal = AbortSignal.timeout(this.timeoutMs)
    const read = this.ledger.readLog(log, { signal }).catch((err: unknown) => {
      // whatever failed first once time ran out, the answer is that the network was too slow
      if (signal.aborted) throw new ResolveTimeoutError(`the log of ${log} could not be read within ${this.timeoutMs} ms`, { code: log, timeoutMs: this.timeoutMs })
      throw err
    })
    this.entries.set(log, { at: now, read })
    read.catch(() => { if (this.entries.get(log)?.read === read) this.entries.delete(log) })
    if (this.entries.size > 1024) this.entries.delete(this.entries.keys().next().value as string)
    return await read
  }
}
