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

/**
 * The data directory, or a file in it, is open to other local users (any group or other permission
 * bit): they could copy the encrypted keys and guess the passphrase offline. Nothing is opened or
 * created. `details.path` names the directory or file, `details.mode` its octal mode, `details.fix`
 * the command that closes it.
 */
export class DataDirPermissionError extends CitycodeError {
  static override readonly code = 'ERR_DATA_DIR_PERMISSIONS'
}

/** A new keychain's passphrase fails the strength rule (`details.rule` names which part). */
export class WeakPassphraseError extends CitycodeError {
  static override readonly code = 'ERR_WEAK_PASSPHRASE'
}

/**
 * The keychain's stored key-derivation parameters are damaged or weaker than this build accepts
 * (e.g. a work factor made for tests). `details.field` names the parameter.
 */
export class KeychainParamsError extends CitycodeError {
  static override readonly code = 'ERR_KEYCHAIN_PARAMS'
}
