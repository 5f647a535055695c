import { parseCode } from '../code/grammar.ts'
import { UnknownAnchorError } from '../errors.ts'

/**
 * A trust anchor: the root of one agency's namespace, held by `threshold` of `keys` (m-of-n
 * roots). Anchors are configured, never learnt from the network.
 */
export interface TrustAnchor {
  readonly name: string
  readonly namespace: string
  readonly keys: readonly Uint8Array[]
  readonly threshold: number
}

export function checkAnchors (anchors: readonly TrustAnchor[]): void {
  for (const a of anchors) {
    parseCode(a.namespace)
    if (a.keys.length === 0 || a.keys.some(k => k.length !== 32)) {
      throw new UnknownAnchorError(`anchor ${a.name} needs one or more 32-byte Ed25519 keys`, { anchor: a.name })
    }
    if (!Number.isInteger(a.threshold) || a.threshold < 1 || a.threshold > a.keys.length) {
      throw new UnknownAnchorError(`anchor ${a.name}: threshold ${a.threshold} must be 1..${a.keys.length}`, { anchor: a.name })
    }
  }
}
