import { RequestTimeoutError } from './errors.ts'

/**
 * A deadline for network work. `AbortSignal.timeout()` does not keep the event loop alive, so a
 * query stuck with nothing pending could let a process exit mid-way (measured: exit code 13 under
 * top-level await); this timer is a real one that holds the loop until it fires or is cleared.
 */
export interface Deadline {
  readonly signal: AbortSignal
  clear(): void
}

export function deadlineSignal (ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController()
  // a typed reason: whoever surfaces it (CLI, gateway) reports a timeout, not an internal error
  const abort = (): void => { controller.abort(parent?.reason ?? new RequestTimeoutError(`deadline of ${ms} ms passed`, { timeoutMs: ms })) }
  const timer = setTimeout(abort, ms)
  if (parent !== undefined) {
    if (parent.aborted) abort()
    else parent.addEventListener('abort', abort, { once: true })
  }
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer)
      parent?.removeEventListener('abort', abort)
    }
  }
}
