import { parseCode } from '../code/grammar.ts'
import { UncoveredCodeError, UnknownAnchorError } from '../errors.ts'

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

/**
 * Refuses a code that no anchor's namespace is, or is above: its chain could never verify here, so
 * a resolver says so at once instead of asking the network and failing on the answer.
 */
export function checkCovered (code: string, anchors: readonly TrustAnchor[]): void {
  if (anchors.some(a => code === a.namespace || code.startsWith(`${a.namespace}.`))) return
  const trusted = [...new Set(anchors.map(a => a.namespace))].join(', ')
  throw new UncoveredCodeError(`${code} is under no configured trust anchor (this node trusts ${trusted === '' ? 'none' : trusted})`, { code, anchors: trusted })
}
