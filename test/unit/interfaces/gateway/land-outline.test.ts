import assert from 'node:assert/strict'
import { landOutlinePath } from '../../../../src/interfaces/gateway/land-outline.ts'

describe('explorer map: land outlines', () => {
  const subpaths = landOutlinePath().split('M').slice(1).map(p => p.replace(/Z$/, '').split('L').map(xy => xy.split(' ').map(Number) as [number, number]))

  it('stays within the map frame and holds the world\'s land (hundreds of rings)', () => {
    assert.ok(subpaths.length > 100, `${subpaths.length} rings`)
    for (const ring of subpaths) for (const [x, y] of ring) assert.ok(x >= -180 && x <= 180 && y >= -90 && y <= 90, `${x} ${y}`)
  })

  it('draws no line across the map where a ring crosses the antimeridian', () => {
    for (const ring of subpaths) {
      for (let i = 1; i < ring.length; i++) assert.ok(Math.abs((ring[i] as [number, number])[0] - (ring[i - 1] as [number, number])[0]) <= 180, 'a segment longer than half the world')
    }
    // eastern Russia reaches across it: pieces end on both edges
    assert.ok(subpaths.some(r => r.some(([x, y]) => x === 180 && y < -60)) && subpaths.some(r => r.some(([x, y]) => x === -180 && y < -60)))
  })
})
