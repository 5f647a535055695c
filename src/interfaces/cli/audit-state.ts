import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { z } from 'zod'
import { LEDGER_ENTRY_TYPES } from '../../core/ledger/log.ts'
import type { AuditLogState, AuditStateStore } from '../../services/ledger/index.ts'
import { StorageError } from '../../storage/errors.ts'

const hex = z.string().regex(/^[0-9a-f]*$/).max(40_000)
const logState = z.object({
  log: z.string().max(64),
  key: hex,
  size: z.number().int().nonnegative(),
  frontier: z.array(hex).max(64),
  found: z.array(z.object({
    log: z.string().max(64), index: z.number().int().nonnegative(), type: z.enum(LEDGER_ENTRY_TYPES), code: z.string().max(64),
    seq: z.number().int().nonnegative().optional(), time: z.number().int().nonnegative(), object: hex
  })).max(100_000),
  head: hex.optional()
})
const stateFile = z.object({ v: z.literal(1), target: z.string().max(64), logs: z.record(z.string(), logState) })
type StateFile = z.infer<typeof stateFile>

/**
 * `citycode audit --state FILE`: the progress of audits of one target, one entry per log, written
 * whole to a temporary file and renamed over the old one, so a kill at any moment leaves the last
 * complete state. A file that is not such a state (damaged, another target's) is set aside with a
 * warning: the audit starts over, which costs time and never trust (every entry is checked again).
 */
export function fileAuditState (path: string, target: string, warn: (line: string) => void): AuditStateStore {
  let state: StateFile = { v: 1, target, logs: {} }
  let text: string | undefined
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read the audit state ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; starting over`)
  }
  if (text !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {}
    const checked = stateFile.safeParse(parsed)
    if (!checked.success) warn(`${path} is not an audit state; starting over`)
    else if (checked.data.target !== target) warn(`${path} is the state of an audit of ${checked.data.target}, not ${target}; starting over`)
    else state = checked.data
  }
  return {
    load: (log) => state.logs[log] as AuditLogState | undefined,
    save: (s) => {
      state = { ...state, logs: { ...state.logs, [s.log]: { ...s, frontier: [...s.frontier], found: [...s.found] } } }
      const tmp = `${path}.tmp`
      try {
        writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 })
        renameSync(tmp, path)
      } catch (err) {
        throw new StorageError(`cannot write the audit state ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path })
      }
    }
  }
}
