import { isCitycodeError } from '../../core/errors.ts'
import type { ErrorDetails } from '../../core/errors.ts'

/** Exit codes: 0 ok, 1 a typed failure (invalid input, not found, refused), 2 usage, 3 unexpected. */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
export const EXIT_INTERNAL = 3

export interface OutputOptions {
  /** The command was given `--json`: its error goes to stdout as JSON too, for the script reading it. */
  json?: boolean
}

/** What a `--json` command prints on stdout when it fails (README, "The CLI"). */
export interface ErrorJson {
  error: { name: string, code: string, message: string, details: ErrorDetails }
}

/**
 * Runs a command handler: a typed error becomes one clear line on stderr and a non-zero exit,
 * never a stack trace (set DEBUG=citycode:* to see one); under `--json` also `{ "error": ... }` on stdout.
 */
export async function runHandler (fn: () => Promise<number | undefined | void>, options: OutputOptions = {}): Promise<void> {
  try {
    const code = await fn()
    process.exitCode = typeof code === 'number' ? code : EXIT_OK
  } catch (err) {
    process.exitCode = reportError(err, options)
  }
}

/** The stable fields of an error; one that is not citycode's gets ERR_INTERNAL and no details. */
export function errorJson (err: unknown): ErrorJson {
  if (isCitycodeError(err)) return { error: { name: err.name, code: err.code, message: err.message, details: err.details } }
  const e = err instanceof Error ? err : new Error(String(err))
  return { error: { name: e.name, code: 'ERR_INTERNAL', message: e.message, details: {} } }
}

export function reportError (err: unknown, options: OutputOptions = {}, exitCode?: number): number {
  if (options.json === true) printJson(errorJson(err))
  if (isCitycodeError(err)) {
    process.stderr.write(`error: ${err.name}: ${err.message}\n`)
    return exitCode ?? EXIT_FAILURE
  }
  const e = err as Error
  process.stderr.write(`error: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}\n`)
  if ((process.env.DEBUG ?? '').includes('citycode')) process.stderr.write(`${e?.stack ?? ''}\n`)
  return exitCode ?? EXIT_INTERNAL
}

export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v: unknown) => v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v, 2) + '\n')
}
