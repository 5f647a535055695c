import type { z } from 'zod'
import type { CitycodeError, ErrorDetails } from '../../core/errors.ts'

/**
 * Validates `raw` with a schema; the first problem becomes one typed error naming the file and the
 * field (`configs/x.json: anchors.0.keys.0: must be 64 lower-case hex characters`).
 */
export function parseWithSchema<S extends z.ZodType> (schema: S, raw: unknown, source: string, ErrorClass: new (message: string, details: ErrorDetails) => CitycodeError): z.infer<S> {
  const result = schema.safeParse(raw)
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue
    const field = issue.path.length > 0 ? issue.path.join('.') : '(root)'
    throw new ErrorClass(`${source}: ${field}: ${issue.message}`, { field, source })
  }
  return result.data
}
