import { checkAllocationRule } from '../../../core/allocation/rule.ts'
import { parseCodeInput } from '../../../core/code/check-character.ts'
import { toHex } from '../../../core/crypto/hash.ts'
import { checkCovered } from '../../../core/trust/anchors.ts'
import type { HeadRecord } from '../../../core/record/head-record.ts'
import { ResolveTimeoutError } from '../../../services/errors.ts'
import type { Resolution } from '../../../services/resolver/index.ts'
import type { GatewayContext } from '../context.ts'

/** Longest code parameter the schema lets through to the grammar (which names the exact problem). */
export const CODE_PARAM_MAX = 256

export const codeParams = {
  type: 'object',
  properties: { code: { type: 'string', minLength: 1, maxLength: CODE_PARAM_MAX } },
  required: ['code'],
  additionalProperties: false
} as const

/** `?limit=&cursor=` of every paged listing (core/ledger/cursor.ts checks them and says what is wrong). */
export interface PageQuerystring { limit?: string, cursor?: string }
export const pageQuerystring = {
  type: 'object',
  properties: { limit: { type: 'string', maxLength: 16 }, cursor: { type: 'string', maxLength: 512 } },
  additionalProperties: false
} as const

/** Parsed inputs remembered (input text -> canonical code): a popular code is parsed once. */
const PARSED_MAX = 10_000
const parsed = new Map<string, string>()

/**
 * A code as people type it (printed form with its check character, any case, surrounding spaces),
 * in canonical form; one the allocation rule forbids can never be registered, so it is refused here
 * rather than searched for on the network.
 */
export function codeFrom (input: string): string {
  const known = parsed.get(input)
  if (known !== undefined) return known
  const code = parseCodeInput(input)
  checkAllocationRule(code)
  if (parsed.size >= PARSED_MAX) parsed.clear()
  parsed.set(input, code.text)
  return code.text
}

/**
 * Resolves through the node (its cache, then the network); the node reports it to the metrics. The
 * gateway answers within its deadline whatever the network does: past it, a ResolveTimeoutError (504).
 */
export async function resolveWithin (ctx: GatewayContext, code: string): Promise<Resolution> {
  checkCovered(code, ctx.node.validator.chains.anchors)
  // a cache hit answers at once: no deadline to arm
  if (ctx.node.resolver.cached(code) !== undefined) return await ctx.node.resolve(code)
  const signal = AbortSignal.timeout(ctx.resolveTimeoutMs)
  let onAbort: (() => void) | undefined
  const late = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(new ResolveTimeoutError(`no answer for ${code} within the gateway's ${ctx.resolveTimeoutMs} ms`, { code, timeoutMs: ctx.resolveTimeoutMs })) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([ctx.node.resolve(code, { signal }), late])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
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
