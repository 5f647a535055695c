import assert from 'node:assert/strict'
import { floorForShare, gossipFloorMs } from '../../../../src/interfaces/simulator/gossip-floor.ts'

const fixed = (ms: number) => (): number => ms

describe('simulator: the gossipsub floor of an update', () => {
  it('floods the first hop to every known subscriber, then follows only mesh edges', () => {
    // o knows a and b as subscribers; only a's mesh reaches c, c's mesh reaches d
    const mesh = new Map([['o', ['a']], ['a', ['c']], ['b', []], ['c', ['d']], ['d', []]])
    const floors = gossipFloorMs({ origin: 'o', firstHop: ['a', 'b'], mesh }, ['o', 'a', 'b', 'c', 'd'], fixed(50))
    assert.deepEqual(floors, [50, 50, 100, 150])
  })

  it('does not let the origin use its mesh in place of its subscribers, nor relays their subscribers', () => {
    // the origin's mesh holds c, but it floods only to a; b is nobody's mesh peer
    const mesh = new Map([['o', ['c']], ['a', ['c']], ['c', []], ['b', []]])
    const floors = gossipFloorMs({ origin: 'o', firstHop: ['a'], mesh }, ['o', 'a', 'b', 'c'], fixed(10))
    assert.deepEqual(floors, [10, Infinity, 20])
  })

  it('takes the path of least delay, not of fewest hops', () => {
    const latency = (from: string, to: string): number => (from === 'o' && to === 'c') ? 300 : 40
    const mesh = new Map([['a', ['c']], ['c', []]])
    assert.deepEqual(gossipFloorMs({ origin: 'o', firstHop: ['a', 'c'], mesh }, ['a', 'c'], latency), [40, 80])
  })

  it('gives the time by which a share of the receivers could have it, not a number when too few can', () => {
    assert.equal(floorForShare([50, 100, 150, 100], 4, 0.5), 100)
    assert.equal(floorForShare([50, 100, 150, 100], 4, 0.99), 150)
    assert.ok(Number.isNaN(floorForShare([50, 100, Infinity], 3, 0.99)))
    assert.ok(Number.isNaN(floorForShare([50, 100], 3, 0.99)))
  })
})
