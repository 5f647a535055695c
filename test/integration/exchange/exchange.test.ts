import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryDatastore } from 'datastore-core'
import { startTestNetwork, eventually } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'
import type { CitycodeNode } from '../../../src/services/node/index.ts'
import { catalogueIdOf, contentIdOf, RAW, verifyExchangeLog } from '../../../src/core/index.ts'
import { revokeCertificate } from '../../../src/services/proof/revoke.ts'
import { BlockStore } from '../../../src/storage/block-store.ts'
import { ExchangeLogStore } from '../../../src/storage/exchange-store.ts'

function bytesOf (n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; out[i] = x >>> 24 }
  return out
}

function ns (node: CitycodeNode): string {
  return node.identity?.namespace as string
}

describe('data exchange between cities (/citycode/exchange/1.0.0)', function () {
  this.timeout(120_000)
  let net: TestNetwork
  let dir: string
  let provider: CitycodeNode
  let member: CitycodeNode
  let outsider: CitycodeNode

  before(async () => {
    net = await startTestNetwork(3)
    ;[provider, member, outsider] = net.cities as [CitycodeNode, CitycodeNode, CitycodeNode]
    dir = mkdtempSync(join(tmpdir(), 'citycode-exchange-'))
  })

  after(async () => {
    await net?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('an authorised fetch gets the dataset\'s exact bytes, checked block by block, and both sides log it', async () => {
    const data = bytesOf(3 * 262_144 + 12_345)
    const file = join(dir, 'water.bin')
    writeFileSync(file, data)
    const shared = await provider.exchange?.share({ path: file, name: 'water-quality', access: { kind: 'namespace', namespace: 'MA.156' }, mediaType: 'text/csv', licence: 'CC-BY-4.0' })
    assert.ok(shared !== undefined)
    assert.equal(shared.dataset.size, data.length)
    // the record now names the catalogue
    const own = await provider.held(ns(provider))
    assert.equal(catalogueIdOf(own?.record.body.values ?? [])?.toString(), shared.catalogue)

    const out = join(dir, 'fetched.bin')
    const result = await member.exchange?.fetch(ns(provider), 'water-quality', { out })
    assert.ok(result !== undefined)
    assert.deepEqual(new Uint8Array(readFileSync(out)), data)
    assert.equal(result.cid, shared.dataset.cid.toString())
    assert.equal(result.blocks, 5) // a dag-pb root and four raw leaves
    assert.equal(result.alreadyHeld, 0)
    assert.ok(result.receipts >= 2) // the catalogue's batch and the dataset's

    const fetched = await member.exchange?.log()
    assert.equal(fetched?.at(-1)?.role, 'fetched')
    assert.equal(fetched?.at(-1)?.dataset, 'water-quality')
    assert.equal(fetched?.at(-1)?.policy, 'MA.156')
    assert.ok(await eventually(async () => (await provider.exchange?.log())?.some(e => e.role === 'served' && e.requester === ns(member)) === true, 5000))
    const served = (await provider.exchange?.log())?.find(e => e.role === 'served' && e.requester === ns(member))
    assert.equal(served?.bytes, result.bytes)
    assert.equal((await provider.exchange?.verifyLog())?.entries, (await provider.exchange?.log())?.length)
    assert.equal((await member.exchange?.verifyLog())?.entries, fetched?.length)
  })
})
