import { CitycodeError } from '../../core/errors.ts'

/**
 * Command-line mistakes, typed like every other citycode error so `--json` callers branch on
 * `name`/`code`; `details.reason` carries commander's own code (e.g. `commander.missingMandatoryOptionValue`).
 */
export class UsageError extends CitycodeError {
  static override readonly code = 'ERR_USAGE'
}

/** A command that does not exist; `details.suggestion` is the closest one, when one is close. */
export class UnknownCommandError extends CitycodeError {
  static override readonly code = 'ERR_UNKNOWN_COMMAND'
}

