import countries from 'i18n-iso-countries'
import { AllocationError, AllocationRuleError } from '../errors.ts'
import { COUNTRY_DEPTH, CITY_DEPTH, formatSerial, parseCode, parseKnownCode } from '../code/grammar.ts'
import type { Code } from '../code/grammar.ts'
import { NATIONAL_SCHEMES } from './national-schemes.ts'

/**
 * The unified allocation rule (SPEC "Allocation"). `checkAllocationRule` is what every validator
 * enforces on every certificate namespace and record code; the `allocate*` functions are what an
 * authority runs to choose the next code, so allocation and validation cannot disagree.
 *
 * - country segment: an ISO 3166-1 numeric code that exists;
 * - city (division) segment: in a country with a national scheme, a division of that scheme;
 *   elsewhere a serial 0001..9999 in the country authority's allocation order;
 * - sub-code segments: serials allocated by the holder of the parent code (grammar-checked).
 */
const isoNumeric = new Set(Object.keys(countries.getNumericCodes()))

export function isCountryCode (numeric: string): boolean {
  return isoNumeric.has(numeric)
}

export function checkAllocationRule (code: Code | string): void {
  const parsed = typeof code === 'string' ? parseKnownCode(code) : code
  const country = parsed.segments[COUNTRY_DEPTH - 1]
  if (country !== undefined && !isoNumeric.has(country)) {
    throw new AllocationRuleError(`${parsed.text}: ${country} is not an ISO 3166-1 numeric country code`, { code: parsed.text, segment: COUNTRY_DEPTH })
  }
  const division = parsed.segments[CITY_DEPTH - 1]
  if (country !== undefined && division !== undefined) {
    const scheme = NATIONAL_SCHEMES.get(country)
    if (scheme !== undefined && !scheme.divisions.has(division)) {
      throw new AllocationRuleError(`${parsed.text}: ${division} is not a ${scheme.name} division of country ${country}`, { code: parsed.text, segment: CITY_DEPTH })
    }
  }
}

/** The country namespace for an ISO 3166-1 alpha-2, alpha-3 or numeric code, under `agency`. */
export function countryCode (agency: string, country: string): string {
  const numeric = /^\d{3}$/.test(country)
    ? country
    : country.length === 2 ? countries.alpha2ToNumeric(country.toUpperCase()) : countries.alpha3ToNumeric(country.toUpperCase())
  if (numeric === undefined || !isoNumeric.has(numeric)) {
    throw new AllocationRuleError(`"${country}" is not an ISO 3166-1 country`, { country })
  }
  return parseCode(`${agency}.${numeric}`).text
}

/**
 * The next city code in a country namespace. With a national scheme the applicant names its
 * official division code and gets exactly that; otherwise the next free serial.
 */
export function allocateCity (countryNamespace: string, allocated: ReadonlySet<string>, officialCode?: string): string {
  const ns = parseCode(countryNamespace)
  if (ns.segments.length !== COUNTRY_DEPTH) throw new AllocationError(`${countryNamespace} is not a country namespace`, { namespace: countryNamespace })
  checkAllocationRule(ns)
  const scheme = NATIONAL_SCHEMES.get(ns.segments[1] as string)
  if (scheme !== undefined) {
    const division = officialCode === undefined ? undefined : scheme.divisionOf(officialCode)
    if (division === undefined) {
      throw new AllocationRuleError(`a city in ${countryNamespace} must name its ${scheme.name} division code, got ${officialCode ?? 'none'}`, { namespace: countryNamespace, officialCode })
    }
    const code = `${ns.text}.${division}`
    if (allocated.has(code)) throw new AllocationError(`${code} is already allocated`, { code })
    return code
  }
  return nextSerial(ns.text, allocated, 4, 9999)
}

/** The next sub-code serial under `parentNamespace` (a city or any of its sub-codes). */
export function allocateSub (parentNamespace: string, allocated: ReadonlySet<string>): string {
  const ns = parseCode(parentNamespace)
  if (ns.segments.length < CITY_DEPTH) throw new AllocationError(`sub-codes are allocated under a city or below, not ${parentNamespace}`, { namespace: parentNamespace })
  return nextSerial(ns.text, allocated, 0, 99_999_999)
}

function nextSerial (namespace: string, allocated: ReadonlySet<string>, width: number, max: number): string {
  let highest = 0
  const prefix = `${namespace}.`
  for (const code of allocated) {
    if (!code.startsWith(prefix)) continue
    const segment = code.slice(prefix.length).split('.')[0] as string
    highest = Math.max(highest, Number.parseInt(segment, 10))
  }
  if (highest >= max) throw new AllocationError(`namespace ${namespace} is full`, { namespace })
  const next = width > 0 ? String(highest + 1).padStart(width, '0') : formatSerial(highest + 1)
  return parseCode(`${namespace}.${next}`).text
}
