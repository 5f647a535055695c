import * as coreErrors from '../../core/errors.ts'
import { CitycodeError } from '../../core/errors.ts'
import type { CborMap, CborValue } from '../../core/codec/cbor.ts'
import { FieldReader } from '../../core/codec/cbor.ts'

/** A typed error as it crosses the wire: name, code and message; never a stack. */
export interface WireError { name: string, code: string, message: string }

export function errorToWire (err: unknown): CborMap {
  if (err instanceof CitycodeError) return { name: err.name, code: err.code, message: err.message.slice(0, 512) }
  return { name: 'InternalError', code: 'ERR_INTERNAL', message: 'the remote node failed to handle the request' }
}

type ErrorClass = new (message: string, details?: coreErrors.ErrorDetails) => CitycodeError
const byName = new Map<string, ErrorClass>()
for (const value of Object.values(coreErrors)) {
  if (typeof value === 'function' && value.prototype instanceof CitycodeError) byName.set(value.name, value as unknown as ErrorClass)
}

/** A remote node refused with an error this build does not know. */
export class RemoteError extends CitycodeError {
  static override readonly code = 'ERR_REMOTE'
}

/** Re-raises a remote typed error as the same class locally, so callers branch on `name` alike. */
export function errorFromWire (value: CborValue): CitycodeError {
  const r = new FieldReader(value, 'error', ['name', 'code', 'message'])
  const name = r.string('name', 64)
  const message = `remote: ${r.string('message', 512)}`
  const Class = byName.get(name)
  return Class !== undefined ? new Class(message, { remote: true }) : new RemoteError(`${name}: ${message}`, { remoteName: name })
}
