import { CITY_DEPTH, parseCode } from '../code/grammar.ts'
import type { Revocation, RevocationSet } from './revocation.ts'

/**
 * Which revocations a node takes when it cannot take them all (SPEC 4.5, "Bounds"). Anyone holding
 * a delegating certificate can mint throw-away certificates under its namespace and revoke them, as
 * many as it likes, all valid; a node that took them first-come-first-served was full after a few
 * seconds, and then ignored the revocation of a real city. So:
 * - revocations of certificates deeper than a city count against the city's subtree (its own
 *   certificates, nested ones included), at most `perSubtree` of them; revocations of city, country
 *   and agency certificates count against their issuer;
 * - a revocation that concerns a certificate the node relies on (on the path of a record it holds,
 *   serves or has verified), or one of a city certificate or above, is never refused for a quota and,
 *   when the node is full, takes the place of the least needed one: not relied on, deepest, from the
 *   fullest subtree.
 */
export interface AdmissionPolicy {
  /** Revocations held at most. */
  readonly capacity: number
  /** Revocations below a city (or issued by one authority, for city level and above) held at most. */
  readonly perSubtree: number
  /** Whether the node relies on this certificate (a record it holds, serves or verified lately). */
  readonly reliedOn: (certHash: Uint8Array, namespace: string) => boolean
}

export type Admission =
  | { readonly admit: true, readonly evict?: Revocation }
  | { readonly admit: false, readonly why: 'quota' | 'full' }

export const DEFAULT_REVOCATIONS_PER_SUBTREE = 256

/** The subtree a revocation of a certificate for `namespace` counts against. */
export function quotaSubtree (namespace: string): string {
  const segments = parseCode(namespace).segments
  if (segments.length > CITY_DEPTH) return segments.slice(0, CITY_DEPTH).join('.')
  return segments.length > 1 ? segments.slice(0, -1).join('.') : segments.join('.')
}

/** City certificates and above: an authority's own delegation, which many nodes' answers depend on. */
function highLevel (namespace: string): boolean {
  return parseCode(namespace).segments.length <= CITY_DEPTH
}

/** Decides on a revocation of a certificate (`target`, `namespace`) not held yet. */
export function admitRevocation (candidate: { target: Uint8Array, namespace: string }, held: RevocationSet, policy: AdmissionPolicy): Admission {
  const needed = highLevel(candidate.namespace) || policy.reliedOn(candidate.target, candidate.namespace)
  const subtree = quotaSubtree(candidate.namespace)
  const counts = new Map<string, number>()
  for (const r of held.values()) {
    const key = quotaSubtree(r.namespace)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  if (!needed && (counts.get(subtree) ?? 0) >= policy.perSubtree) return { admit: false, why: 'quota' }
  if (held.size < policy.capacity) return { admit: true }
  if (!needed) return { admit: false, why: 'full' }
  // full: the least needed one makes room, never one that is needed itself
  let victim: { r: Revocation, depth: number, group: number } | undefined
  for (const r of held.values()) {
    if (highLevel(r.namespace) || policy.reliedOn(r.target, r.namespace)) continue
    const depth = parseCode(r.namespace).segments.length
    const group = counts.get(quotaSubtree(r.namespace)) ?? 0
    if (victim === undefined || group > victim.group || (group === victim.group && depth > victim.depth)) victim = { r, depth, group }
  }
  return victim === undefined ? { admit: false, why: 'full' } : { admit: true, evict: victim.r }
}
