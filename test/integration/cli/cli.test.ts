import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const main = fileURLToPath(new URL('../../../src/interfaces/cli/main.ts', import.meta.url))

function cli (args: string[], timeoutMs = 30_000): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, DEBUG: '' } })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('citycode CLI', function () {
  this.timeout(200_000)
  const dir = mkdtempSync(join(tmpdir(), 'citycode-cli-'))
  after(() => { rmSync(dir, { recursive: true, force: true }) })
  const config = (content: unknown): string => {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`)
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content))
    return file
  }

  it('--help lists the commands', () => {
    const r = cli(['--help'])
    assert.equal(r.status, 0)
    for (const c of ['init', 'node', 'apply', 'approve', 'publish', 'resolve', 'inspect', 'demo']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`))
  })

  it('a malformed code exits non-zero with one clear line and no stack trace', () => {
    const r = cli(['resolve', 'MA.156.13', '-c', config({ role: 'resolver' })])
    assert.equal(r.status, 1)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    assert.match(lines[0] as string, /^error: MalformedCodeError: .*position 9/)
    assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/)
  })

  it('a code the allocation rule forbids, or one under no configured anchor, is refused as the gateway refuses it, before any network work', () => {
    const resolver = config({ role: 'resolver', anchors: [{ name: 'root', namespace: 'MA', keys: ['11'.repeat(32)], threshold: 1 }], bootstrap: [] })
    const forbidden = cli(['resolve', 'MA.999', '-c', resolver])
    assert.equal(forbidden.status, 1)
    assert.match(forbidden.stderr, /^error: AllocationRuleError: MA\.999: 999 is not an ISO 3166-1 numeric country code/)
    const uncovered = cli(['resolve', 'XX.156.1301', '-c', resolver, '--json'])
    assert.equal(uncovered.status, 1)
    const body = JSON.parse(uncovered.stdout) as { error: { name: string, code: string, message: string } }
    assert.equal(body.error.name, 'UncoveredCodeError')
    assert.equal(body.error.code, 'ERR_UNCOVERED_CODE')
    assert.match(body.error.message, /under no configured trust anchor \(this node trusts MA\)/)
  })

  it('a --timeout that is not a number of milliseconds is one line naming it, before any network work', () => {
    const resolver = config({ role: 'resolver', anchors: [{ name: 'root', namespace: 'MA', keys: ['11'.repeat(32)], threshold: 1 }], bootstrap: [] })
    for (const args of [['resolve', 'MA.156.1301', '--timeout', 'abc'], ['resolve', 'MA.156.1301', '--timeout', '0'], ['audit', 'MA.156', '--timeout', '-5']]) {
      const r = cli([...args, '-c', resolver])
      assert.equal(r.status, 1, args.join(' '))
      assert.equal(r.stderr, 'error: ConfigError: --timeout must be a positive number of milliseconds\n', args.join(' '))
    }
  })

  it('a bad config names the bad field and exits non-zero', () => {
    const r = cli(['resolve', 'MA.156.1301', '-c', config({ role: 'mayor' })])
    assert.equal(r.status, 1)
    assert.match(r.stderr, /^error: ConfigError: .*: role: /)
    const r2 = cli(['resolve', 'MA.156.1301', '-c', config({ role: 'resolver', anchors: [{ name: 'x', namespace: 'MA', keys: ['zz'], threshold: 1 }] })])
    assert.match(r2.stderr, /anchors\.0\.keys\.0/)
    const r3 = cli(['resolve', 'MA.156.1301', '-c', config('{ not json')])
    assert.match(r3.stderr, /^error: ConfigError: .*not valid JSON/)
    const r4 = cli(['resolve', 'MA.156.1301', '-c', join(dir, 'missing.json')])
    assert.match(r4.stderr, /^error: ConfigError: cannot read config/)
  })

  it('inspect verifies a record file offline and refuses a tampered one', async () => {
    const { hierarchy, cityRecord } = await import('../../utils/fixtures.ts')
    const h = hierarchy()
    // the fixtures are dated 2026-01-01 with records valid 30 days: make one valid now
    const now = Date.now()
    const record = cityRecord(h, { issuedAt: now - 1000, expiresAt: now + 86_400_000 })
    const anchors = h.anchors.map(a => ({ name: a.name, namespace: a.namespace, keys: a.keys.map(k => Buffer.from(k).toString('hex')), threshold: a.threshold }))
    const c = config({ role: 'resolver', anchors })
    const good = join(dir, 'good.bin')
    writeFileSync(good, record.bytes)
    const ok = cli(['inspect', good, '-c', c, '--json'])
    assert.equal(ok.status, 0, ok.stderr)
    const view = JSON.parse(ok.stdout) as { code: string, verification: { chain: Array<{ namespace: string }> } }
    assert.equal(view.code, 'MA.156.1301')
    assert.deepEqual(view.verification.chain.map(l => l.namespace), ['MA.156', 'MA.156.1301'])
    const bad = Uint8Array.from(record.bytes)
    bad[bad.length - 20] = (bad[bad.length - 20] as number) ^ 4
    const badFile = join(dir, 'bad.hex')
    writeFileSync(badFile, Buffer.from(bad).toString('hex'))
    const refused = cli(['inspect', badFile, '-c', c])
    assert.equal(refused.status, 1)
    assert.match(refused.stderr, /^error: \w+Error: /)
  })

  it('npm start -- --once: the demo exits 0 and prints at least 12 distinct codes', () => {
    const t0 = Date.now()
    const r = cli(['demo', '--once', '--resolver-config', join(dir, 'demo-resolver.json')], 180_000)
    assert.equal(r.status, 0, r.stderr.slice(-2000))
    const codes = new Set([...r.stdout.matchAll(/^\s+(MA\.\d{3}\.\d{4})\s/gm)].map(m => m[1]))
    assert.ok(codes.size >= 12, `${codes.size} codes`)
    assert.match(r.stdout, /MA\.156\.1301\s+MA\.156\.1301-\*\s+Shijiazhuang/)
    assert.match(r.stdout, /resolutions verified, 0 failed/)
    assert.ok(Date.now() - t0 < 180_000)
  })
})
