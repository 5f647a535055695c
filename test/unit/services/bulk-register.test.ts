import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { MemoryDatastore } from 'datastore-core'
import { authority } from '../../../src/services/authority/index.ts'
import { parseBatch } from '../../../src/core/allocation/batch.ts'
import type { BatchLine } from '../../../src/core/allocation/batch.ts'
import { BatchError } from '../../../src/core/errors.ts'
import type { LedgerEntry } from '../../../src/core/ledger/log.ts'
import { RecordValidator } from '../../../src/core/record/validator.ts'
import { BULK_CHUNK_LINES, registerBatch } from '../../../src/services/authority/bulk-register.ts'
import type { BulkProgress, BulkRegisterComponents } from '../../../src/services/authority/bulk-register.ts'
import { AllocationStore } from '../../../src/storage/allocation-store.ts'
import { LedgerStore } from '../../../src/storage/ledger-store.ts'
import { RecordStore } from '../../../src/storage/record-store.ts'
import { DAY_MS, hierarchy, NOW } from '../../utils/fixtures.ts'

const h = hierarchy()
const CITY = 'MA.156.1301'

function batch (n: number, name = (i: number): string => `Facility ${i}`): BatchLine[] {
  const text = Array.from({ length: n }, (_, i) => JSON.stringify({ number: String(i + 1).padStart(2, '0'), name: name(i), type: 'facility', values: { floor: String(i % 9) } })).join('\n')
  return parseBatch(text, 'jsonl', CITY)
}

async function setup (ledgerFault?: { failAppends: number }): Promise<{ c: BulkRegisterComponents, log: LedgerStore, records: RecordStore, allocations: AllocationStore, validator: RecordValidator }> {
  const ds = new MemoryDatastore()
  const log = await LedgerStore.open(ds)
  const records = new RecordStore(ds)
  const allocations = new AllocationStore(ds)
  const validator = new RecordValidator(h.anchors, { now: () => NOW })
  const c: BulkRegisterComponents = {
    namespace: CITY,
    signer: h.city,
    chain: h.chain,
    allocations,
    records,
    ledger: {
      appendMany: async (entries: readonly LedgerEntry[]) => {
        // a crash between a chunk's store batch and its ledger append
        if (ledgerFault !== undefined && ledgerFault.failAppends-- > 0) throw new Error('killed')
        return await log.append(entries)
      },
      holds: (entry) => log.has(entry)
    },
    validator,
    now: () => NOW,
    recordValidityMs: 7 * DAY_MS,
    recordTtlMs: 300_000
  }
  return { c, log, records, allocations, validator }
}

describe('bulk registration (issue #20)', () => {
  it('signs each sub-code by the city, stores and logs it, with progress per chunk', async () => {
    const { c, log, records, allocations, validator } = await setup()
    const lines = batch(BULK_CHUNK_LINES + 5)
    const seen: BulkProgress[] = []
    const report = await registerBatch(c, lines, { onProgress: (p) => seen.push(p) })
    assert.equal(report.registered, lines.length)
    assert.equal(report.already, 0)
    assert.deepEqual(seen.map(p => p.done), [BULK_CHUNK_LINES, BULK_CHUNK_LINES + 5])
    assert.equal(log.size, 2 * lines.length, 'an allocation and a record entry per line')
    for (const l of [lines[0], lines.at(-1)] as BatchLine[]) {
      const stored = await records.get('own', l.code)
      assert.ok(stored !== undefined)
      const verified = validator.validate(stored.bytes, l.code)
      assert.equal(verified.record.body.code, l.code)
      assert.deepEqual(verified.record.body.values, l.values)
      assert.equal((await allocations.get(l.code))?.name, l.name)
    }
  })

  it('re-run registers nothing twice and reports every line as already registered', async () => {
    const { c, log } = await setup()
    const lines = batch(50)
    await registerBatch(c, lines)
    const size = log.size
    const again = await registerBatch(c, lines)
    assert.equal(again.registered, 0)
    assert.equal(again.already, 50)
    assert.ok(again.outcomes.every(o => o.status === 'already'))
    assert.equal(log.size, size)
    // a file that grew: only the new lines are registered
    const more = await registerBatch(c, batch(60))
    assert.deepEqual([more.registered, more.already], [10, 50])
    assert.equal(log.size, size + 20)
  })

  it('after a crash before the ledger append, a re-run logs what is missing exactly once', async () => {
    const { c, log } = await setup({ failAppends: 1 })
    const lines = batch(30)
    await assert.rejects(registerBatch(c, lines), /killed/)
    assert.equal(log.size, 0)
    const again = await registerBatch(c, lines)
    assert.equal(again.already, 30)
    assert.equal(log.size, 60)
    await registerBatch(c, lines)
    assert.equal(log.size, 60)
    const codes = new Set<string>()
    for (const leaf of await log.entries(0, 60)) codes.add(Buffer.from(leaf).toString('hex'))
    assert.equal(codes.size, 60, 'no entry logged twice')
  })

  it('a line whose code is allocated under another name fails the whole batch before any write', async () => {
    const { c, log, records } = await setup()
    await registerBatch(c, batch(3))
    const size = log.size
    const lines = batch(10, (i) => i === 1 ? 'Someone else' : `Facility ${i}`)
    await assert.rejects(registerBatch(c, lines), (err: unknown) => {
      assert.ok(err instanceof BatchError)
      assert.deepEqual(err.lines.map(l => [l.line, l.error]), [[2, 'AllocationError']])
      return true
    })
    assert.equal(log.size, size)
    assert.equal(await records.get('own', lines[9]?.code as string), undefined)
  })

  it('check says what a write would do and writes nothing', async () => {
    const { c, log, records } = await setup()
    await registerBatch(c, batch(2))
    const report = await registerBatch(c, batch(5), { check: true })
    assert.deepEqual([report.registered, report.already], [3, 2])
    assert.equal(log.size, 4)
    assert.equal(await records.get('own', `${CITY}.05`), undefined)
  })
})

describe('bulk registration through the authority (issue #20)', () => {
  it('an absence proof signed before a batch is not served after it', async () => {
    const ds = new MemoryDatastore()
    const allocations = new AllocationStore(ds)
    const city = authority({ approval: 'manual' })({ namespace: CITY, signer: h.city, chain: h.chain, store: allocations, now: () => NOW, logger: defaultLogger() })
    assert.notEqual(await city.proveAbsence(`${CITY}.05`), undefined, 'not registered yet: proven absent')
    const log = await LedgerStore.open(ds)
    const c: BulkRegisterComponents = { namespace: CITY, signer: h.city, chain: h.chain, allocations, records: new RecordStore(ds), ledger: { appendMany: async (e) => await log.append(e), holds: (e) => log.has(e) }, validator: new RecordValidator(h.anchors, { now: () => NOW }), now: () => NOW, recordValidityMs: DAY_MS, recordTtlMs: 300_000 }
    await city.writeOwnBatch(async () => await registerBatch(c, batch(10)))
    assert.equal(await city.proveAbsence(`${CITY}.05`), undefined, 'registered: no proof of absence')
    assert.notEqual(await city.proveAbsence(`${CITY}.11`), undefined)
  })
})
