import { CitycodeError } from '../core/errors.ts'

/** The node's own storage failed or holds something it cannot use (wrong passphrase, damaged entry). */
export class StorageError extends CitycodeError {
  static override readonly code = 'ERR_STORAGE'
}

/**
 * Another process holds the data directory (LevelDB allows one per directory): usually the node
 * itself, running. `details.path` names the directory.
 */
export class DataDirLockedError extends CitycodeError {
  static override readonly code = 'ERR_DATA_DIR_LOCKED'
}
