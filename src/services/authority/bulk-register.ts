import type { BatchLine } from '../../core/allocation/batch.ts'
import { sha256 } from '../../core/crypto/hash.ts'
import type { Signer } from '../../core/crypto/signature.ts'
import { AllocationError, BatchError } from '../../core/errors.ts'
import type { LedgerEntry } from '../../core/ledger/log.ts'
import { createRecord, decodeRecord } from '../../core/record/record.ts'
import type { SignedRecord } from '../../core/record/record.ts'
import type { RecordValidator } from '../../core/record/validator.ts'
import type { Allocation, AllocationStore } from '../../storage/allocation-store.ts'
import type { RecordStore } from '../../storage/record-store.ts'

/** Lines written per datastore batch and ledger append: one head covers each chunk, memory stays bounded. */
export const BULK_CHUNK_LINES = 1_000

export interface BulkRegisterComponents {
  namespace: string
  signer: Signer
  chain: readonly Uint8Array[]
  allocations: AllocationStore
  records: RecordStore
  ledger?: {
    appendMany: (entries: readonly LedgerEntry[]) => Promise<number>
    holds: (entry: Pick<LedgerEntry, 'type' | 'code' | 'object'>) => boolean
  }
  validator: RecordValidator
  now: () => number
  recordValidityMs: number
  recordTtlMs: number
}

export interface BulkProgress {
  done: number
  total: number
  registered: number
  already: number
}

export interface BulkLineOutcome {
  line: number
  code: string
  status: 'registered' | 'already'
}

export interface BulkRegisterOptions {
  onProgress?: (p: BulkProgress) => void
  /** Only check the lines against what is allocated (the first pass) and say what a write would do. */
  check?: boolean
}

export interface BulkReport {
  total: number
  registered: number
  already: number
  outcomes: BulkLineOutcome[]
}

/**
 * Registers a checked batch of sub-codes held by the city itself (SPEC "Bulk registration"): each
 * one an own allocation and a record signed by the city's key under the city's chain, logged. Two
 * passes: the first reads what is already allocated and refuses the whole batch if a line
 * conflicts with it, the second writes in chunks. Re-running a batch, also after a crash between
 * a chunk's store batch and its ledger append, registers nothing twice and logs what is missing.
 */
export async function registerBatch (c: BulkRegisterComponents, lines: readonly BatchLine[], options: BulkRegisterOptions = {}): Promise<BulkReport> {
  const existing = new Map<string, Allocation>()
  const bad: Array<{ line: number, error: string, message: string }> = []
  for (const l of lines) {
    const a = await c.allocations.get(l.code)
    if (a === undefined) continue
    if (a.name !== l.name) bad.push({ line: l.line, error: AllocationError.name, message: `${l.code} is already allocated to "${a.name}"` })
    else existing.set(l.code, a)
  }
  if (bad.length > 0) throw new BatchError(`${bad.length} line(s) conflict with allocations, nothing registered:\n${bad.slice(0, 20).map(b => `  line ${b.line}: ${b.message}`).join('\n')}`, bad)

  const report: BulkReport = { total: lines.length, registered: 0, already: 0, outcomes: [] }
  if (options.check === true) {
    for (const l of lines) report.outcomes.push({ line: l.line, code: l.code, status: existing.has(l.code) ? 'already' : 'registered' })
    report.already = existing.size
    report.registered = lines.length - existing.size
    return report
  }
  const certificate = c.chain.at(-1) ?? new Uint8Array(0)
  const certificateHash = sha256(certificate)
  let checked = false
  for (let from = 0; from < lines.length; from += BULK_CHUNK_LINES) {
    const chunk = lines.slice(from, from + BULK_CHUNK_LINES)
    const now = c.now()
    const allocations: Allocation[] = []
    const records: Array<{ code: string, bytes: Uint8Array }> = []
    const entries: LedgerEntry[] = []
    for (const l of chunk) {
      let record: SignedRecord | undefined
      if (existing.has(l.code)) {
        const stored = await c.records.get('own', l.code)
        if (stored !== undefined) record = decodeRecord(stored.bytes)
        report.already++
        report.outcomes.push({ line: l.line, code: l.code, status: 'already' })
      } else {
        allocations.push({ code: l.code, subject: c.signer.publicKey, name: l.name, officialCode: null, certificate, allocatedAt: now })
        report.registered++
        report.outcomes.push({ line: l.line, code: l.code, status: 'registered' })
      }
      if (record === undefined) {
        record = createRecord({ code: l.code, seq: 1, issuedAt: now, expiresAt: now + c.recordValidityMs, ttl: c.recordTtlMs, prev: null, values: l.values }, c.signer, c.chain)
        // every record of the batch has the same signer and chain: verifying the first with the
        // rules every node applies proves the chain once, instead of once per line
        if (!checked) { c.validator.validate(record, l.code); checked = true }
        records.push({ code: l.code, bytes: record.bytes })
      }
      const allocation: LedgerEntry = { type: 'allocation', code: l.code, time: now, object: certificateHash }
      const logged: LedgerEntry = { type: 'record', code: l.code, seq: record.body.seq, time: record.body.issuedAt, object: sha256(record.bytes) }
      if (c.ledger !== undefined) {
        if (!c.ledger.holds(allocation)) entries.push(allocation)
        if (!c.ledger.holds(logged)) entries.push(logged)
      }
    }
    // records before allocations: an allocation found on re-run may lack its record (made then), never the reverse lie
    if (records.length > 0) await c.records.putMany('own', records, now)
    if (allocations.length > 0) await c.allocations.putOwnMany(allocations)
    if (entries.length > 0) await c.ledger?.appendMany(entries)
    options.onProgress?.({ done: from + chunk.length, total: lines.length, registered: report.registered, already: report.already })
  }
  return report
}
