import { checkAllocationRule } from '../../../core/allocation/rule.ts'
import { parseCodeInput } from '../../../core/code/check-character.ts'
import { toHex } from '../../../core/crypto/hash.ts'
import type { HeadRecord } from '../../../core/record/head-record.ts'
import { NotFoundError, ResolveTimeoutError } from '../../../services/errors.ts'
import type { Resolution } from '../../../services/resolver/index.ts'
import type { GatewayContext } from '../context.ts'
import type { ResolutionResult } from '../metrics.ts'

/** Longest code parameter the schema lets through to the grammar (which names the exact problem). */
export const CODE_PARAM_MAX = 256

export const codeParams = {
  type: 'object',
  properties: { code: { type: 'string', minLength: 1, maxLength: CODE_PARAM_MAX } },
  required: ['code'],
  additionalProperties: false
} as const

/**
 * A code as people type it (printed form with its check character, any case, surrounding spaces),
 * in canonical form; one the allocation rule forbids can never be registered, so it is refused here
 * rather than searched for on the network.
 */
export function codeFrom (input: string): string {
  const code = parseCodeInput(input)
  checkAllocationRule(code)
  return code.text
}

/**
 * Resolves through the node (its cache, then the network), counted in metrics. The gateway answers
 * within its deadline whatever the network does: past it the answer is a ResolveTimeoutError (504).
 */
export async function resolveCounted (ctx: GatewayContext, code: string): Promise<Resolution> {
  const started = performance.now()
  if (ctx.node.resolver.cached(code) !== undefined) {
    // a cache hit answers at once: no deadline to arm
    try {
      const hit = await ctx.node.resolve(code)
      ctx.metrics.resolution(hit.source, 'found', hit.elapsedMs / 1000)
      return hit
    } catch (err) {
      ctx.metrics.resolution('none', resultOf(err), (performance.now() - started) / 1000)
      throw err
    }
  }
  const signal = AbortSignal.timeout(ctx.resolveTimeoutMs)
  let onAbort: (() => void) | undefined
  const late = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(new ResolveTimeoutError(`no answer for ${code} within the gateway's ${ctx.resolveTimeoutMs} ms`, { code, timeoutMs: ctx.resolveTimeoutMs })) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    const resolution = await Promise.race([ctx.node.resolve(code, { signal }), late])
    ctx.metrics.resolution(resolution.source, 'found', resolution.elapsedMs / 1000)
    return resolution
  } catch (err) {
    ctx.metrics.resolution('none', resultOf(err), (performance.now() - started) / 1000)
    throw err
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

function resultOf (err: unknown): ResolutionResult {
  if (err instanceof NotFoundError) return 'not_found'
  if (err instanceof ResolveTimeoutError) return 'timeout'
  return 'refused'
}

/** A signed tree head as JSON: enough to check proofs against it, and its bytes to check it yourself. */
export function headView (head: HeadRecord): Record<string, unknown> {
  return {
    log: head.sth.head.log,
    size: head.sth.head.size,
    root: toHex(head.sth.head.root),
    time: new Date(head.sth.head.time).toISOString(),
    key: toHex(head.key),
    cosignatures: head.cosignatures.length,
    signedHead: toHex(head.bytes)
  }
}
