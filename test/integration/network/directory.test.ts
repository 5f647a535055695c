import assert from 'node:assert/strict'
import { lpStream } from '@libp2p/utils'
import { encodeCbor } from '../../../src/core/index.ts'
import { decodeRecord } from '../../../src/core/record/record.ts'
import { emptyCost } from '../../../src/network/message-cost.ts'
import { DIRECTORY_PROTOCOL } from '../../../src/network/protocols/directory.ts'
import { startTestNetwork } from '../../utils/citycode-network.ts'
import type { TestNetwork } from '../../utils/citycode-network.ts'
import { startStockPeer } from '../../utils/stock-peer.ts'
import type { StockPeer } from '../../utils/stock-peer.ts'

describe('directory sync at start (/citycode/directory/1.0.0)', function () {
  this.timeout(120_000)
  let net: TestNetwork
  const stock: StockPeer[] = []
  before(async () => { net = await startTestNetwork(2) })
  after(async () => {
    await Promise.allSettled(stock.map(async p => { await p.stop() }))
    await net?.stop()
  })

  it('a node started after the countries published holds their records at once: its first lookup into a country asks one peer, not the root first', async () => {
    const late = await net.add('resolver', { network: { transport: 'memory', listen: [], bootstrap: [net.addrOf(net.root)] } })
    assert.equal(late.resolver.cached('MA.156')?.record.body.code, 'MA.156', 'the country record came with the directory')
    assert.equal(late.resolver.cached('MA')?.record.body.code, 'MA', 'and the root\'s own')
    const cost = emptyCost()
    const code = net.cities[0]!.identity!.namespace
    const res = await late.resolve(code, { cost })
    assert.equal(res.verified.record.body.code, code)
    assert.equal(cost.peersAsked, 1, 'one question, to the country, none to the root first')
  })

  it('a stock peer answering with a forged country record and a city record: neither is kept, the forgery is counted', async () => {
    const { peer } = await startStockPeer({ transport: 'memory', listen: [`/memory/dir-liar-${process.pid}`] })
    stock.push(peer)
    const country = decodeRecord((await net.country.held('MA.156'))!.record.bytes)
    const body = Uint8Array.from(country.bodyBytes)
    body[body.length - 5] = (body[body.length - 5] as number) ^ 1
    const forged = encodeCbor({ body, sig: country.sig, chain: [...country.chain] })
    const city = (await net.cities[0]!.held(net.cities[0]!.identity!.namespace))!.record.bytes
    await peer.handle(DIRECTORY_PROTOCOL, async (stream) => {
      const lp = lpStream(stream)
      await lp.read()
      await lp.write(encodeCbor({ v: 1, records: [forged, city] }))
      await stream.close()
    })
    const addr = `${peer.getMultiaddrs()[0]!.toString()}`
    const fooled = await net.add('resolver', { network: { transport: 'memory', listen: [], bootstrap: [addr] } })
    assert.equal(fooled.resolver.cached('MA.156'), undefined, 'the forged country record was not taken')
    assert.equal(fooled.resolver.cached(net.cities[0]!.identity!.namespace), undefined, 'a city record is no directory record')
    assert.ok([...fooled.rejections.keys()].some(k => k.startsWith('directory:')), `counted: ${[...fooled.rejections.keys()].join(', ')}`)
  })
})
