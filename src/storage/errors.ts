import { CitycodeError } from '../core/errors.ts'

/** The node's own storage failed or holds something it cannot use (wrong passphrase, damaged entry). */
export class StorageError extends CitycodeError {
  static override readonly code = 'ERR_STORAGE'
}
