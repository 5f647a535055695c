import { readFileSync } from 'node:fs'
import { fromHex } from '../../src/core/index.ts'
import type { TrustAnchor } from '../../src/core/index.ts'

export function loadVector<T> (name: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T
}

export interface AnchorJson { name: string, namespace: string, keys: string[], threshold: number }

export function anchorsFromJson (anchors: AnchorJson[]): TrustAnchor[] {
  return anchors.map(a => ({ name: a.name, namespace: a.namespace, keys: a.keys.map(fromHex), threshold: a.threshold }))
}
