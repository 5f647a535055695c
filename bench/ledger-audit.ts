/**
 * Auditing a country's log of 10,000 entries from another node (issue 6 target: < 2 s).
 *
 * A country authority on a memory-transport network holds a log of `BENCH_AUDIT_ENTRIES` entries
 * (allocations and record versions) under a signed head; a resolver node runs the same audit as
 * `citycode audit MA.156`: fetch the head and every entry over `/citycode/ledger/1.0.0`, rebuild the
 * tree, check the root, the inclusion of every entry and the consistency of every head it holds.
 * The baseline, measured in the same run and interleaved, is the least any audit must do: rebuild
 * the Merkle tree of the same leaf bytes already in memory. The ratio says what fetching, decoding and
 * proving cost on top.
 */
import { sha256 } from '../src/core/crypto/hash.ts'
import { MerkleLog } from '../src/core/ledger/log.ts'
import { tolerateStrayNetworkErrors } from '../src/network/stray-errors.ts'
import { startTestNetwork } from '../test/utils/citycode-network.ts'
import { median, writeResults } from './harness.ts'

const stray = tolerateStrayNetworkErrors()
const ENTRIES = Number(process.env.BENCH_AUDIT_ENTRIES ?? 10_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const TARGET_MS = 2_000

const net = await startTestNetwork(0)
try {
  const country = net.country
  const ledger = country.ledger
  if (ledger === undefined) throw new Error('the country node has no ledger')
  const t0 = performance.now()
  for (let i = ledger.size; i < ENTRIES; i++) {
    const code = `MA.156.${String(1001 + (i % 8999)).padStart(4, '0')}`
    const object = sha256(new TextEncoder().encode(`certificate ${i}`))
    await ledger.append(i % 5 === 4 ? { type: 'record', code, seq: i, time: Date.now(), object } : { type: 'allocation', code, time: Date.now(), object })
  }
  await ledger.signHead()
  const fillMs = performance.now() - t0
  const leaves = await ledger.entries(0, ledger.size)
  const auditor = await net.add('resolver')
  await auditor.knowAuthority({ namespace: 'MA', addr: net.addrOf(net.root) })
  console.log(`ledger-audit: auditing a log of ${ledger.size} entries from another node vs rebuilding its tree from memory (filled in ${(fillMs / 1000).toFixed(1)} s)`)

  const auditMs: number[] = []
  const baselineMs: number[] = []
  let lastReport: Awaited<ReturnType<typeof ledger.audit>> | undefined
  for (let r = -1; r < ROUNDS; r++) {
    const a0 = performance.now()
    const report = await auditor.ledger?.audit('MA.156', { signal: AbortSignal.timeout(60_000) })
    const a = performance.now() - a0
    const b0 = performance.now()
    const tree = new MerkleLog()
    for (const leaf of leaves) tree.appendLeaf(leaf)
    tree.root()
    const b = performance.now() - b0
    if (report === undefined) throw new Error('the auditor has no ledger')
    const log = report.logs.find(l => l.log === 'MA.156')
    if (log === undefined || !log.rootMatches || log.entries !== ledger.size || log.inclusionFailed > 0) {
      throw new Error(`the audit did not check the whole log: ${JSON.stringify(log)}`)
    }
    lastReport = report
    if (r < 0) continue // warm-up
    auditMs.push(a)
    baselineMs.push(b)
  }
  const audit = median(auditMs)
  const baseline = median(baselineMs)
  const log = lastReport?.logs.find(l => l.log === 'MA.156')
  const figures = {
    entries: ledger.size,
    rounds: ROUNDS,
    auditMs: Number(audit.toFixed(1)),
    baselineTreeRebuildMs: Number(baseline.toFixed(1)),
    ratioToBaseline: Number((audit / baseline).toFixed(2)),
    targetMs: TARGET_MS,
    withinTarget: audit < TARGET_MS,
    perRoundAuditMs: auditMs.map(x => Number(x.toFixed(1))),
    inclusionChecked: log?.inclusionChecked,
    headsChecked: log?.heads.length
  }
  console.log(`  audit ${audit.toFixed(1)} ms (target < ${TARGET_MS} ms: ${audit < TARGET_MS ? 'met' : 'NOT met'})  tree rebuild ${baseline.toFixed(1)} ms  ratio ${(audit / baseline).toFixed(2)}`)
  console.log(`  ${String(log?.inclusionChecked)} inclusions checked, ${String(log?.heads.length)} heads compared`)
  console.log(`  wrote ${writeResults('ledger-audit', figures)}`)
} finally {
  await net.stop()
  if (stray.count > 0) console.log(`  (${stray.count} stray network failures ignored)`)
}
