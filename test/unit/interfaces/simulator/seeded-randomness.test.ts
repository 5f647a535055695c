import assert from 'node:assert/strict'
import crypto, { randomBytes } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installSeededRandomness } from '../../../../src/interfaces/simulator/seeded-randomness.ts'

/** Everything a run draws at random, in one string. */
function draw (): string {
  const x = crypto.generateKeyPairSync('x25519', { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } })
  const ed = crypto.generateKeyPairSync('ed25519')
  return [
    Math.random(),
    Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(9))).toString('hex'),
    randomBytes(7).toString('hex'),
    crypto.randomUUID(),
    crypto.randomInt(10, 1_000_000),
    x.publicKey.toString('hex'),
    ed.publicKey.export({ type: 'spki', format: 'der' }).toString('hex')
  ].join(' ')
}

describe('seeded randomness (simulator)', () => {
  it('one seed gives one stream through every source; another seed another', () => {
    const runs: string[] = []
    for (const seed of [7, 7, 8]) {
      const r = installSeededRandomness(seed)
      try { runs.push(draw()) } finally { r.uninstall() }
    }
    assert.equal(runs[0], runs[1])
    assert.notEqual(runs[0], runs[2])
  })

  it('seeded keys are real keys: an X25519 agreement and an Ed25519 signature work', () => {
    const r = installSeededRandomness(1)
    try {
      const a = crypto.generateKeyPairSync('x25519')
      const b = crypto.generateKeyPairSync('x25519')
      assert.deepEqual(crypto.diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey }), crypto.diffieHellman({ privateKey: b.privateKey, publicKey: a.publicKey }))
      const ed = crypto.generateKeyPairSync('ed25519')
      const sig = crypto.sign(null, Buffer.from('city'), ed.privateKey)
      assert.ok(crypto.verify(null, Buffer.from('city'), ed.publicKey, sig))
      assert.equal(crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.asymmetricKeyType, 'rsa', 'other key types are left to node')
    } finally { r.uninstall() }
  })

  it('uninstall gives real randomness back', () => {
    const r = installSeededRandomness(3)
    const seeded = randomBytes(16).toString('hex')
    r.uninstall()
    const again = installSeededRandomness(3)
    again.uninstall()
    assert.notEqual(randomBytes(16).toString('hex'), seeded)
    assert.notEqual(Math.random(), Math.random())
  })

  it('only the simulator runner installs the clock and the seeded randomness (never `citycode node start`)', () => {
    const src = fileURLToPath(new URL('../../../../src/', import.meta.url))
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap(e => e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
    const installers = files(src).filter(f => /install(VirtualClock|SeededRandomness)\(/.test(readFileSync(f, 'utf8')))
      .map(f => f.slice(src.length)).sort()
    assert.deepEqual(installers, ['interfaces/simulator/runner.ts'])
  })
})
