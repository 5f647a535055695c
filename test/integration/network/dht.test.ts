import assert from 'node:assert/strict'
import { equals } from 'uint8arrays/equals'
import { DHT_PROTOCOL } from '../../../src/network/node/index.ts'
import { dhtGet, dhtPut, heldRecords, startNetwork, stopNetwork } from '../../utils/network.ts'
import type { TestNetwork } from '../../utils/network.ts'

/**
 * kad-dht under /citycode/kad/1.0.0 with injected validator and selector, on 9 memory nodes.
 * Values are `[version, ...utf8 text]`; a first byte of 0xff marks a forgery honest validators
 * refuse. Node 0 is a liar whose validator accepts everything; nodes 6-8 also refuse to roll the
 * `SEL` key back below version 5 in their validators (every node's store refuses it anyway: a held
 * value is replaced only by one the selector prefers).
 */
const N = 9
const LIAR = 0
const NO_ROLLBACK = new Set([6, 7, 8])
const FORGED = 0xff

class RejectedValueError extends Error {
  static override name = 'RejectedValueError'
  override name = 'RejectedValueError'
  readonly code = 'ERR_REJECTED_VALUE'
}

const encoder = new TextEncoder()
const key = (code: string): Uint8Array => encoder.encode(`/citycode/r/${code}`)
const value = (version: number, text: string): Uint8Array => Uint8Array.from([version, ...encoder.encode(text)])
const SEL = key('MA.156.1309')

describe('kad-dht with injected validator and selector (9 memory nodes)', function () {
  this.timeout(60_000)
  let net: TestNetwork
  const rejected: Array<{ node: number, key: string }> = []
  let selections = 0

  before(async () => {
    net = await startNetwork(N, {
      // newest version wins: the index of the value with the highest first byte
      selectRecord: (_key, values) => {
        selections++
        return values.reduce((best, v, i) => ((v[0] ?? 0) > (values[best]?.[0] ?? 0) ? i : best), 0)
      },
      node: (i) => ({
        validateRecord: i === LIAR
          ? async () => {}
          : async (k, v) => {
            const refuse = v[0] === FORGED || (NO_ROLLBACK.has(i) && equals(k, SEL) && (v[0] ?? 0) < 5)
            if (refuse) {
              rejected.push({ node: i, key: new TextDecoder().decode(k) })
              throw new RejectedValueError(`node ${i} refuses this value`)
            }
          }
      })
    })
  })

  after(async () => { await stopNetwork(net) })

  it('serves the DHT under /citycode/kad/1.0.0', () => {
    for (const node of net.nodes) {
      assert.ok(node.getProtocols().includes(DHT_PROTOCOL))
      assert.equal(node.services.dht.getMode(), 'server')
    }
  })

  it('a value put by one node is got by another', async () => {
    const k = key('MA.156.1301')
    const v = value(1, 'Shijiazhuang')
    const stored = await dhtPut(net.nodes[1]!, k, v)
    assert.ok(stored.length >= 3, `stored on ${stored.length} peers`)
    const got = await dhtGet(net.nodes[5]!, k)
    assert.ok(got !== undefined && equals(got, v), 'node 5 gets what node 1 put')
  })

  it('a local put of an invalid value does not throw, but remote validators refuse it', async () => {
    const k = key('MA.156.1302')
    const forged = value(FORGED, 'forged locally')
    // kad-dht stores a local PUT without validating it: publishers must validate first
    await dhtPut(net.nodes[4]!, k, forged)
    assert.ok((await heldRecords(net.datastores[4]!)).some(r => r.key === '/citycode/r/MA.156.1302'), 'kept locally')
    for (let i = 1; i < N; i++) {
      if (i === 4) continue
      assert.ok(!(await heldRecords(net.datastores[i]!)).some(r => r.key === '/citycode/r/MA.156.1302'), `node ${i} refused it`)
    }
  })

  it('a PUT from a peer whose validator accepts anything is not stored by peers that reject the value', async () => {
    const forgedKey = key('MA.156.1303')
    const before = rejected.length
    await dhtPut(net.nodes[LIAR]!, forgedKey, value(FORGED, 'forged by the liar'))
    const refusals = rejected.slice(before).filter(r => r.key === '/citycode/r/MA.156.1303')
    assert.ok(refusals.length >= 3, `honest validators threw ${refusals.length} times`)
    for (let i = 1; i < N; i++) {
      assert.ok(!(await heldRecords(net.datastores[i]!)).some(r => r.key === '/citycode/r/MA.156.1303'), `node ${i} did not store it`)
    }
    // the liar still serves it from its own store; an honest getter drops it on its validator
    assert.equal(await dhtGet(net.nodes[2]!, forgedKey), undefined)

    // control: the same liar's valid value is stored by honest peers
    const validKey = key('MA.156.1304')
    await dhtPut(net.nodes[LIAR]!, validKey, value(1, 'valid from the liar'))
    let holders = 0
    for (let i = 1; i < N; i++) {
      if ((await heldRecords(net.datastores[i]!)).some(r => r.key === '/citycode/r/MA.156.1304')) holders++
    }
    assert.ok(holders >= 3, `valid value held by ${holders} honest peers`)
  })

  it('the injected selector decides what a held value may be replaced by, and what a GET picks', async () => {
    await dhtPut(net.nodes[1]!, SEL, value(9, 'version 9'))
    const heldBy = async (i: number): Promise<number | undefined> => (await heldRecords(net.datastores[i]!)).find(r => r.key === '/citycode/r/MA.156.1309')?.value[0]
    const holders: number[] = []
    for (let i = 0; i < N; i++) if (await heldBy(i) === 9) holders.push(i)
    assert.ok(holders.length >= 3, `version 9 held by ${holders.length} nodes`)
    // a put of version 1 is refused by every remote store holding 9 and skipped by the putter's own
    const acknowledged = await dhtPut(net.nodes[2]!, SEL, value(1, 'version 1'))
    for (const peer of acknowledged) {
      const i = net.nodes.findIndex(n => n.peerId.toString() === peer)
      assert.ok(!holders.includes(i), `node ${i}, which held 9, acknowledged version 1`)
    }
    for (const i of holders) assert.equal(await heldBy(i), 9, `node ${i} kept version 9`)
    const selectionsBefore = selections
    const got = await dhtGet(net.nodes[3]!, SEL)
    assert.ok(selections > selectionsBefore, 'the injected selector was asked')
    assert.equal(got?.[0], 9, 'the selector picked version 9')
  })
})
