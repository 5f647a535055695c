import { parseCode } from '../code/grammar.ts'
import { BatchError, CitycodeError } from '../errors.ts'
import type { RecordValue } from '../record/values.ts'

/**
 * Bulk registration input (issue #20): one sub-code per line, as JSON lines or CSV with a header.
 * Parsing is pure and checks the whole file, so the writer never starts on a file that has a bad
 * line ("nothing half written").
 */
export type BatchFormat = 'csv' | 'jsonl'

export interface BatchLine {
  /** 1-based line number in the file, for reports. */
  readonly line: number
  /** The canonical sub-code: a direct child of the city. */
  readonly code: string
  readonly name: string
  readonly type: string
  /** The record's values: the name, the type, then the data values in file order. */
  readonly values: RecordValue[]
}

/** A line longer than this is refused before parsing (a record is at most 10 KiB anyway). */
export const BATCH_LINE_MAX_CHARS = 8 * 1024
const NAME_MAX_CHARS = 256

class BadLine extends Error {
  readonly error: string
  constructor (error: string, message: string) {
    super(message)
    this.error = error
  }
}

export function formatOf (path: string): BatchFormat {
  if (path.endsWith('.csv')) return 'csv'
  if (path.endsWith('.jsonl') || path.endsWith('.ndjson')) return 'jsonl'
  throw new BatchError(`${path}: a batch file ends in .csv or .jsonl`, [])
}

/** RFC 4180 fields of one line: commas, double quotes around fields, `""` inside quotes. */
function csvFields (text: string): string[] {
  const out: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++ } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"' && field === '') quoted = true
    else if (c === ',') { out.push(field); field = '' } else field += c
  }
  if (quoted) throw new BadLine('MalformedLine', 'unterminated quoted field')
  out.push(field)
  return out
}

function subCode (namespace: string, fields: { code?: unknown, number?: unknown }): string {
  const raw = fields.code ?? fields.number
  if (typeof raw !== 'string' && typeof raw !== 'number') throw new BadLine('MalformedLine', 'names no "number" or "code"')
  const text = String(raw).trim()
  let code
  try {
    code = parseCode(text.includes('.') ? text : `${namespace}.${text}`)
  } catch (err) {
    throw new BadLine(err instanceof CitycodeError ? err.name : 'MalformedLine', (err as Error).message)
  }
  const ns = parseCode(namespace)
  const under = code.segments.length === ns.segments.length + 1 && ns.segments.every((s, i) => s === code.segments[i])
  if (!under) throw new BadLine('OutsideNamespaceError', `${code.text} is not a direct sub-code of ${namespace}`)
  return code.text
}

function line (namespace: string, n: number, fields: { code?: unknown, number?: unknown, name?: unknown, type?: unknown, values?: unknown }): BatchLine {
  const code = subCode(namespace, fields)
  if (typeof fields.name !== 'string' || fields.name.trim() === '') throw new BadLine('MalformedLine', 'names no "name"')
  if (fields.name.length > NAME_MAX_CHARS) throw new BadLine('MalformedLine', `name longer than ${NAME_MAX_CHARS} characters`)
  const type = fields.type === undefined || fields.type === '' ? 'sub-code' : fields.type
  if (typeof type !== 'string') throw new BadLine('MalformedLine', '"type" is not text')
  const values: RecordValue[] = [{ type: 'name', lang: 'en', value: fields.name.trim() }, { type: 'data', name: 'type', value: type }]
  const extra = fields.values ?? {}
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw new BadLine('MalformedLine', '"values" is not an object of text')
  for (const [name, value] of Object.entries(extra)) {
    if (typeof value !== 'string' && typeof value !== 'number') throw new BadLine('MalformedLine', `value ${name} is not text`)
    values.push({ type: 'data', name, value: String(value) })
  }
  return { line: n, code, name: fields.name.trim(), type, values }
}

export interface BatchLineFields {
  line: number
  code: string
  name: string
  type: string
  values: Record<string, string>
}

/** The wire form of a checked line (admin socket): what `checkBatchLines` takes back. */
export function batchLineFields (l: BatchLine): BatchLineFields {
  const values: Record<string, string> = {}
  for (const v of l.values.slice(2)) if (v.type === 'data') values[v.name] = v.value
  return { line: l.line, code: l.code, name: l.name, type: l.type, values }
}

/** Lines that crossed a boundary (the admin socket) checked again as a file's lines are. */
export function checkBatchLines (namespace: string, fields: readonly BatchLineFields[]): BatchLine[] {
  const out: BatchLine[] = []
  const bad: Array<{ line: number, error: string, message: string }> = []
  const seen = new Map<string, number>()
  for (const f of fields) {
    try {
      const l = line(namespace, f.line, f)
      const first = seen.get(l.code)
      if (first !== undefined) throw new BadLine('DuplicateLine', `${l.code} already on line ${first}`)
      seen.set(l.code, f.line)
      out.push(l)
    } catch (err) {
      if (!(err instanceof BadLine)) throw err
      bad.push({ line: f.line, error: err.error, message: err.message })
    }
  }
  if (bad.length > 0) throw badLines(bad)
  return out
}

function badLines (bad: ReadonlyArray<{ line: number, error: string, message: string }>): BatchError {
  const shown = bad.slice(0, 20).map(b => `  line ${b.line}: ${b.error}: ${b.message}`).join('\n')
  return new BatchError(`${bad.length} bad line(s), nothing registered:\n${shown}${bad.length > 20 ? `\n  ... and ${bad.length - 20} more` : ''}`, bad)
}

/**
 * Every line of `text`, checked: a direct sub-code of `namespace`, named, no code twice. Throws
 * `BatchError` listing every bad line, or returns all of them.
 */
export function parseBatch (text: string, format: BatchFormat, namespace: string): BatchLine[] {
  const rows = text.split(/\r?\n/)
  const out: BatchLine[] = []
  const bad: Array<{ line: number, error: string, message: string }> = []
  const seen = new Map<string, number>()
  let header: string[] | undefined
  rows.forEach((row, i) => {
    const n = i + 1
    if (row.trim() === '') return
    try {
      if (row.length > BATCH_LINE_MAX_CHARS) throw new BadLine('LineTooLong', `line longer than ${BATCH_LINE_MAX_CHARS} characters`)
      let parsed: BatchLine
      if (format === 'jsonl') {
        let json: unknown
        try { json = JSON.parse(row) } catch (err) { throw new BadLine('MalformedLine', `not JSON: ${(err as Error).message}`) }
        if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BadLine('MalformedLine', 'not a JSON object')
        parsed = line(namespace, n, json)
      } else {
        const fields = csvFields(row)
        if (header === undefined) {
          header = fields.map(f => f.trim())
          if (!header.includes('name') || !(header.includes('number') || header.includes('code'))) throw new BadLine('MalformedLine', 'the CSV header names no "name" and "number" (or "code") column')
          return
        }
        if (fields.length !== header.length) throw new BadLine('MalformedLine', `${fields.length} fields, the header has ${header.length}`)
        const named: Record<string, string> = {}
        const values: Record<string, string> = {}
        header.forEach((h, j) => {
          const v = fields[j] as string
          if (h === 'code' || h === 'number' || h === 'name' || h === 'type') named[h] = v
          else if (v !== '') values[h] = v
        })
        parsed = line(namespace, n, { ...named, values })
      }
      const first = seen.get(parsed.code)
      if (first !== undefined) throw new BadLine('DuplicateLine', `${parsed.code} already on line ${first}`)
      seen.set(parsed.code, n)
      out.push(parsed)
    } catch (err) {
      if (!(err instanceof BadLine)) throw err
      bad.push({ line: n, error: err.error, message: err.message })
    }
  })
  if (bad.length > 0) throw badLines(bad)
  return out
}
