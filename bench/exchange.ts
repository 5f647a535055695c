/**
 * Data exchange (issue #19) against a raw libp2p stream on the same connection, same run.
 * Targets: a large transfer at >= 0.8x the raw stream's throughput (issue: 64 MB; BENCH_MB sets the
 * size, default 8 so it runs on a shared machine), and an authorised 1 KB fetch (connection open,
 * catalogue and chain cached) within one round trip plus one signature check of a bare
 * request/response on a new stream.
 *
 * A root, a country and two cities on loopback TCP (noise, yamux), in this process. The raw case
 * writes the same file's bytes in 256 KiB writes on a new stream of the same connection and the
 * reader counts them; the exchange case fetches the dataset (signed request per 64 blocks, every
 * block hash-checked and put in the requester's block store), whose blocks are deleted before each
 * round so every round moves every byte. Rounds alternate which case goes first.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import type { Datastore } from 'interface-datastore'
import type { Stream } from '@libp2p/interface'
import { createCitycodeNode } from '../src/services/node/index.ts'
import type { CitycodeNode, CitycodeNodeInit } from '../src/services/node/index.ts'
import { blockLinks } from '../src/services/exchange/content.ts'
import { BlockStore } from '../src/storage/block-store.ts'
import { handleRequests, sendRequest } from '../src/network/rpc/index.ts'
import { tolerateStrayNetworkErrors } from '../src/network/stray-errors.ts'
import { median, quantile, writeResults } from './harness.ts'
import { seededSigner } from '../test/utils/fixtures.ts'

const stray = tolerateStrayNetworkErrors()
const MB = Number(process.env.BENCH_MB ?? 8)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SMALL_ROUNDS = Number(process.env.BENCH_SMALL_ROUNDS ?? 200)
const TARGET_THROUGHPUT_RATIO = 0.8
const RAW_PROTOCOL = '/citycode-bench/raw/1.0.0'
const ECHO_PROTOCOL = '/citycode-bench/echo/1.0.0'
const CHUNK = 262_144

async function network (): Promise<{ provider: CitycodeNode, requester: CitycodeNode, all: CitycodeNode[] }> {
  const rootKey = seededSigner(1)
  const anchors = [{ name: 'bench-root', namespace: 'MA', keys: [rootKey.publicKey], threshold: 1 }]
  const keys = [seededSigner(5001), seededSigner(5002), seededSigner(5003)]
  const all: CitycodeNode[] = []
  const add = async (role: CitycodeNodeInit['role'], authorityKey: CitycodeNodeInit['authorityKey'], bootstrap: string[]): Promise<CitycodeNode> => {
    const node = await createCitycodeNode({
      role,
      anchors,
      datastore: new MemoryDatastore() as Datastore,
      peerKey: await generateKeyPair('Ed25519'),
      authorityKey,
      rootNamespace: 'MA',
      network: { transport: 'tcp', listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap },
      authority: { approval: 'auto', preapproved: keys.map(k => ({ key: k.publicKey })) }
    })
    all.push(node)
    return node
  }
  const addr = (n: CitycodeNode): string => (n.addresses[0] as { toString: () => string }).toString()
  const root = await add('root', rootKey, [])
  await root.publishOwn([], { background: true })
  const country = await add('country', keys[0], [addr(root)])
  await country.apply({ namespace: 'MA', addr: addr(root) }, { name: 'China', officialCode: 'CN' })
  await country.publishOwn([], { background: true })
  const cities = await Promise.all(['130100', '130200'].map(async (official, i) => {
    const city = await add('city', keys[i + 1], [addr(root), addr(country)])
    await city.apply({ namespace: 'MA.156', addr: addr(country) }, { name: `City ${official}`, officialCode: official })
    await city.publishOwn([], { background: true })
    return city
  }))
  return { provider: cities[0] as CitycodeNode, requester: cities[1] as CitycodeNode, all }
}

function bytesOf (n: number): Uint8Array {
  const out = new Uint8Array(n)
  let x = 7
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; out[i] = x >>> 24 }
  return out
}

async function readAll (stream: Stream): Promise<number> {
  let n = 0
  for await (const chunk of stream) n += chunk.byteLength
  return n
}

async function main (): Promise<void> {
  console.log(`exchange: fetch of a ${MB} MB dataset vs a raw libp2p stream of the same bytes on the same TCP connection (${ROUNDS} rounds); authorised 1 KB fetch vs a bare request/response (${SMALL_ROUNDS} rounds)`)
  const dir = mkdtempSync(join(tmpdir(), 'citycode-bench-exchange-'))
  const { provider, requester, all } = await network()
  try {
    const data = bytesOf(MB * 1024 * 1024)
    const file = join(dir, 'large.bin')
    writeFileSync(file, data)
    const shared = await provider.exchange?.share({ path: file, name: 'large', access: { kind: 'namespace', namespace: 'MA.156' } })
    if (shared === undefined) throw new Error('the provider shares nothing')
    writeFileSync(join(dir, 'small.bin'), bytesOf(1024))
    await provider.exchange?.share({ path: join(dir, 'small.bin'), name: 'small', access: { kind: 'namespace', namespace: 'MA.156' } })
    await provider.libp2p.handle(RAW_PROTOCOL, async (stream) => {
      for (let at = 0; at < data.length; at += CHUNK) {
        if (!stream.send(data.subarray(at, at + CHUNK))) await stream.onDrain()
      }
      await stream.close()
    })
    await handleRequests(provider.libp2p, ECHO_PROTOCOL, async (request) => request)
    const requesterCode = requester.identity?.namespace as string
    const providerCode = provider.identity?.namespace as string
    await requester.libp2p.dial(provider.addresses[0] as never)
    const blocks = new BlockStore(requester.datastore)
    const root = shared.dataset.cid
    const leaves = blockLinks(root, await new BlockStore(provider.datastore).getBlock(root))
    const forget = async (): Promise<void> => { for (const cid of [root, ...leaves]) await blocks.delete(cid) }
    // warm-up: resolve, catalogue, chain caches, TCP windows
    await requester.exchange?.fetch(providerCode, 'large')
    await forget()
    await readAll(await requester.libp2p.dialProtocol(provider.peerId, RAW_PROTOCOL))

    const raw: number[] = []
    const exchange: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      for (const which of r % 2 === 0 ? ['raw', 'exchange'] : ['exchange', 'raw']) {
        const t0 = performance.now()
        if (which === 'raw') {
          const n = await readAll(await requester.libp2p.dialProtocol(provider.peerId, RAW_PROTOCOL))
          if (n !== data.length) throw new Error(`raw stream moved ${n} bytes`)
          raw.push(data.length / ((performance.now() - t0) / 1000))
        } else {
          const got = await requester.exchange?.fetch(providerCode, 'large')
          if (got?.blocks !== leaves.length + 1) throw new Error(`fetch moved ${got?.blocks ?? 0} blocks`)
          exchange.push(data.length / ((performance.now() - t0) / 1000))
          await forget()
        }
      }
    }
    const ratios = raw.map((x, i) => (exchange[i] as number) / x)

    // small: 1 KB dataset, held catalogue, open connection; against one request/response on a new stream
    const smallCid = (await provider.exchange?.shares())?.find(s => s.dataset.name === 'small')?.dataset.cid
    if (smallCid === undefined) throw new Error('no small dataset')
    await requester.exchange?.fetch(providerCode, 'small')
    const bare: number[] = []
    const small: number[] = []
    const payload = bytesOf(1024)
    for (let r = 0; r < SMALL_ROUNDS; r++) {
      await blocks.delete(smallCid)
      const t0 = performance.now()
      await sendRequest(requester.libp2p, provider.peerId, ECHO_PROTOCOL, payload)
      const t1 = performance.now()
      await requester.exchange?.fetch(providerCode, 'small')
      small.push(performance.now() - t1)
      bare.push(t1 - t0)
    }
    const figures = {
      megabytes: MB,
      rounds: ROUNDS,
      rawMBps: raw.map(x => x / 1e6),
      exchangeMBps: exchange.map(x => x / 1e6),
      throughputRatio: median(ratios),
      throughputTarget: TARGET_THROUGHPUT_RATIO,
      throughputMet: median(ratios) >= TARGET_THROUGHPUT_RATIO,
      small: {
        rounds: SMALL_ROUNDS,
        bareRequestMs: { p50: median(bare), p95: quantile(bare, 0.95) },
        fetchMs: { p50: median(small), p95: quantile(small, 0.95) },
        extraMs: median(small) - median(bare)
      },
      requester: requesterCode,
      provider: providerCode
    }
    console.log(`raw ${median(raw.map(x => x / 1e6)).toFixed(1)} MB/s, exchange ${median(exchange.map(x => x / 1e6)).toFixed(1)} MB/s: ratio ${figures.throughputRatio.toFixed(2)} (target >= ${TARGET_THROUGHPUT_RATIO})`)
    console.log(`1 KB: bare request p50 ${figures.small.bareRequestMs.p50.toFixed(2)} ms, authorised fetch p50 ${figures.small.fetchMs.p50.toFixed(2)} ms (+${figures.small.extraMs.toFixed(2)} ms)`)
    console.log(`wrote ${writeResults('exchange', figures)}`)
  } finally {
    await Promise.allSettled(all.map(async n => { await n.stop() }))
    rmSync(dir, { recursive: true, force: true })
    if (stray.count > 0) console.log(`  (${stray.count} stray network failures ignored)`)
  }
}

await main()
