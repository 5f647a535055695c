import assert from 'node:assert/strict'
import { parseBatch } from '../../../src/core/allocation/batch.ts'
import { encodeEntryBundle } from '../../../src/core/ledger/tiles.ts'
import { decodeLedgerRequest, encodeLedgerResponse, LEDGER_PROTOCOL, LEDGER_REQUEST_MAX_BYTES } from '../../../src/network/protocols/ledger.ts'
import { handleRequests } from '../../../src/network/rpc/index.ts'
import type { AuditLogState, AuditProgress, AuditStateStore } from '../../../src/services/ledger/index.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import { eventually, startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'

const batch = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => JSON.stringify({ number: String(from + i).padStart(2, '0'), name: `Facility ${from + i}`, type: 'facility', values: {} })).join('\n')

/** What the CLI keeps in its --state file, in memory. */
function memoryState (): AuditStateStore & { logs: Map<string, AuditLogState>, saves: number } {
  const logs = new Map<string, AuditLogState>()
  return {
    logs,
    saves: 0,
    load: (log) => logs.get(log),
    save (state) {
      this.saves++
      logs.set(state.log, structuredClone(state))
    }
  }
}

/** Issue #20 part 3: `audit` of a large log streamed into a frontier, with progress, resumable. */
describe('streaming, resumable audit of a large log', function () {
  this.timeout(300_000)
  let net: TestNetwork
  let city: CitycodeNode
  let auditor: CitycodeNode
  let code: string

  const settled = async (): Promise<void> => {
    const ledger = city.ledger
    assert.ok(ledger !== undefined && await eventually(() => ledger.head()?.sth.head.size === ledger.size, 20_000), 'a head covers every entry')
  }

  before(async () => {
    net = await startTestNetwork(1)
    city = net.cities[0] as CitycodeNode
    code = city.identity?.namespace as string
    await city.registerBatch(parseBatch(batch(1, 10_000), 'jsonl', code))
    await settled()
    auditor = await net.add('resolver')
    await auditor.knowAuthority({ namespace: 'MA', addr: net.addrOf(net.root) })
    await auditor.knowAuthority({ namespace: 'MA.156', addr: net.addrOf(net.country) })
  })
  after(async () => { await net?.stop() })

  it('an audit interrupted mid-pass goes on from its saved frontier, fetches only the rest, and ends checked against the signed root', async () => {
    const state = memoryState()
    const target = `${code}.5000`
    const stop = new AbortController()
    await assert.rejects(auditor.ledger!.audit(target, {
      state,
      signal: stop.signal,
      onProgress: (p) => { if (p.log === code && p.done >= 12_000) stop.abort() }
    }))
    const saved = state.logs.get(code)
    assert.ok(saved !== undefined && saved.size > 0 && saved.size < 12_000 && saved.head === undefined, `a mid-pass save: ${String(saved?.size)}`)

    const progress: AuditProgress[] = []
    const report = await auditor.ledger!.audit(target, { state, signal: AbortSignal.timeout(60_000), onProgress: (p) => progress.push(p) })
    assert.equal(report.ok, true, JSON.stringify(report.alarms))
    const cityLog = report.logs.find(l => l.log === code)
    assert.ok(cityLog !== undefined && cityLog.rootMatches && cityLog.entries === cityLog.head?.size && cityLog.inclusionFailed === 0, JSON.stringify(cityLog))
    const first = progress.find(p => p.log === code)
    assert.ok(first !== undefined && first.done <= saved.size + 256 && first.done > saved.size, 'the resumed pass starts after the saved frontier')
    assert.deepEqual(report.history.filter(h => h.log === code).map(h => [h.type, h.included]), [['allocation', true], ['record', true]])
    assert.ok(state.logs.get(code)?.head !== undefined, 'a whole pass saves the head it matched')
  })

  it('a later audit reads only what the log grew by; the head it ended on is checked against the new one', async () => {
    const state = memoryState()
    await auditor.ledger!.audit(code, { state })
    const before = state.logs.get(code)
    assert.ok(before?.head !== undefined)
    await city.registerBatch(parseBatch(batch(10_001, 10_300), 'jsonl', code))
    await settled()
    const progress: AuditProgress[] = []
    const report = await auditor.ledger!.audit(code, { state, onProgress: (p) => progress.push(p) })
    assert.equal(report.ok, true, JSON.stringify(report.alarms))
    const cityProgress = progress.filter(p => p.log === code)
    assert.ok(cityProgress.length > 0 && cityProgress.length <= 4, `${cityProgress.length} bundles for 600 new entries`)
    const audited = report.logs.find(l => l.log === code)
    assert.deepEqual(audited?.heads.find(h => h.source === 'resumed'), { source: 'resumed', size: before.size, time: audited?.heads.find(h => h.source === 'resumed')?.time, status: 'consistent' })
  })

  it('a saved frontier that was damaged costs a whole pass, not a false alarm against the log', async () => {
    const state = memoryState()
    await auditor.ledger!.audit(code, { state })
    const saved = state.logs.get(code) as AuditLogState
    const forged = [...saved.frontier]
    forged[0] = (forged[0] as string).replace(/^./, c => c === '0' ? '1' : '0')
    state.logs.set(code, { ...saved, frontier: forged, head: undefined })
    const progress: AuditProgress[] = []
    const report = await auditor.ledger!.audit(code, { state, onProgress: (p) => progress.push(p) })
    assert.equal(report.ok, true, JSON.stringify(report.alarms))
    assert.ok(progress.some(p => p.log === code && p.done <= 256), 'read again from the first entry')
    assert.deepEqual(state.logs.get(code)?.frontier, saved.frontier, 'the honest frontier saved again')
  })

  it('a node that serves entry bundles that are not its log is caught at the root', async () => {
    const ledger = city.ledger!
    const size = ledger.head()!.sth.head.size
    await city.libp2p.unhandle(LEDGER_PROTOCOL)
    await handleRequests(city.libp2p, LEDGER_PROTOCOL, async (bytes) => {
      const request = decodeLedgerRequest(bytes)
      switch (request.op) {
        case 'get-head': return encodeLedgerResponse({ status: 'head', record: ledger.head()!.bytes })
        case 'get-inclusion': return encodeLedgerResponse({ status: 'inclusion', proof: ledger.inclusionProof(request.index, request.size), leaf: (await ledger.entries(request.index, request.index + 1))[0]! })
        case 'get-consistency': return encodeLedgerResponse({ status: 'consistency', proof: ledger.consistencyProof(request.oldSize, request.newSize) })
        case 'get-tile': {
          const from = request.tile.index * 256
          const leaves = await ledger.entries(from, from + request.tile.width)
          // bundle 40 swaps two entries: every leaf is real, the order is not the log's
          if (request.tile.index === 40) [leaves[3], leaves[4]] = [leaves[4]!, leaves[3]!]
          return encodeLedgerResponse({ status: 'tile', data: encodeEntryBundle(leaves) })
        }
        default: return encodeLedgerResponse({ status: 'refused', error: new Error('no') })
      }
    }, { maxRequestBytes: LEDGER_REQUEST_MAX_BYTES })
    const report = await auditor.ledger!.audit(code, { signal: AbortSignal.timeout(60_000) })
    assert.equal(report.ok, false)
    assert.ok(report.alarms.some(a => a.log === code && a.kind === 'entries-mismatch'), JSON.stringify(report.alarms))
    assert.ok(size > 40 * 256)
  })
})
