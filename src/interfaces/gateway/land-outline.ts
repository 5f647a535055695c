import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { feature } from 'topojson-client'
import type { Topology } from 'topojson-specification'
import type { Position } from 'geojson'

const require = createRequire(import.meta.url)

/**
 * The world's land as one SVG path in the explorer map's equirectangular frame (x = longitude,
 * y = minus latitude, so the viewBox is -180 -90 360 180), from Natural Earth's 1:110m land in the
 * `world-atlas` package: drawn by the page itself, so the map needs no tile server and works offline.
 * Built once; 0.1 degree is finer than the 110m data.
 */
let cached: string | undefined

export function landOutlinePath (): string {
  if (cached !== undefined) return cached
  const topology = JSON.parse(readFileSync(require.resolve('world-atlas/land-110m.json'), 'utf8')) as Topology
  const land = topology.objects.land
  if (land === undefined) throw new Error('world-atlas land-110m.json has no "land" object')
  const geo = feature(topology, land)
  const polygons: Position[][][] = []
  for (const f of 'features' in geo ? geo.features : [geo]) {
    const g = f.geometry
    if (g.type === 'Polygon') polygons.push(g.coordinates)
    else if (g.type === 'MultiPolygon') polygons.push(...g.coordinates)
  }
  cached = polygons.flatMap(rings => rings.map(ringPath)).join('')
  return cached
}

const xy = (p: Position): string => `${round(p[0] as number)} ${round(-(p[1] as number))}`

/**
 * One ring as path data. A ring that crosses the antimeridian (eastern Russia, Fiji) jumps from 180
 * to -180 degrees: drawn as is, that is a line across the whole map. It is cut there into pieces,
 * each starting just after a jump and ending just before the next, left open: the fill closes each
 * piece along the map's edge, where the land meets it, and no line is drawn there.
 */
function ringPath (ring: Position[]): string {
  const points = ring.length > 1 && ring[0]?.[0] === ring.at(-1)?.[0] && ring[0]?.[1] === ring.at(-1)?.[1] ? ring.slice(0, -1) : ring
  const jumps = points.flatMap((p, i) => Math.abs((points[(i + 1) % points.length]?.[0] as number) - (p[0] as number)) > 180 ? [i] : [])
  if (jumps.length === 0) return `M${points.map(xy).join('L')}Z`
  const start = ((jumps[0] as number) + 1) % points.length
  const rotated = [...points.slice(start), ...points.slice(0, start)]
  const pieces: Position[][] = [[]]
  rotated.forEach((p, i) => {
    (pieces.at(-1) as Position[]).push(p)
    const next = rotated[i + 1]
    if (next !== undefined && Math.abs((next[0] as number) - (p[0] as number)) > 180) pieces.push([])
  })
  return pieces.map(piece => `M${piece.map(xy).join('L')}`).join('')
}

const round = (v: number): string => String(Math.round(v * 10) / 10)
