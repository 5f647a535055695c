import assert from 'node:assert/strict'
import { UncoveredCodeError } from '../../../src/core/errors.ts'
import { checkCovered } from '../../../src/core/trust/anchors.ts'
import type { TrustAnchor } from '../../../src/core/trust/anchors.ts'

const anchor = (namespace: string): TrustAnchor => ({ name: `anchor ${namespace}`, namespace, keys: [new Uint8Array(32)], threshold: 1 })

describe('trust anchors: which codes they cover', () => {
  it('covers the anchor namespace itself and every code below it', () => {
    for (const code of ['MA', 'MA.156', 'MA.156.1301.05.0001']) checkCovered(code, [anchor('MA')])
    checkCovered('MA.156.1301', [anchor('XX'), anchor('MA.156')])
  })

  it('refuses a code under no anchor, naming it and the namespaces trusted, with a prefix that is not a segment', () => {
    assert.throws(() => { checkCovered('XX.156.1301', [anchor('MA')]) }, (err: unknown) =>
      err instanceof UncoveredCodeError && err.code === 'ERR_UNCOVERED_CODE' && /XX\.156\.1301 is under no configured trust anchor \(this node trusts MA\)/.test(err.message))
    // MA.15 is a prefix of MA.156 as text, not as a namespace
    assert.throws(() => { checkCovered('MA.156.1301', [anchor('MA.15')]) }, UncoveredCodeError)
    assert.throws(() => { checkCovered('MA', [anchor('MA.156')]) }, UncoveredCodeError)
    assert.throws(() => { checkCovered('MA.156', []) }, /trusts none/)
  })
})
