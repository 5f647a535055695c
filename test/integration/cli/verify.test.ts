import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleToText, createBundle } from '../../../src/core/index.ts'
import { renderQrPng } from '../../../src/services/proof/qr.ts'
import { cityRecord, hierarchy, seededSigner } from '../../utils/fixtures.ts'

const main = fileURLToPath(new URL('../../../src/interfaces/cli/main.ts', import.meta.url))

function cli (args: string[], input?: string): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, DEBUG: '' }, input })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('citycode verify: offline bundle checks and exit codes', function () {
  this.timeout(120_000)
  const dir = mkdtempSync(join(tmpdir(), 'citycode-verify-'))
  after(() => { rmSync(dir, { recursive: true, force: true }) })
  const h = hierarchy()
  // the fixtures are dated 2026-01-01: make the record valid now
  const now = Date.now()
  const record = cityRecord(h, { issuedAt: now - 60_000, expiresAt: now + 86_400_000 })
  const bundle = createBundle({ record: record.bytes, madeAt: now - 30_000 }, h.city)
  const text = bundleToText(bundle.bytes)
  const config = join(dir, 'resolver.json')
  writeFileSync(config, JSON.stringify({ role: 'resolver', anchors: h.anchors.map(a => ({ name: a.name, namespace: a.namespace, keys: a.keys.map(k => Buffer.from(k).toString('hex')), threshold: a.threshold })) }))
  const file = (name: string, content: Uint8Array | string): string => {
    const path = join(dir, name)
    writeFileSync(path, content)
    return path
  }

  it('valid from bytes, from text (argument or file) and from a QR picture: exit 0, prints the code, holder, date and checks', async () => {
    const fromBytes = cli(['verify', file('b.bin', bundle.bytes), '-c', config])
    assert.equal(fromBytes.status, 0, fromBytes.stderr)
    assert.match(fromBytes.stdout, /^VALID proof bundle for MA\.156\.1301 {2}Shijiazhuang/)
    assert.match(fromBytes.stdout, /held by MA\.156\.1301 .*anchored in test-root/)
    assert.match(fromBytes.stdout, new RegExp(`bundle made ${new Date(now - 30_000).toISOString()}, signed by the holder MA.156.1301`))
    for (const check of ['decode', 'made-at', 'record', 'valid-when-made', 'bundle-signature']) assert.match(fromBytes.stdout, new RegExp(`ok {2}${check} `))
    assert.equal(cli(['verify', text, '-c', config]).status, 0)
    assert.equal(cli(['verify', file('b.txt', text + '\n'), '-c', config]).status, 0)
    assert.equal(cli(['verify', '-', '-c', config], text + '\n').status, 0, 'from standard input')
    const fromImage = cli(['verify', '--image', file('b.png', await renderQrPng(text)), '-c', config, '--json'])
    assert.equal(fromImage.status, 0, fromImage.stderr)
    const view = JSON.parse(fromImage.stdout) as { valid: boolean, code: string, signedBy: { role: string }, checks: Array<{ check: string }> }
    assert.deepEqual([view.valid, view.code, view.signedBy.role], [true, 'MA.156.1301', 'holder'])
  })

  it('a bundle that fails a check: exit 1 with the typed error of the first failed check', () => {
    const flipped = Uint8Array.from(bundle.bytes)
    const at = Buffer.from(bundle.bytes).indexOf(Buffer.from(bundle.sig)) + 10
    flipped[at] = (flipped[at] as number) ^ 1
    const bad = cli(['verify', file('bad.bin', flipped), '-c', config])
    assert.equal(bad.status, 1)
    assert.match(bad.stdout, /^INVALID proof bundle: BadSignatureError: bundle signature/)
    const stranger = cli(['verify', bundleToText(createBundle({ record: record.bytes, madeAt: now }, seededSigner(42)).bytes), '-c', config, '--json'])
    assert.equal(stranger.status, 1)
    assert.equal((JSON.parse(stranger.stdout) as { error: { name: string } }).error.name, 'PermissionError')
    const otherAnchors = file('other.json', JSON.stringify({ role: 'resolver', anchors: [{ name: 'other', namespace: 'MA', keys: [Buffer.from(seededSigner(9).publicKey).toString('hex')], threshold: 1 }] }))
    const wrongAnchor = cli(['verify', text, '-c', otherAnchors])
    assert.equal(wrongAnchor.status, 1)
    assert.match(wrongAnchor.stdout, /UnknownAnchorError/)
  })

  it('input that is not a bundle: exit 2, one line on stderr, no stack', async () => {
    const cases = [
      ['verify', 'HC1:NCFOXN', '-c', config],
      ['verify', join(dir, 'missing.bin'), '-c', config],
      ['verify', text.slice(0, 30) + 'a' + text.slice(31), '-c', config],
      ['verify', '--image', file('not.png', 'hello'), '-c', config],
      ['verify', '-c', config]
    ]
    for (const args of cases) {
      const r = cli(args)
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
      assert.match(r.stderr, /^error: \w+Error: /)
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
    }
    assert.match(cli(['verify', '--help']).stdout, /Exit codes: 0 valid; 1 invalid/)
  })
})
