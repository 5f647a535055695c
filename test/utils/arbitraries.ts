import fc from 'fast-check'
import { formatSerial, MAX_CODE_LENGTH } from '../../src/core/index.ts'

const agency = fc.constantFrom('MA', 'MB', 'ZZ')
const country = fc.integer({ min: 1, max: 999 }).map(n => String(n).padStart(3, '0'))
const division = fc.integer({ min: 1, max: 9999 }).map(n => String(n).padStart(4, '0'))
const sub = fc.integer({ min: 1, max: 99_999_999 }).map(formatSerial)

/** Any canonical code of city depth or below (not necessarily allowed by the allocation rule). */
export const arbitraryCode: fc.Arbitrary<string> = fc.tuple(agency, country, division, fc.array(sub, { maxLength: 6 }))
  .map(([a, c, d, s]) => [a, c, d, ...s].join('.'))
  .filter(text => text.length <= MAX_CODE_LENGTH)
