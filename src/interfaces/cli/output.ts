import { isCitycodeError } from '../../core/errors.ts'

/** Exit codes: 0 ok, 1 a typed failure (invalid input, not found, refused), 2 usage, 3 unexpected. */
export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
export const EXIT_INTERNAL = 3

/**
 * Runs a command handler: a typed error becomes one clear line on stderr and a non-zero exit,
 * never a stack trace (set DEBUG=citycode:* to see one).
 */
export async function runHandler (fn: () => Promise<number | undefined | void>): Promise<void> {
  try {
    const code = await fn()
    process.exitCode = typeof code === 'number' ? code : EXIT_OK
  } catch (err) {
    process.exitCode = reportError(err)
  }
}

export function reportError (err: unknown): number {
  if (isCitycodeError(err)) {
    process.stderr.write(`error: ${err.name}: ${err.message}\n`)
    return EXIT_FAILURE
  }
  const e = err as Error
  process.stderr.write(`error: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}\n`)
  if ((process.env.DEBUG ?? '').includes('citycode')) process.stderr.write(`${e?.stack ?? ''}\n`)
  return EXIT_INTERNAL
}

export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v: unknown) => v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v, 2) + '\n')
}
