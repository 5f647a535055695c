/**
 * Publishing with the authority ledger on vs off, same network, same run, interleaved.
 * Target (issue 6): the ledger adds < 10% to publish time.
 *
 * Two city nodes on one memory-transport network (root, country, the two cities) publish their own
 * record in turns: ledger on (every version appended to its Merkle log in the same datastore batch
 * path, heads signed at most once a second, announced on gossip and put in the DHT) and ledger off.
 * Rounds alternate which goes first; each round times `BENCH_PUBLISHES` publications per node.
 * Two modes: `full` awaits the DHT PUT (what `citycode publish` waits for); `local` returns once the
 * record is signed, checked, logged, stored, gossiped and pushed (the DHT PUT runs in the background),
 * which is where the ledger's own cost shows most. Reported: median per-publication time per round,
 * and the median of the per-round on/off ratios.
 */
import { median, writeResults } from './harness.ts'
import { startTestNetwork } from '../test/utils/citycode-network.ts'
import type { CitycodeNode } from '../src/services/node/index.ts'
import { tolerateStrayNetworkErrors } from '../src/network/stray-errors.ts'

const stray = tolerateStrayNetworkErrors()
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9)
const PUBLISHES = Number(process.env.BENCH_PUBLISHES ?? 25)
const TARGET_RATIO = 1.1

async function timePublishes (node: CitycodeNode, background: boolean, n: number): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await node.publishOwn([{ type: 'data', name: 'i', value: String(i) }], { background })
    times.push(performance.now() - t0)
  }
  return median(times)
}

async function measure (on: CitycodeNode, off: CitycodeNode, background: boolean): Promise<{ on: number[], off: number[], ratios: number[] }> {
  await timePublishes(on, background, 5)
  await timePublishes(off, background, 5)
  const out = { on: [] as number[], off: [] as number[], ratios: [] as number[] }
  for (let r = 0; r < ROUNDS; r++) {
    let a: number
    let b: number
    if (r % 2 === 0) {
      a = await timePublishes(on, background, PUBLISHES)
      b = await timePublishes(off, background, PUBLISHES)
    } else {
      b = await timePublishes(off, background, PUBLISHES)
      a = await timePublishes(on, background, PUBLISHES)
    }
    out.on.push(a)
    out.off.push(b)
    out.ratios.push(a / b)
  }
  return out
}

const net = await startTestNetwork(0)
try {
  const on = await net.add('city')
  const off = await net.add('city', { ledger: { enabled: false } })
  await on.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'Shijiazhuang', officialCode: '130100' })
  await off.apply({ namespace: 'MA.156', addr: net.addrOf(net.country) }, { name: 'Tangshan', officialCode: '130200' })
  const figures: Record<string, unknown> = { rounds: ROUNDS, publishesPerRound: PUBLISHES, targetRatio: TARGET_RATIO }
  console.log('ledger-publish: publication time with the ledger on vs off (same network, interleaved rounds, median of per-round ratios)')
  for (const [mode, background] of [['local', true], ['full', false]] as const) {
    const m = await measure(on, off, background)
    const ratio = median(m.ratios)
    figures[mode] = {
      publishMsOn: Number(median(m.on).toFixed(3)),
      publishMsOff: Number(median(m.off).toFixed(3)),
      ratio: Number(ratio.toFixed(3)),
      overheadPercent: Number(((ratio - 1) * 100).toFixed(1)),
      perRoundRatios: m.ratios.map(x => Number(x.toFixed(3)))
    }
    console.log(`  ${mode.padEnd(5)} on ${median(m.on).toFixed(3)} ms  off ${median(m.off).toFixed(3)} ms  ratio ${ratio.toFixed(3)} (target < ${TARGET_RATIO})`)
  }
  figures.ledgerEntries = on.ledger?.size
  figures.headsSigned = on.ledger?.counters.headsSigned
  console.log(`  the ledger node logged ${String(figures.ledgerEntries)} entries under ${String(figures.headsSigned)} signed heads`)
  console.log(`  wrote ${writeResults('ledger-publish', figures)}`)
} finally {
  await net.stop()
  if (stray.count > 0) console.log(`  (${stray.count} stray network failures ignored)`)
}
